"""MEDIA_STORAGE=s3 against moto's S3 server on 127.0.0.1: the ingest writes into the bucket, /media/ answers
with a redirect to a short-lived signed URL that the bucket serves with Range, and a checker is served
exactly like a regular video (pages, redirects, signed URLs and the bucket's answers). The settings
that choose all this are checked here too."""
from __future__ import annotations

import re
from email.message import Message
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from annotation import storage
from annotation.ingest import prepare_file, read_metadata
from annotation.models import Attempt, Campaign, Video
from config.settings import content_security_policy, media_storages

from .test_checkers_hidden import shape
from .test_views import post_answer, token_of, walk_to_rating

# What the bucket answers that could tell one video from another (Date and request ids are per request).
BUCKET_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Cache-Control", "Content-Disposition")


def fetch(url: str, **headers) -> tuple[int, Message, bytes]:
    """A GET over HTTP, as the browser's player would make it after the redirect."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.status, response.headers, response.read()


def test_settings_pick_storage_and_delivery_and_refuse_what_does_not_go_together():
    storages, delivery, origin = media_storages({})
    assert storages["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage" and "exports" not in storages
    assert (delivery, origin) == ("django", "")
    assert media_storages({"MEDIA_DELIVERY": "x-accel"})[1] == "x-accel"
    storages, delivery, origin = media_storages({"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_S3_ENDPOINT_URL": "https://s3.lab.example:9000/x"})
    assert delivery == "signed-url" and origin == "https://s3.lab.example:9000"
    assert storages["default"]["OPTIONS"]["location"] == "media" and storages["exports"]["OPTIONS"]["location"] == "exports"
    assert media_storages({"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_S3_REGION": "eu-west-1"})[2] == "https://b.s3.eu-west-1.amazonaws.com"
    for env, says in (({"MEDIA_STORAGE": "ftp"}, "local or s3"), ({"MEDIA_STORAGE": "s3"}, "MEDIA_S3_BUCKET"),
                      ({"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_DELIVERY": "django"}, "signed-url"),
                      ({"MEDIA_DELIVERY": "signed-url"}, "django or x-accel")):
        with pytest.raises(ImproperlyConfigured, match=says):
            media_storages(env)
    policy = dict(part.split(" ", 1) for part in content_security_policy("https://s3.lab.example:9000").split("; "))
    assert policy["media-src"].endswith("https://s3.lab.example:9000") and policy["img-src"].endswith("https://s3.lab.example:9000")
    assert "s3.lab" not in policy["script-src"] + policy["connect-src"] + policy["default-src"]


def test_the_ingest_writes_into_the_bucket_and_media_answers_with_a_signed_url_served_with_range(client, s3_media, video_library):
    folder, metadata = video_library
    specs, errors = read_metadata(metadata)
    prepared = prepare_file(specs[0], folder, Campaign(slug="s3", media_secret="s3-test-" + "0" * 56))  # never saved: its key names the files
    keys = {o["Key"] for o in s3_media.list_objects_v2(Bucket=s3_media.bucket)["Contents"]}
    assert keys == {f"media/{prepared.video_name}", f"media/{prepared.poster_name}"}
    assert storage.media_stored(prepared.video_name, prepared.poster_name)
    stored = s3_media.get_object(Bucket=s3_media.bucket, Key=f"media/{prepared.video_name}")
    body = stored["Body"].read()
    assert body[4:8] == b"ftyp" and stored["ContentType"] == "video/mp4"

    response = client.get(f"/media/{prepared.video_name}", HTTP_RANGE="bytes=0-99")
    assert response.status_code == 302 and response["Cache-Control"] == "private, max-age=60"
    signed = urlparse(response["Location"])
    query = parse_qs(signed.query)
    assert signed.path == f"/{s3_media.bucket}/media/{prepared.video_name}"
    assert query["X-Amz-Expires"] == ["120"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"]
    status, headers, part = fetch(response["Location"], Range="bytes=0-99")
    assert status == 206 and part == body[:100] and headers["Content-Range"] == f"bytes 0-99/{len(body)}"
    assert headers["Cache-Control"] == "private, max-age=31536000, immutable"
    # The same checks as ever come first: nothing but a stored video or poster is signed.
    for bad in ("videos/../media/x.mp4", "private-note.txt", "videos/" + "0" * 64 + ".mp4"):
        assert client.get(f"/media/{bad}").status_code == 404, bad


@pytest.mark.django_db
def test_checkers_are_served_exactly_like_regular_videos_by_signed_url(client, s3_media, prepared_videos, make_campaign):
    make_campaign(videos_per_session=12, checkers_per_session=3)  # a short session: each position costs a few requests
    walk_to_rating(client)
    attempt = Attempt.objects.get()
    for video in Video.objects.filter(pk__in=attempt.video_order):  # the library's transcoded files, where an s3 ingest puts them
        for name in (video.file.name, video.poster.name):
            storage.media_upload(Path(settings.MEDIA_ROOT) / name, name)
    roles = dict(Video.objects.filter(pk__in=attempt.video_order).values_list("pk", "role"))
    pages, redirects, bucket = {}, {}, {}
    for position, video_id in enumerate(attempt.video_order, start=1):
        role = roles[video_id]
        page = client.get("/c/study/rate/", {"position": position})
        html = page.content.decode()
        media_src = dict(part.split(" ", 1) for part in page["Content-Security-Policy"].split("; "))["media-src"]
        assert media_src.endswith(f"http://127.0.0.1:{urlparse(s3_media.meta.endpoint_url).port}")
        pages.setdefault(role, set()).add(shape(html))
        for url in (re.search(r'src="(/media/videos/[^"]+)"', html).group(1), re.search(r'poster="(/media/posters/[^"]+)"', html).group(1)):
            answer = client.get(url, HTTP_RANGE="bytes=0-99")
            signed = answer["Location"]
            redirects.setdefault(role, set()).add((answer.status_code, answer["Cache-Control"], shape(_masked(signed))))
            status, headers, _ = fetch(signed, Range="bytes=0-99")
            # Whole-file sizes differ from video to video, checker or not: Content-Range's total is masked.
            bucket.setdefault(role, set()).add((url.split("/")[2], status, *(shape(headers.get(h) or "-") for h in BUCKET_HEADERS)))
        post_answer(client, {"token": token_of(html), "score": "3", "reason": "the mouth is blurry"})
    assert set(roles.values()) == {Video.Role.REGULAR, Video.Role.CHECKER}
    assert pages[Video.Role.CHECKER] <= pages[Video.Role.REGULAR] and len(pages[Video.Role.REGULAR]) == 1
    assert redirects[Video.Role.CHECKER] == redirects[Video.Role.REGULAR] and len(redirects[Video.Role.REGULAR]) == 2  # videos, posters
    assert bucket[Video.Role.CHECKER] == bucket[Video.Role.REGULAR] and len(bucket[Video.Role.REGULAR]) == 2  # videos, posters


def _masked(url: str) -> str:
    """A signed URL with its per-request parts (date, signature, credential scope) masked."""
    return re.sub(r"[0-9a-f]{64}", "<hex>", re.sub(r"X-Amz-Date=\w+", "X-Amz-Date=<date>", url))


def test_chromium_plays_a_video_through_the_redirect_to_the_bucket_under_the_pages_csp(s3_media, django_server, video_library, browser):
    """The CSP's media-src names the bucket's origin: without it Chromium refuses the redirected video."""
    folder, metadata = video_library
    prepared = prepare_file(read_metadata(metadata)[0][1], folder, Campaign(slug="s3", media_secret="s3-test-" + "0" * 56))
    context = browser.new_context()
    page = context.new_page()
    try:
        response = page.goto(f"http://{django_server}/accounts/login/")  # any page of the site, with its CSP
        assert s3_media.meta.endpoint_url in response.headers["content-security-policy"]
        state = page.evaluate("""async (src) => {
            const video = document.createElement("video");
            video.muted = true;
            const done = new Promise((resolve) => {
                video.addEventListener("loadeddata", () => resolve("loaded"));
                video.addEventListener("error", () => resolve("error " + (video.error && video.error.code)));
            });
            video.src = src;
            document.body.appendChild(video);
            return await done;
        }""", f"/media/{prepared.video_name}")
        assert state == "loaded"
    finally:
        context.close()
