"""Jobs through the API: only those of campaigns one may view; files of completed jobs, for analysts and owners."""
from __future__ import annotations

import pytest

from jobs.artifacts import ArtifactStore

from .conftest import api_client

pytestmark = pytest.mark.django_db


def test_jobs_are_listed_for_the_campaigns_one_may_view_and_filtered(world):
    mine = api_client(world, "viewer").get("/api/v1/jobs/").json()
    assert {j["id"] for j in mine["results"]} == {world.run_job.pk, world.done_job.pk} and {j["campaign"] for j in mine["results"]} == {"rated"}
    theirs = api_client(world, "outsider").get("/api/v1/jobs/").json()
    assert [j["id"] for j in theirs["results"]] == [world.other_job.pk]
    client = api_client(world, "owner")
    assert client.get("/api/v1/jobs/", {"status": "completed"}).json()["count"] == 1
    assert client.get("/api/v1/jobs/", {"kind": "ingest"}).json()["count"] == 1
    assert client.get("/api/v1/jobs/", {"campaign": "other"}).json()["count"] == 0  # not theirs: nothing, not an error
    assert client.get("/api/v1/jobs/", {"campaign": "rated"}).json()["count"] == 2
    assert client.get(f"/api/v1/jobs/{world.other_job.pk}/").status_code == 404


def test_files_only_of_completed_jobs_and_only_those_it_has(world):
    client = api_client(world, "analyst")
    ArtifactStore.for_job(world.run_job).json_write("partial", {"half": True})
    running = client.get(f"/api/v1/jobs/{world.run_job.pk}/artifacts/partial.json")
    assert running.status_code == 409 and running.json()["code"] == "job_not_finished"
    missing = client.get(f"/api/v1/jobs/{world.done_job.pk}/artifacts/settings.py")
    assert missing.status_code == 404 and "report.json" in missing.json()["error"]
    report = client.get(f"/api/v1/jobs/{world.done_job.pk}/artifacts/report.json")
    assert report["Content-Type"] == "application/json" and b"".join(report.streaming_content) == b'{"created": ["a.mp4"]}'
    assert report["Content-Disposition"] == 'attachment; filename="ingest-v1-report.json"'


def test_a_path_the_api_does_not_have_answers_in_the_error_shape(world):
    response = api_client(world, "owner").get(f"/api/v1/jobs/{world.done_job.pk}/artifacts/sub/dir.json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
