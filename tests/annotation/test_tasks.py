"""The periodic release of abandoned sessions: in-process without a broker, and on a real Celery worker."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from annotation.models import AnnotationSession
from annotation.tasks import release_abandoned_sessions

from annotation import services

from .test_assignment import bare_campaign, ready_annotator

ROOT = Path(__file__).resolve().parents[2]


def idle_session(slug: str) -> AnnotationSession:
    campaign = bare_campaign(regular=40, checkers=5, slug=slug, session_timeout_minutes=10)
    session = services.session_start(annotator=ready_annotator(campaign, 1)).session
    AnnotationSession.objects.filter(pk=session.pk).update(last_activity_at=timezone.now() - timedelta(minutes=11))
    return session


@pytest.mark.django_db
def test_release_runs_in_process_without_a_broker(settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    session = idle_session("eager")
    assert release_abandoned_sessions.delay().get() == 1
    session.refresh_from_db()
    assert session.status == AnnotationSession.Status.ABANDONED


@pytest.mark.django_db(transaction=True)
def test_release_runs_on_a_real_worker():
    broker = os.environ.get("CELERY_TEST_BROKER_URL")
    if not broker or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_TEST_BROKER_URL (Redis) and PostgreSQL, as `make test` sets")
    session = idle_session("worker")
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker, "SECRET_KEY": "test-only-secret",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--queues", "release-test", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    # A separate client app: the project's app is configured in-process (eager) for this test run.
    client = Celery("release-test-client", broker=broker, backend=broker, set_as_current=False)
    try:
        result = client.send_task("annotation.tasks.release_abandoned_sessions", queue="release-test")
        assert result.get(timeout=60) == 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    session.refresh_from_db()
    assert session.status == AnnotationSession.Status.ABANDONED
