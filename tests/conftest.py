"""Shared fixtures: real test clips (generated and transcoded once, cached by content hash) and campaigns.

Tests run against the database named by DATABASE_URL (PostgreSQL in CI, see .ci/run). Media live
in var/test-media, reused between runs: files are named by content hash, so a cached file is
always the right one.
"""
from __future__ import annotations

import csv
import logging
import os
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
TEST_VAR = Path(os.environ.get("TEST_VAR_DIR", ROOT / "var" / "test"))
ARTIFACTS = ROOT / "tests" / "artifacts"

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Playwright's sync API runs an event loop in the test thread; the ORM calls in tests stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The media key of the campaigns `make_campaign` makes: their videos are the library's, transcoded
# and stored once under these names (a campaign made otherwise gets its own secret, as in use).
LIBRARY_MEDIA_SECRET = "test-library-" + "0" * 51

# Enough for one session of 40 (35 regular + 5 checkers) plus spares, and a demo per grade.
N_REGULAR, N_CHECKERS = 40, 8


def pytest_configure(config):
    settings.MEDIA_ROOT = TEST_VAR / "media"
    settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def _library_rows() -> list[dict]:
    rows = []
    for i in range(N_REGULAR):
        rows.append({"file": f"regular_{i:02d}.mp4", "identity_pair": f"id{i % 4}", "method": f"fs{i % 7}",
                     "is_real": "false", "gold_score": "", "demo_grade": "", "demo_reason": ""})
    for i in range(N_CHECKERS):
        gold = 5 if i % 2 == 0 else 1
        rows.append({"file": f"checker_{i:02d}.mp4", "identity_pair": f"id{i % 4}", "method": "real" if gold == 5 else "bad",
                     "is_real": str(gold == 5).lower(), "gold_score": str(gold), "demo_grade": "", "demo_reason": ""})
    for grade in range(1, 6):
        rows.append({"file": f"demo_{grade}.mp4", "identity_pair": "demo", "method": "demo",
                     "is_real": str(grade == 5).lower(), "gold_score": "", "demo_grade": str(grade),
                     "demo_reason": f"Example reason for grade {grade}."})
    return rows


@pytest.fixture(scope="session")
def video_library() -> tuple[Path, Path]:
    """A folder of small real clips and its metadata CSV (generated once, then reused)."""
    from annotation import media

    folder = TEST_VAR / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    rows = _library_rows()

    def make(args):
        seed, row = args
        path = folder / row["file"]
        if not path.exists():
            tmp = path.with_suffix(".tmp.mp4")
            media.make_test_pattern(tmp, seed=seed, seconds=1.0, size=(160, 96), fps=25)
            tmp.replace(path)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(make, enumerate(rows, start=1)))
    metadata = folder / "metadata.csv"
    with open(metadata, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder, metadata


@pytest.fixture(scope="session")
def prepared_videos(video_library):
    """Every library clip hashed, probed and transcoded into the media root (the ingest's real path)."""
    from annotation.ingest import prepare_file, read_metadata
    from annotation.models import Campaign

    folder, metadata = video_library
    specs, errors = read_metadata(metadata)
    assert not errors
    library = Campaign(slug="library", media_secret=LIBRARY_MEDIA_SECRET)  # never saved: only its key names the files
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(lambda spec: prepare_file(spec, folder, library), specs))


@pytest.fixture(autouse=True)
def rate_limit_windows_fresh():
    """Each test starts with no per-client rate-limit window open (annotation.throttle keeps them in the
    process's cache). The whole suite enters studies from 127.0.0.1: with the journeys of issues 12 and
    13 it passed the entry limit (120 new visitors per 10 minutes) within one run and later journeys
    were answered 429. The limit itself is tested in test_bad_input.py."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def make_campaign(db, prepared_videos):
    """Create a campaign with a consent text and the library's videos registered through the ingest."""
    from annotation.ingest import video_register
    from annotation.models import Campaign, ConsentText

    def factory(slug: str = "study", **fields) -> Campaign:
        fields.setdefault("title", f"Study {slug}")
        fields.setdefault("target_ratings_per_video", 10)
        fields.setdefault("completion_code", "CODE-1234")
        fields.setdefault("min_reason_length", 5)
        fields.setdefault("media_secret", LIBRARY_MEDIA_SECRET)  # the library's files, stored once for every test campaign
        campaign = Campaign.objects.create(slug=slug, **fields)
        ConsentText.objects.create(campaign=campaign, version=1, text="We store your ratings. Do you agree?")
        for prepared in prepared_videos:
            video_register(campaign=campaign, prepared=prepared)
        return campaign

    return factory


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package (.ci/run does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3 server on 127.0.0.1 (a real HTTP endpoint, as minio would be), with an empty bucket per test that asks
    for `s3_media`; yields its endpoint URL."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_media(settings, moto_s3):
    """MEDIA_STORAGE=s3 (signed-url delivery) against a fresh bucket of moto's server; yields a boto3 client of it."""
    import boto3

    from config.settings import content_security_policy, media_storages

    bucket = f"dream-test-{uuid.uuid4().hex[:16]}"
    env = {"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": bucket, "MEDIA_S3_ENDPOINT_URL": moto_s3,
           "MEDIA_S3_ACCESS_KEY_ID": "testing", "MEDIA_S3_SECRET_ACCESS_KEY": "testing", "MEDIA_SIGNED_URL_SECONDS": "120"}
    client = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)
    settings.STORAGES, settings.MEDIA_DELIVERY, origin = media_storages(env)
    settings.CONTENT_SECURITY_POLICY = content_security_policy(origin)
    client.bucket = bucket
    yield client


@pytest.fixture
def django_server():
    """This Django on a free port, as gunicorn would run it; yields host:port. pytest-django's live_server answers
    /media/ itself (Django's test server serves MEDIA_ROOT), so it cannot stand for the web service where /media/'s
    delivery is tested. Its middleware (the CSP) is built from the settings of the moment it starts."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.urls import get_resolver

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    get_resolver().url_patterns  # the URLconf imports torch (modeling): once, here, not in the first request
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
