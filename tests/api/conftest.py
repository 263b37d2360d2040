"""A small rated campaign, another one, and a client for each kind of visitor of the API."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analysis import services as analysis_services
from annotation.models import Campaign, CampaignMembership, ConsentText
from jobs import services as job_services
from jobs.artifacts import ArtifactStore
from jobs.models import Job
from modeling.models import TrainedModel

from ..analysis.factories import rated_campaign
from ..annotation.test_assignment import launch_ready
from ..roles import researcher
from .. import ids

ROLES = ("anonymous", "annotator", "outsider", "viewer", "analyst", "owner")


@dataclass
class World:
    campaign: Campaign
    other: Campaign
    users: dict
    run_job: Job  # the campaign's analysis v1 (queued, never run)
    done_job: Job  # a completed ingest of the campaign with its JSON artifact "report.json"
    other_job: Job  # a job of the other campaign
    session_id: int
    video_id: int
    model_id: int  # a trained model of the campaign whose files are not there (predict answers 409)


def _never(job_id: int) -> None:
    """Queue nothing: jobs of these tests stay queued unless a test runs them."""


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    settings.JOBS_ARTIFACT_ROOT = tmp_path / "jobs"
    campaign = rated_campaign(n_annotators=4, n_videos=4)
    ConsentText.objects.create(campaign=campaign, version=1, text="We keep your ratings.")
    other = rated_campaign(slug="other", n_annotators=2, n_videos=2)
    users = {
        "outsider": researcher("outsider", campaign=other, role=CampaignMembership.Role.OWNER),
        "viewer": researcher("viewer", campaign=campaign, role=CampaignMembership.Role.VIEWER),
        "analyst": researcher("analyst", campaign=campaign, role=CampaignMembership.Role.ANALYST),
        "owner": researcher("owner", campaign=campaign, role=CampaignMembership.Role.OWNER),
    }
    run = analysis_services.analysis_run_start(campaign=campaign, enqueue=_never)
    done = job_services.job_create(kind="ingest", subject=f"campaign:{campaign.pk}", enqueue=_never)
    ArtifactStore.for_job(done).json_write("report", {"created": ["a.mp4"]})
    Job.objects.filter(pk=done.pk).update(status=Job.Status.COMPLETED)
    other_run = analysis_services.analysis_run_start(campaign=other, enqueue=_never)
    model = TrainedModel.objects.create(name="world-model", config="svr_nss", method="svr", campaign=campaign, export_path=str(tmp_path / "x"),
                                        export_sha256="0" * 64, split=0, metrics={"avr": 0.5}, weights_folder=str(tmp_path / "no-model"))
    return World(
        campaign=campaign, other=other, users=users, run_job=run.job, done_job=Job.objects.get(pk=done.pk), other_job=other_run.job,
        session_id=campaign.sessions.values_list("id", flat=True).first(), video_id=campaign.videos.values_list("id", flat=True).first(),
        model_id=model.pk,
    )


def api_client(world: World, role: str) -> APIClient:
    """A client of the API as `role`: researchers by token, an annotator by the cookie of the study link."""
    client = APIClient()
    if role == "annotator":
        # The study link lets people in only once the campaign is ready (annotation.readiness): sessions
        # its four videos and one checker fill, a demo per grade, a completion code.
        campaign = world.campaign
        if not campaign.videos.filter(role="demo").exists():
            campaign.videos_per_session, campaign.checkers_per_session = 5, 1
            campaign.save(update_fields=["videos_per_session", "checkers_per_session"])
            launch_ready(campaign)
        response = client.get(f"/c/{world.campaign.slug}/", ids.prolific_params("P-ANNOTATOR"))
        assert response.status_code == 302
        version = campaign.consent_texts.order_by("-version").values_list("version", flat=True).first()
        agreed = client.post(f"/c/{world.campaign.slug}/consent/", {"agree": "on", "version": str(version)}, format="multipart")  # the row comes with consent
        assert agreed.status_code == 302, agreed.content[:300]
        assert client.session.get(f"annotator:{world.campaign.slug}")
    elif role != "anonymous":
        token, _ = Token.objects.get_or_create(user=world.users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
