"""Faults during a dataset export, against the real services: a Celery worker killed mid-export, and
no broker at all. The export completes exactly once after a new worker starts, nothing is listed as
complete before that, and a broker that is down is said plainly."""
from __future__ import annotations

import os
import signal
import time

import pytest
from celery import Celery
from django.db import connection

from analysis.export import selectors, services
from analysis.export.manifest import MANIFEST
from jobs.models import Job
from jobs.tasks import enqueue_job

from ..factories import rated_campaign
from ..test_pipeline import ROOT, _worker


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_export_survives_its_worker_being_killed_and_completes_once(settings):
    broker = os.environ.get("CELERY_TEST_BROKER_URL")
    if not broker or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_TEST_BROKER_URL (Redis) and PostgreSQL, as `make test` sets")
    artifacts = ROOT / "var" / "test" / "jobs-artifacts-export"
    settings.JOBS_ARTIFACT_ROOT = artifacts
    campaign = rated_campaign(slug="export-killed", n_annotators=12, n_videos=10)
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker, "SECRET_KEY": "test-only-secret", "CELERY_VISIBILITY_TIMEOUT": "8",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
           "JOBS_ARTIFACT_ROOT": str(artifacts)}
    client = Celery("export-test-client", broker=broker, set_as_current=False)
    client.conf.update(broker_transport_options={"visibility_timeout": 8})
    with client.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    first, second = _worker(env), None
    try:
        job = services.export_start(campaign=campaign, parameters={"splits": 0},
                                    enqueue=lambda job_id: enqueue_job(job_id, app=client, pause_after={"videos": 5}))
        deadline = time.time() + 60
        while not Job.objects.filter(pk=job.pk, stage="videos").exists():
            assert time.time() < deadline, "the worker never reached the videos stage"
            time.sleep(0.2)
        time.sleep(1.5)
        os.killpg(first.pid, signal.SIGKILL)  # in the pause: the stage is written but neither recorded nor acknowledged
        first.wait(timeout=10)
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING and "videos" not in job.stage_seconds
        assert selectors.export_files(job) == []  # nothing is offered as a finished export
        assert selectors.campaign_latest_export(campaign) is None
        second = _worker(env)
        deadline = time.time() + 90
        while job.status not in (Job.Status.COMPLETED, Job.Status.FAILED):
            assert time.time() < deadline, f"the export did not finish after the worker was killed (stage {job.stage})"
            time.sleep(0.5)
            job.refresh_from_db()
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=20)
    assert job.status == Job.Status.COMPLETED, job.error
    assert Job.objects.filter(kind="export", subject=job.subject).count() == 1  # one export, version 1
    files = selectors.export_files(job)
    assert files and files[0].path == MANIFEST
    folder = selectors.export_folder(job)
    for listed in files[1:]:  # every file the manifest lists is there, whole (the manifest's hashes are checked elsewhere)
        assert (folder / listed.path).stat().st_size == listed.bytes, listed.path


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_is_said_plainly_and_leaves_no_export(settings):
    settings.JOBS_ARTIFACT_ROOT = ROOT / "var" / "test" / "jobs-artifacts-nobroker"
    campaign = rated_campaign(slug="export-nobroker", n_annotators=4, n_videos=4)
    down = Celery("no-broker", broker="redis://127.0.0.1:1/0", set_as_current=False)  # nothing listens on port 1
    down.conf.update(broker_connection_retry=False, broker_connection_max_retries=0, broker_connection_timeout=1)
    started = time.time()
    job = services.export_start(campaign=campaign, parameters={"splits": 0}, enqueue=lambda job_id: enqueue_job(job_id, app=down))
    job.refresh_from_db()
    assert time.time() - started < 30
    assert job.status == Job.Status.FAILED and job.stage == "queue" and "could not queue" in job.error
    assert selectors.export_files(job) == [] and selectors.campaign_latest_export(campaign) is None
