"""Every endpoint of /api/v1/ against every kind of visitor: anonymous, an annotator (the study link's
cookie), a staff researcher of another campaign, and the campaign's viewer, analyst and owner.

What each may do is annotation.access's table: view (viewer and up), analyse (analyst and up),
change and manage (owner). Anonymous visitors and annotators get 401 everywhere; a campaign one
is not a member of answers 404 (its slug does not leak); a role that does not allow an action 403.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver

from .conftest import ROLES, api_client

ALLOWED = {
    "view": {"viewer", "analyst", "owner"},
    "analyse": {"analyst", "owner"},
    "change": {"owner"},
    "manage": {"owner"},
    "signed-in": {"outsider", "viewer", "analyst", "owner"},  # no campaign: any researcher
}


@dataclass(frozen=True)
class Endpoint:
    name: str  # the URL's name in api.urls
    method: str
    path: str  # formatted with the world's slug, video, session and jobs
    action: str  # a key of ALLOWED
    success: int = 200
    body: dict | None = None
    multipart: bool = False
    upload: bool = False  # a multipart body with one file, `video`
    code: str | None = None  # the error code of a success status of 400 or more (the guard let the call through)

    def __str__(self):
        return f"{self.method} {self.path}"


C = "/api/v1/campaigns/{slug}/"
ENDPOINTS = [
    Endpoint("campaigns", "GET", "/api/v1/campaigns/", "signed-in"),
    Endpoint("campaigns", "POST", "/api/v1/campaigns/", "signed-in", 201, {"slug": "fresh", "title": "Fresh"}),
    Endpoint("campaign", "GET", C, "view"),
    Endpoint("campaign", "PATCH", C, "change", body={"title": "Renamed"}),
    Endpoint("campaign_open", "POST", C + "open/", "change"),
    Endpoint("campaign_close", "POST", C + "close/", "change"),
    Endpoint("campaign_status", "GET", C + "status/", "view"),
    Endpoint("members", "GET", C + "members/", "manage"),
    Endpoint("members", "POST", C + "members/", "manage", body={"username": "viewer", "role": "analyst"}),
    Endpoint("member", "DELETE", C + "members/viewer/", "manage", 204),
    Endpoint("videos", "GET", C + "videos/", "view"),
    Endpoint("video", "GET", C + "videos/{video}/", "view"),
    Endpoint("video", "PATCH", C + "videos/{video}/", "change", body={"method": "fs9"}),
    Endpoint("videos_upload", "POST", C + "videos/upload/", "change", 202, multipart=True),
    Endpoint("annotators", "GET", C + "annotators/", "view"),
    Endpoint("sessions", "GET", C + "sessions/", "view"),
    Endpoint("session", "GET", C + "sessions/{session}/", "view"),
    Endpoint("attempts", "GET", C + "attempts/", "view"),
    Endpoint("ratings", "GET", C + "ratings/", "view"),
    Endpoint("analyses", "GET", C + "analyses/", "view"),
    Endpoint("analyses", "POST", C + "analyses/", "analyse", 202, {"parameters": {"seed": 3}}),
    Endpoint("analysis", "GET", C + "analyses/1/", "view"),
    Endpoint("annotator_withdraw", "POST", C + "annotators/a000000000000/withdraw/", "change", 404),  # no such annotator
    Endpoint("exports", "GET", C + "exports/", "analyse"),
    Endpoint("exports", "POST", C + "exports/", "analyse", 202, {"splits": 0}),
    Endpoint("export_file", "GET", C + "exports/1/files/manifest.json", "analyse", 404),  # no export yet
    Endpoint("jobs", "GET", "/api/v1/jobs/", "signed-in"),
    Endpoint("job", "GET", "/api/v1/jobs/{run_job}/", "view"),
    Endpoint("job_artifact", "GET", "/api/v1/jobs/{done_job}/artifacts/report.json", "analyse"),
    Endpoint("models", "GET", "/api/v1/models/", "signed-in"),
    Endpoint("model", "GET", "/api/v1/models/{model}/", "view"),
    # Past the guard, the world's model has no files, and no configuration is called "no_such".
    Endpoint("model_predict", "POST", "/api/v1/models/{model}/predict", "analyse", 409, upload=True, code="model_missing"),
    Endpoint("models_train", "POST", "/api/v1/models/train", "analyse", 400, {"campaign": "rated", "config": "no_such"}, code="unknown_method"),
    Endpoint("models_benchmark", "POST", "/api/v1/models/benchmark", "analyse", 400, {"campaign": "rated", "configs": ["no_such"]},
             code="unknown_method"),
]


def expected_status(endpoint: Endpoint, role: str) -> int:
    if role in ("anonymous", "annotator"):
        return 401
    if role in ALLOWED[endpoint.action]:
        return endpoint.success
    if role == "outsider":
        return 404  # not a member: the campaign (and its jobs and models) do not exist for them
    return 403


def call(client, endpoint: Endpoint, world):
    path = endpoint.path.format(slug=world.campaign.slug, video=world.video_id, session=world.session_id,
                                run_job=world.run_job.pk, done_job=world.done_job.pk, model=world.model_id)
    if endpoint.upload:
        return client.post(path, {"video": SimpleUploadedFile("clip.mp4", b"not really a video", "video/mp4")}, format="multipart")
    if endpoint.multipart:
        body = {"metadata": SimpleUploadedFile("metadata.csv", b"file,method\nclip.mp4,fs1\n", "text/csv"),
                "files": [SimpleUploadedFile("clip.mp4", b"not really a video", "video/mp4")]}
        return client.post(path, body, format="multipart")
    return getattr(client, endpoint.method.lower())(path, endpoint.body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_who_may_call_each_endpoint(world, endpoint, role):
    response = call(api_client(world, role), endpoint, world)
    assert response.status_code == expected_status(endpoint, role), response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "error"}
        refused = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}
        expected = endpoint.code if role in ALLOWED[endpoint.action] and endpoint.code else refused[response.status_code]
        assert response.json()["code"] == expected


def test_the_table_names_every_endpoint_of_the_api():
    """A new endpoint without a row here would go untested for who may call it."""
    names = {pattern.name for pattern in get_resolver().url_patterns[-1].url_patterns} - {"schema", "docs", "redoc"}
    assert names == {endpoint.name for endpoint in ENDPOINTS}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "annotator", "outsider", "viewer"])
def test_refused_writes_change_nothing(world, role):
    from analysis.models import AnalysisRun
    from annotation.models import CampaignMembership
    from jobs.models import Job

    before = (AnalysisRun.objects.count(), Job.objects.count(), CampaignMembership.objects.count(), world.campaign.is_open)
    for endpoint in ENDPOINTS:
        if endpoint.method != "GET" and endpoint.action != "signed-in":
            assert call(api_client(world, role), endpoint, world).status_code >= 400, endpoint
    world.campaign.refresh_from_db()
    assert world.campaign.title == "Rated rated" and world.campaign.videos.filter(method="fs9").count() == 0
    assert (AnalysisRun.objects.count(), Job.objects.count(), CampaignMembership.objects.count(), world.campaign.is_open) == before
