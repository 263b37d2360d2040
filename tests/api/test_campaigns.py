"""Campaigns through the API: creation makes the creator owner, edits, consent versions, open/close, members."""
from __future__ import annotations

import pytest

from annotation.models import Campaign, CampaignMembership, ConsentText

from ..roles import researcher
from .conftest import api_client

pytestmark = pytest.mark.django_db


def test_the_creator_becomes_owner_and_the_consent_text_its_first_version(world):
    client = api_client(world, "viewer")  # a viewer elsewhere may still create campaigns of their own
    response = client.post("/api/v1/campaigns/", {"slug": "new-study", "title": "New study", "videos_per_session": 20,
                                                   "checkers_per_session": 3, "consent_text": "We keep your ratings."}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["slug"], body["role"], body["consent_version"], body["videos_per_session"]) == ("new-study", "owner", 1, 20)
    assert body["actions"] == ["analyse", "change", "manage", "view"]
    campaign = Campaign.objects.get(slug="new-study")
    assert CampaignMembership.objects.get(campaign=campaign).user == world.users["viewer"]
    assert ConsentText.objects.get(campaign=campaign).text == "We keep your ratings."
    listed = [c["slug"] for c in client.get("/api/v1/campaigns/").json()["results"]]
    assert listed == ["new-study", "rated"]


def test_a_taken_slug_and_impossible_numbers_are_refused_with_a_reason(world):
    client = api_client(world, "owner")
    taken = client.post("/api/v1/campaigns/", {"slug": "other", "title": "Mine"}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "slug_taken"
    bad = client.post("/api/v1/campaigns/", {"slug": "tiny", "title": "Tiny", "videos_per_session": 5, "checkers_per_session": 5}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_campaign" and "fewer checkers" in bad.json()["error"]
    missing = client.post("/api/v1/campaigns/", {"slug": "x"}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "invalid" and "title" in missing.json()["fields"]
    assert not Campaign.objects.filter(slug__in=["tiny", "x"]).exists()


def test_creating_needs_the_add_permission(world):
    client = api_client(world, "owner")
    world.users["owner"].user_permissions.remove(*world.users["owner"].user_permissions.filter(codename="add_campaign"))
    response = client.post("/api/v1/campaigns/", {"slug": "nope", "title": "Nope"}, format="json")
    assert response.status_code == 403 and "annotation.add_campaign" in response.json()["error"]


def test_an_edit_keeps_what_it_does_not_name_and_a_new_consent_text_is_a_new_version(world):
    client = api_client(world, "owner")
    url = f"/api/v1/campaigns/{world.campaign.slug}/"
    response = client.patch(url, {"title": "Renamed", "target_ratings_per_video": 50}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "Renamed"
    world.campaign.refresh_from_db()
    assert (world.campaign.title, world.campaign.target_ratings_per_video, world.campaign.videos_per_session) == ("Renamed", 50, 40)
    assert client.patch(url, {"consent_text": "We keep your ratings."}, format="json").json()["consent_version"] == 1  # unchanged
    assert client.patch(url, {"consent_text": "Version two."}, format="json").json()["consent_version"] == 2
    assert client.patch(url, {"slug": "renamed"}, format="json").json()["slug"] == "rated"  # the slug is not editable
    refused = client.patch(url, {"checkers_per_session": 40}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "bad_campaign"


def test_open_and_close(world):
    client = api_client(world, "owner")
    assert client.post(f"/api/v1/campaigns/{world.campaign.slug}/close/").json()["is_open"] is False
    world.campaign.refresh_from_db()
    assert not world.campaign.is_open
    assert client.get("/api/v1/campaigns/", {"is_open": "false"}).json()["count"] == 1
    assert client.post(f"/api/v1/campaigns/{world.campaign.slug}/open/").json()["is_open"] is True


def test_members_are_added_changed_and_removed_but_the_last_owner_stays(world):
    client = api_client(world, "owner")
    url = f"/api/v1/campaigns/{world.campaign.slug}/members/"
    newcomer = researcher("newcomer")
    assert client.post(url, {"username": "newcomer", "role": "viewer"}, format="json").json()["role"] == "viewer"
    assert client.post(url, {"username": "newcomer", "role": "analyst"}, format="json").json()["role"] == "analyst"
    assert CampaignMembership.objects.get(campaign=world.campaign, user=newcomer).role == "analyst"
    unknown = client.post(url, {"username": "ghost", "role": "viewer"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"] == "No user 'ghost'."
    demote = client.post(url, {"username": "owner", "role": "viewer"}, format="json")
    assert demote.status_code == 409 and demote.json()["code"] == "last_owner"
    assert client.delete(url + "owner/").status_code == 409
    assert client.delete(url + "newcomer/").status_code == 204
    assert client.delete(url + "newcomer/").status_code == 404
    assert [m["username"] for m in client.get(url).json()["results"]] == ["viewer", "analyst", "owner"]


def test_the_campaign_status_is_the_staff_pages_selector(world):
    from annotation.selectors import campaign_status

    body = api_client(world, "viewer").get(f"/api/v1/campaigns/{world.campaign.slug}/status/").json()
    assert body == {**campaign_status(world.campaign).as_dict()}
    assert body["videos"] == 4 and body["sessions_qualified"] == 4 and body["annotators_redo"] == 1


def test_a_superuser_sees_every_campaign_without_a_role(world):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_superuser("root", password=None))
    body = client.get("/api/v1/campaigns/").json()
    assert sorted(c["slug"] for c in body["results"]) == ["other", "rated"]
    assert {c["role"] for c in body["results"]} == {None} and body["results"][0]["actions"] == ["analyse", "change", "manage", "view"]


def test_a_lab_annotator_login_sees_no_campaign(world):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(get_user_model().objects.create_user("lab1"))  # an annotator who signs in; no role, no permission
    assert client.get("/api/v1/campaigns/").json()["count"] == 0
    assert client.get(f"/api/v1/campaigns/{world.campaign.slug}/ratings/").status_code == 404


def test_the_study_flow_settings_are_set_through_the_api(world):
    from .conftest import api_client

    url = f"/api/v1/campaigns/{world.campaign.slug}/"
    changed = api_client(world, "owner").patch(url, {"expected_minutes": 25, "pay_text": "£4.50", "max_attempts": 2,
                                                     "screen_out_code": "SCREEN-1", "no_consent_code": "NOPE-1"}, format="json")
    assert changed.status_code == 200, changed.content
    body = api_client(world, "viewer").get(url).json()
    assert (body["expected_minutes"], body["pay_text"], body["max_attempts"]) == (25, "£4.50", 2)
    assert (body["screen_out_code"], body["no_consent_code"]) == ("SCREEN-1", "NOPE-1")
    refused = api_client(world, "owner").patch(url, {"max_attempts": 0}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid"
