"""`manage.py api_token`: a script's token for a user, kept until rotated."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def token_of(username: str, *args) -> str:
    out = io.StringIO()
    call_command("api_token", username, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_the_token_is_created_once_rotated_on_demand_and_authenticates():
    get_user_model().objects.create_user("scripter")
    first = token_of("scripter")
    assert len(first) == 40 and token_of("scripter") == first
    rotated = token_of("scripter", "--rotate")
    assert rotated != first
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.get("/api/v1/campaigns/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {rotated}")
    assert client.get("/api/v1/campaigns/").status_code == 200


def test_unknown_or_inactive_users_get_no_token():
    with pytest.raises(CommandError, match="No user 'ghost'"):
        token_of("ghost")
    get_user_model().objects.create_user("gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        token_of("gone")


def test_help_says_how_to_send_it(capsys):
    with pytest.raises(SystemExit):
        call_command("api_token", "--help")
    assert "Authorization: Token" in capsys.readouterr().out
