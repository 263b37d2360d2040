"""PostgreSQL stopped and started again while an annotator rates: answers during the outage get a
clear 503, nothing acknowledged is lost, nothing is stored twice, and the same web process serves
again once the database is back (its connection is replaced, not restarted by hand)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection

from annotation.models import Attempt, Rating

from .test_views import post_answer, token_of, walk_to_rating

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, *(["-m", "fast"] if action == "stop" else [])],
                   check=True, capture_output=True, timeout=60)
    if action == "start":
        deadline = time.time() + 30
        while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
            assert time.time() < deadline, "PostgreSQL did not come back"
            time.sleep(0.3)


def test_ratings_survive_a_database_restart(client, make_campaign):
    if connection.vendor != "postgresql" or not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir() or os.geteuid() != 0:
        pytest.skip("needs the local PostgreSQL cluster and the right to restart it (CI runs as root)")
    make_campaign()
    walk_to_rating(client)
    attempt = Attempt.objects.get()
    acknowledged = []
    for position in (1, 2, 3):
        page = client.get("/c/study/rate/").content.decode()
        assert post_answer(client, {"token": token_of(page), "score": "3", "reason": "blurry mouth edges"}).status_code == 200
        acknowledged.append(position)
    page = client.get("/c/study/rate/").content.decode()
    token = token_of(page)
    _cluster("stop")
    try:
        during = post_answer(client, {"token": token, "score": "4", "reason": "flickering cheeks"})
        assert during.status_code == 503 and during.json()["code"] == "database_unavailable"
        assert "answers you saved are kept" in during.json()["error"] and during["Retry-After"] == "30"
        page_during = client.get("/c/study/rate/")
        assert page_during.status_code == 503 and "briefly unavailable" in page_during.content.decode()
    finally:
        _cluster("start")
    again = post_answer(client, {"token": token, "score": "4", "reason": "flickering cheeks"})  # the same answer, retried
    assert again.status_code == 200 and again.json()["saved"] == 4
    acknowledged.append(4)
    page = client.get("/c/study/rate/").content.decode()
    assert post_answer(client, {"token": token_of(page), "score": "2", "reason": "seam at the chin"}).status_code == 200
    acknowledged.append(5)
    stored = list(Rating.objects.filter(attempt=attempt).order_by("position").values_list("position", flat=True))
    assert stored == acknowledged  # nothing lost, nothing twice
