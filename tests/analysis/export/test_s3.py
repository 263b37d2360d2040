"""MEDIA_STORAGE=s3 against moto's S3 server on 127.0.0.1: an export takes its videos from the bucket, is uploaded
there (manifest last), is listed from the bucket, and its files are downloaded by a redirect to a signed URL."""
from __future__ import annotations

import json
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest

from analysis.export import selectors
from annotation.models import Video

from ...roles import member
from ..factories import rated_campaign
from ..test_dashboards import staff_client  # noqa: F401 - the dashboards' logged-in researcher
from .conftest import build


def fetch(url: str) -> tuple[int, object, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


@pytest.mark.django_db
def test_an_export_is_written_to_the_bucket_and_downloaded_by_signed_url(staff_client, s3_media, artifact_root):
    campaign = rated_campaign(slug="v", n_annotators=4, n_videos=6)
    member(staff_client.researcher, campaign, "analyst")
    videos = {}
    for video in Video.objects.filter(campaign=campaign):  # the media the export copies, in the bucket only
        videos[video.file.name] = f"bytes of {video.file.name}".encode()
        s3_media.put_object(Bucket=s3_media.bucket, Key=f"media/{video.file.name}", Body=videos[video.file.name])
    job, folder = build(campaign, splits=0, with_videos=True)
    assert job.status == job.Status.COMPLETED, job.error

    local = json.loads((folder / "manifest.json").read_text())
    keys = {o["Key"] for o in s3_media.list_objects_v2(Bucket=s3_media.bucket, Prefix="exports/")["Contents"]}
    assert keys == {f"exports/export/{job.pk}/{name}" for name in [*local["files"], "manifest.json"]}
    copied = {p.read_bytes() for p in (folder / "videos").iterdir()}  # each rated video's bytes, copied from the bucket
    assert len(copied) == local["counts"]["media_files"] == 6 and copied <= set(videos.values())

    # Listed from the bucket, even with the job's folder gone (a web host that shares nothing with the workers).
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()
    assert [f.path for f in selectors.export_files(job)] == ["manifest.json", *local["files"]]

    for url in ("/staff/campaigns/v/exports/v1/videos.csv", "/api/v1/campaigns/v/exports/1/files/videos.csv"):
        response = staff_client.get(url)
        assert response.status_code == 302, url
        signed = urlparse(response["Location"])
        query = parse_qs(signed.query)
        assert signed.path == f"/{s3_media.bucket}/exports/export/{job.pk}/videos.csv" and query["X-Amz-Expires"] == ["120"]
        status, headers, body = fetch(response["Location"])
        assert status == 200 and body.startswith(b"video,file,role,")
        assert headers["Content-Disposition"] == 'attachment; filename="v-export-v1-videos.csv"' and headers["Content-Type"] == "text/csv"
    manifest = fetch(staff_client.get("/staff/campaigns/v/exports/v1/manifest.json")["Location"])[2]
    assert json.loads(manifest) == local
    for bad in ("v1/_work/sums.parquet", "v1/../../../etc/passwd", "v2/manifest.json", "v1/nothing.csv"):
        assert staff_client.get(f"/staff/campaigns/v/exports/{bad}").status_code == 404, bad
    assert staff_client.get("/api/v1/campaigns/v/exports/1/files/nothing.csv").json()["code"] == "not_found"
