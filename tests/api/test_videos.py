"""Videos through the API: lists with labels and filters, label corrections, and an upload run as an ingest job."""
from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Video
from analysis.ingest import upload_folder
from jobs.models import Job

from .conftest import api_client

pytestmark = pytest.mark.django_db


def test_videos_with_their_role_and_gold_score_for_researchers_and_filters(world):
    client = api_client(world, "viewer")
    url = f"/api/v1/campaigns/{world.campaign.slug}/videos/"
    body = client.get(url).json()
    assert body["count"] == 5 and {v["role"] for v in body["results"]} == {"regular", "checker"}
    checker = client.get(url, {"role": "checker"}).json()["results"]
    assert len(checker) == 1 and checker[0]["gold_score"] == 1
    assert [v["method"] for v in client.get(url, {"method": "m1"}).json()["results"]] == ["m1"]
    regular = client.get(url, {"role": "regular", "ordering": "-qualified_ratings"}).json()["results"]
    assert [v["qualified_ratings"] for v in regular] == [4, 4, 4, 4]  # every annotator's qualified attempt rated each
    refused = client.get(url, {"role": "director"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid" and "director" in refused.json()["error"]


def test_an_owner_corrects_labels_but_not_the_role_or_gold_score(world):
    client = api_client(world, "owner")
    url = f"/api/v1/campaigns/{world.campaign.slug}/videos/{world.video_id}/"
    response = client.patch(url, {"method": "fs-new", "identity_pair": "p9", "role": "checker", "gold_score": 5}, format="json")
    assert response.status_code == 200
    video = Video.objects.get(pk=world.video_id)
    assert (video.method, video.identity_pair, video.role, video.gold_score) == ("fs-new", "p9", "regular", None)
    other_video = world.other.videos.first()
    assert client.get(f"/api/v1/campaigns/{world.campaign.slug}/videos/{other_video.pk}/").status_code == 404


def _upload(path: str, content_type: str = "video/mp4") -> SimpleUploadedFile:
    from pathlib import Path

    return SimpleUploadedFile(Path(path).name, Path(path).read_bytes(), content_type)


def test_an_upload_is_ingested_by_a_job_that_reports_each_bad_row(world, video_library, settings, django_capture_on_commit_callbacks):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every file streamed to a temporary file, as a study's videos are (moved, not copied)
    folder, _ = video_library
    metadata = (
        "file,identity_pair,method,is_real,gold_score\n"
        "regular_00.mp4,id0,fs0,false,\n"        # row 2
        "regular_01.mp4,id1,fs1,false,\n"        # row 3
        "absent.mp4,id2,fs2,false,\n"            # row 4: listed, not sent
        "checker_00.mp4,id0,real,true,5\n"       # row 5: a checker
        "regular_03.mp4,id3,fs3,maybe,\n"        # row 6: a bad row
    ).encode()
    files = [_upload(folder / name) for name in ("regular_00.mp4", "regular_01.mp4", "checker_00.mp4", "regular_02.mp4")]
    client = api_client(world, "owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/campaigns/{world.campaign.slug}/videos/upload/",
                               {"metadata": SimpleUploadedFile("labels.csv", metadata, "text/csv"), "files": files}, format="multipart")
    assert response.status_code == 202, response.json()
    job = response.json()
    assert (job["kind"], job["campaign"], job["status"]) == ("ingest", "rated", "queued")

    progress = client.get(f"/api/v1/jobs/{job['id']}/").json()
    assert progress["status"] == "completed" and (progress["done"], progress["total"]) == (1, 1)
    assert progress["summary"] == {"videos_total": 4, "videos_done": 4, "created": 3, "updated": 0, "failed": 2, "unlisted": 1}
    assert progress["artifacts"] == ["report.json"]
    report = json.loads(b"".join(client.get(f"/api/v1/jobs/{job['id']}/artifacts/report.json").streaming_content))
    assert report["created"] == ["checker_00.mp4", "regular_00.mp4", "regular_01.mp4"] and report["unlisted"] == ["regular_02.mp4"]
    assert [(e["row"], "absent.mp4" in e["error"] or "maybe" in e["error"]) for e in report["errors"]] == [(4, True), (6, True)]
    stored = {v.source_name: v for v in world.campaign.videos.filter(source_name__in=report["created"])}
    assert stored["checker_00.mp4"].role == "checker" and stored["checker_00.mp4"].gold_score == 5
    assert stored["regular_01.mp4"].method == "fs1" and stored["regular_01.mp4"].duration_s > 0
    assert not upload_folder(Job.objects.get(pk=job["id"])).exists()  # the sources are gone once imported


def test_an_unreadable_csv_or_a_repeated_file_is_refused_at_once_and_leaves_no_job(world, settings):
    client = api_client(world, "owner")
    url = f"/api/v1/campaigns/{world.campaign.slug}/videos/upload/"
    clip = lambda name="a.mp4": SimpleUploadedFile(name, b"x", "video/mp4")  # noqa: E731
    cases = [
        ({"metadata": SimpleUploadedFile("m.csv", b"name,method\na.mp4,x\n"), "files": [clip()]}, "bad_metadata", "no file column"),
        ({"metadata": SimpleUploadedFile("m.csv", b"\xff\xfe\x00bad"), "files": [clip()]}, "bad_metadata", "UTF-8"),
        ({"metadata": SimpleUploadedFile("m.csv", b"file\na.mp4\n"), "files": [clip(), clip()]}, "duplicate_file", "a.mp4"),
        ({"metadata": SimpleUploadedFile("m.csv", b"file\n.hidden\n"), "files": [clip(".hidden")]}, "bad_file_name", ".hidden"),
    ]
    jobs_before = list(Job.objects.values_list("id", flat=True))
    for body, code, words in cases:
        response = client.post(url, body, format="multipart")
        assert response.status_code == 400 and response.json()["code"] == code and words in response.json()["error"], response.json()
    assert list(Job.objects.values_list("id", flat=True)) == jobs_before
    assert [p.name for p in (settings.JOBS_ARTIFACT_ROOT / "ingest").iterdir()] == [str(world.done_job.pk)]  # no upload left behind
    json_body = client.post(url, {"metadata": "file\n"}, format="json")
    assert json_body.status_code == 415 and json_body.json()["code"] == "unsupported_media_type"
