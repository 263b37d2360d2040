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

from ...celery_workers import ROOT, drill_setup, wait_for, worker_start, workers_stop
from ..factories import rated_campaign


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_export_survives_its_worker_being_killed_and_completes_once(settings):
    broker = os.environ.get("CELERY_TEST_BROKER_URL")
    if not broker or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_TEST_BROKER_URL (Redis) and PostgreSQL, as `make test` sets")
    artifacts = ROOT / "var" / "test" / "jobs-artifacts-export"
    settings.JOBS_ARTIFACT_ROOT = artifacts
    campaign = rated_campaign(slug="export-killed", n_annotators=12, n_videos=10)
    env, client = drill_setup(broker, artifacts, "export-test-client")
    first, second = worker_start(env), None
    try:
        job = services.export_start(campaign=campaign, parameters={"splits": 0},
                                    enqueue=lambda job_id: enqueue_job(job_id, app=client, pause_after={"videos": 5}))
        wait_for(lambda: Job.objects.filter(pk=job.pk, stage="videos").exists(), seconds=60,
                 failure=lambda: "the worker never reached the videos stage")
        time.sleep(1.5)
        os.killpg(first.pid, signal.SIGKILL)  # in the pause: the stage is written but neither recorded nor acknowledged
        first.wait(timeout=10)
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING and "videos" not in job.stage_seconds
        assert selectors.export_files(job) == []  # nothing is offered as a finished export
        assert selectors.campaign_latest_export(campaign) is None
        second = worker_start(env)

        def finished() -> bool:
            job.refresh_from_db()
            return job.status in (Job.Status.COMPLETED, Job.Status.FAILED)

        wait_for(finished, seconds=90, every=0.5,
                 failure=lambda: f"the export did not finish after the worker was killed (stage {job.stage})")
    finally:
        workers_stop(first, second)
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
