"""Every API answers an error in one JSON shape, {"code", "error"}, through the project's DRF handler."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from annotation.errors import ApplicationError, api_exception_handler

pytestmark = pytest.mark.django_db


def test_anonymous_staff_api_says_why_in_the_shape(client):
    response = client.get("/api/campaigns/nope/status/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"code", "error"} and response.json()["code"] == "not_authenticated"


def test_a_missing_campaign_is_not_found_in_the_shape(client):
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-123456"))
    for url in ("/api/campaigns/nope/status/", "/api/campaigns/nope/analysis/"):
        response = client.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found", url
        assert response.json()["error"]


def test_application_and_validation_errors_keep_their_code_and_message():
    context = {"request": APIRequestFactory().get("/")}
    response = api_exception_handler(ApplicationError("campaign_full", "Every video is done.", status=409), context)
    assert (response.status_code, response.data) == (409, {"code": "campaign_full", "error": "Every video is done."})
    invalid = serializers.ValidationError({"score": ["Pick one of the five grades."]})
    response = api_exception_handler(invalid, context)
    assert response.status_code == 400 and response.data["code"] == "invalid"
    assert response.data["error"] == "Pick one of the five grades." and "score" in response.data["fields"]
    nested = api_exception_handler(serializers.ValidationError({"files": {0: ["The submitted data was not a file."]}}), context)
    assert nested.data["error"] == "The submitted data was not a file."  # not the repr of the nested dict
    assert api_exception_handler(RuntimeError("boom"), context) is None  # a real bug stays a logged 500
