"""Sessions live on the server: logging out revokes a copied cookie; researchers' sessions end sooner
than annotators'."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests import ids

pytestmark = pytest.mark.django_db


def test_logging_out_revokes_the_session_even_for_a_copied_cookie(client):
    get_user_model().objects.create_superuser("boss", password="pw-123456")
    assert client.post("/accounts/login/", {"username": "boss", "password": "pw-123456"}).status_code == 302
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lives
    client.post("/accounts/logout/")
    assert thief.get("/admin/")["Location"].startswith("/admin/login/")  # revoked on the server


def test_researchers_sessions_end_sooner_than_annotators(client, make_campaign):
    make_campaign()
    client.get("/c/study/", ids.prolific_params("LONGSTAY"))
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 30 * 24 * 3600
    researcher = Client()
    get_user_model().objects.create_user("res", password="pw-123456", is_staff=True)
    researcher.post("/accounts/login/", {"username": "res", "password": "pw-123456"})
    assert researcher.session.get_expiry_age() == settings.RESEARCHER_SESSION_AGE == 8 * 3600
