"""The dashboard's "Build dataset export": staff only, builds a version, lists it and streams its files; nothing outside it."""
from __future__ import annotations

import json

import pytest

from jobs.models import Job

from ..factories import rated_campaign
from ...roles import member
from ..test_dashboards import staff_client  # noqa: F401 - the dashboards' logged-in researcher


@pytest.mark.django_db
def test_exports_are_for_staff_only(client):
    rated_campaign(slug="v", n_annotators=4, n_videos=6)
    assert client.get("/staff/campaigns/v/exports/").status_code == 302
    assert client.post("/staff/campaigns/v/exports/build/").status_code == 302
    assert client.get("/staff/campaigns/v/exports/v1/manifest.json").status_code == 302
    assert not Job.objects.filter(kind="export").exists()


@pytest.mark.django_db
def test_build_from_the_dashboard_then_list_and_download(staff_client, django_capture_on_commit_callbacks):
    member(staff_client.researcher, rated_campaign(slug="v", n_annotators=6, n_videos=12), "analyst")
    assert "Build dataset export" in staff_client.get("/staff/campaigns/v/analysis/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/staff/campaigns/v/exports/build/", {"splits": "2", "all_attempts": "1"})
    assert response.status_code == 302 and response["Location"] == "/staff/campaigns/v/exports/"
    job = Job.objects.get(kind="export")
    assert job.status == Job.Status.COMPLETED, job.error
    assert job.parameters["include"] == "all" and job.parameters["splits"] == 2 and job.requested_by.username == "researcher"

    page = staff_client.get("/staff/campaigns/v/exports/").content.decode()
    assert "v1" in page and "completed" in page and "splits/1/test3.csv" in page and "sureal/dataset.json" in page
    manifest = staff_client.get("/staff/campaigns/v/exports/v1/manifest.json")
    assert manifest.status_code == 200 and "attachment" in manifest["Content-Disposition"]
    listed = json.loads(b"".join(manifest.streaming_content))
    assert listed["parameters"]["include"] == "all"
    videos = staff_client.get("/staff/campaigns/v/exports/v1/videos.csv")
    assert videos["Content-Type"] == "text/csv" and b"".join(videos.streaming_content).startswith(b"video,file,role,")
    for bad in ("v1/_work/sums.parquet", "v1/../../../etc/passwd", "v1/%2e%2e/manifest.json", "v2/manifest.json", "v1/nothing.csv"):
        assert staff_client.get(f"/staff/campaigns/v/exports/{bad}").status_code == 404, bad


@pytest.mark.django_db
def test_bad_build_requests_get_a_message_not_an_error(staff_client, django_capture_on_commit_callbacks):
    member(staff_client.researcher, rated_campaign(slug="v", n_annotators=4, n_videos=6), "analyst")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/staff/campaigns/v/exports/build/", {"splits": "many"}, follow=True)
    assert response.status_code == 200 and "export parameters are not valid" in response.content.decode()
    assert not Job.objects.filter(kind="export").exists()
