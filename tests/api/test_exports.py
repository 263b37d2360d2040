"""Dataset exports and consent withdrawal through the API: build, list, download; withdraw by pseudonym."""
from __future__ import annotations

import json

import pytest

from annotation import pseudonyms
from annotation.models import Annotator, Rating, Withdrawal

from .conftest import api_client

pytestmark = pytest.mark.django_db


def test_an_analyst_builds_an_export_lists_it_and_downloads_its_files(world, django_capture_on_commit_callbacks):
    client = api_client(world, "analyst")
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued once its transaction commits
        started = client.post(f"/api/v1/campaigns/{world.campaign.slug}/exports/", {"splits": 0, "include": "all"}, format="json")
    assert started.status_code == 202 and started.json()["kind"] == "export" and started.json()["version"] == 1
    listed = client.get(f"/api/v1/campaigns/{world.campaign.slug}/exports/").json()
    assert [(job["version"], job["status"]) for job in listed] == [(1, "completed")]
    files = f"/api/v1/campaigns/{world.campaign.slug}/exports/1/files/"
    manifest = json.loads(b"".join(client.get(files + "manifest.json").streaming_content))
    assert manifest["parameters"]["include"] == "all" and "ratings.csv" in manifest["files"]
    ratings = b"".join(client.get(files + "ratings.csv").streaming_content).decode()
    assert ratings.count("\n") - 1 == Rating.objects.filter(video__campaign=world.campaign).count()
    for hostile in ("../manifest.json", "/etc/passwd", "splits/../../x"):
        assert client.get(files + hostile).status_code == 404
    refused = client.post(f"/api/v1/campaigns/{world.campaign.slug}/exports/", {"splits": -1}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid"


def test_an_owner_withdraws_an_annotator_by_pseudonym(world):
    annotator = world.campaign.annotators.filter(sessions__isnull=False).first()
    name = pseudonyms.annotator_name(world.campaign.pk, annotator.pk)
    ratings = Rating.objects.filter(attempt__session__annotator=annotator).count()
    url = f"/api/v1/campaigns/{world.campaign.slug}/annotators/{name}/withdraw/"
    assert api_client(world, "analyst").post(url).status_code == 403
    response = api_client(world, "owner").post(url)
    assert response.status_code == 201 and response.json()["annotator"] == name and response.json()["ratings_deleted"] == ratings > 0
    assert not Annotator.objects.filter(pk=annotator.pk).exists() and Withdrawal.objects.get().annotator == name
    assert api_client(world, "owner").post(url).status_code == 404  # gone
