"""The deployment files: docker/compose.yml parses and has what the README promises, and docker/nginx.conf runs
under a real nginx (Debian's, .ci/services installs it) in front of this Django: with MEDIA_DELIVERY=x-accel
Django checks /media/ and nginx sends the bytes, Range and all, a checker exactly like a regular video.
Docker itself cannot run here (no engine), so the compose file is checked as data."""
from __future__ import annotations

import http.client
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from annotation.models import Video

DOCKER = Path(__file__).resolve().parents[2] / "docker"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# What nginx answers that could tell one video from another (Date is per request).
HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Cache-Control", "ETag", "Last-Modified", "X-Accel-Redirect")


def test_the_compose_file_runs_nginx_before_web_replicas_workers_and_the_trainer():
    compose = yaml.safe_load((DOCKER / "compose.yml").read_text())
    services = compose["services"]
    assert {"nginx", "migrate", "web", "worker", "trainer", "beat", "postgres", "redis", "minio", "minio-bucket"} <= set(services)
    assert services["nginx"]["ports"] == ["8000:80"] and "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]
    assert "ports" not in services["web"] and services["web"]["deploy"]["replicas"] == "${WEB_REPLICAS:-2}"
    assert services["web"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "migrate" not in services["web"]["command"]  # replicas migrating together would race
    assert "-Q celery" in services["worker"]["command"] and "-Q training" in services["trainer"]["command"]
    assert "deploy" not in services["beat"]  # one beat, or every periodic task is queued twice
    environment = services["web"]["environment"]
    assert environment["MEDIA_DELIVERY"] == "${MEDIA_DELIVERY:-x-accel}" and environment["MEDIA_STORAGE"] == "${MEDIA_STORAGE:-local}"
    assert {"MEDIA_S3_BUCKET", "MEDIA_S3_ENDPOINT_URL", "MEDIA_SIGNED_URL_SECONDS", "CSRF_TRUSTED_ORIGINS"} <= set(environment)
    assert "CSRF_TRUSTED_ORIGINS=https://" in (DOCKER / "compose.yml").read_text()
    assert services["minio"]["profiles"] == ["minio"]  # optional


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config_for_here(folder: Path, port: int, upstream: str, media_root: Path) -> Path:
    """docker/nginx.conf with this host's addresses and folders, and temporary files under `folder`."""
    text = (DOCKER / "nginx.conf").read_text()
    for old, new in (("listen 80;", f"listen 127.0.0.1:{port};"), ("server web:8000;", f"server {upstream};"),
                     ("alias /var/lib/dream/media/;", f"alias {media_root}/;"),
                     ("http {", f"http {{\n    access_log {folder}/access.log;\n    client_body_temp_path {folder}/body;\n"
                                f"    proxy_temp_path {folder}/proxy;")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


def _nginx_args(folder: Path, config: Path) -> list[str]:
    return [NGINX, "-p", str(folder), "-c", str(config), "-g", f"daemon off; master_process off; pid {folder}/nginx.pid; error_log {folder}/error.log;"]


@pytest.fixture
def nginx(django_server, tmp_path):
    """docker/nginx.conf run by a real nginx (one process, no daemon) in front of this Django; yields its port."""
    if not Path(NGINX).exists():
        pytest.fail("nginx not found; install Debian's nginx-light (.ci/services does)")
    port = _free_port()
    config = _config_for_here(tmp_path, port, django_server, Path(settings.MEDIA_ROOT).resolve())
    checked = subprocess.run([*_nginx_args(tmp_path, config), "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(_nginx_args(tmp_path, config), stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _get(port: int, path: str, **headers) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_x_accel_through_nginx_sends_checkers_exactly_like_regular_videos(settings, nginx, make_campaign):
    settings.MEDIA_DELIVERY = "x-accel"
    campaign = make_campaign()
    seen = {}
    for video in Video.objects.filter(campaign=campaign, role__in=(Video.Role.REGULAR, Video.Role.CHECKER)):
        for name in (video.file.name, video.poster.name):
            status, headers, body = _get(nginx, f"/media/{name}", Range="bytes=0-99")
            data = (Path(settings.MEDIA_ROOT) / name).read_bytes()
            assert status == 206 and body == data[:100] and headers["Content-Range"] == f"bytes 0-99/{len(data)}", name
            # Whole-file sizes differ from video to video, checker or not: Content-Range's total is masked.
            values = tuple(re.sub(r"/\d+$", "/<size>", headers.get(h) or "-") for h in HEADERS)
            seen.setdefault(video.role, set()).add((name.split("/")[0], *values))
    assert seen[Video.Role.CHECKER] == seen[Video.Role.REGULAR] and len(seen[Video.Role.REGULAR]) == 2  # videos, posters
    video = sorted(seen[Video.Role.REGULAR])[1]
    # nginx says Accept-Ranges on a whole answer only (below); a 206 needs none.
    assert video[1:6] == ("video/mp4", "100", "bytes 0-99/<size>", "-", "private, max-age=31536000, immutable")
    assert video[6:] == ("-", "-", "-")  # no ETag or Last-Modified (a file's time), no internal path leaked
    name = campaign.videos.first().file.name
    whole = _get(nginx, f"/media/{name}")
    assert whole[0] == 200 and whole[2] == (Path(settings.MEDIA_ROOT) / name).read_bytes() and whole[1]["Accept-Ranges"] == "bytes"
    # The internal location is not reachable from outside, and Django's checks still come first.
    assert _get(nginx, f"/_protected_media/{name}")[0] == 404
    assert _get(nginx, "/media/private-note.txt")[0] == 404
    assert _get(nginx, "/media/videos/" + "0" * 64 + ".mp4")[0] == 404
