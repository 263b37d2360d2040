"""The job runner's contract: versions per subject, stage order, failure, idempotent re-runs, artifacts, queues."""
from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass

import pandas as pd
import pytest
from celery import Celery
from django.db import connection

from annotation.errors import ApplicationError
from jobs import registry, selectors, services
from jobs.models import Job
from jobs.registry import JobKind, Stage
from jobs.tasks import enqueue_job

CALLS: list[str] = []


@dataclass(frozen=True)
class Knobs:
    rows: int = 3
    fail_in: str = ""

    @classmethod
    def from_dict(cls, data):
        return cls(**(data or {}))

    def as_dict(self):
        return asdict(self)


def _stage(name):
    def run(ctx):
        CALLS.append(name)
        if ctx.params.fail_in == name:
            raise ValueError(f"{name} went wrong")
        # Each run writes what depends on how often it ran: a re-run must replace, not add.
        runs = CALLS.count(name)
        ctx.artifacts.frame_write(name, pd.DataFrame({"row": range(ctx.params.rows), "run": runs}))
        ctx.artifacts.json_write(f"{name}-meta", {"runs": runs})
        if name == "first":
            ctx.inputs_record({"rows": ctx.params.rows})
        if name == "third":
            ctx.summary_record({"done": True})
    return run


KIND = JobKind("runner-test", tuple(Stage(n, _stage(n)) for n in ("first", "second", "third")), parameters=Knobs,
               code_version=lambda: "test-1")


@pytest.fixture(autouse=True)
def kind(settings, tmp_path):
    settings.JOBS_ARTIFACT_ROOT = tmp_path
    CALLS.clear()
    registry.register(KIND)
    yield KIND
    registry.unregister(KIND.name)


def run_job(capture, **kwargs) -> Job:
    with capture(execute=True):
        job = services.job_create(kind=KIND.name, subject="thing:1", **kwargs)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_job_runs_its_stages_in_order_and_completes(django_capture_on_commit_callbacks, tmp_path):
    job = run_job(django_capture_on_commit_callbacks, parameters={"rows": 4})
    assert CALLS == ["first", "second", "third"]
    assert job.status == Job.Status.COMPLETED and job.stage == "" and job.error == ""
    assert (job.version, job.code_version, job.parameters) == (1, "test-1", {"rows": 4, "fail_in": ""})
    assert job.inputs == {"rows": 4} and job.summary == {"done": True}
    assert list(selectors.job_stage_seconds(job)) == ["first", "second", "third"]
    assert job.started_at <= job.finished_at
    assert services.job_progress(job) | {"id": 0} == {"id": 0, "kind": KIND.name, "version": 1, "status": "completed", "stage": "",
                                                      "done": 3, "total": 3, "error": ""}
    folder = tmp_path / KIND.name / str(job.pk)
    assert sorted(p.name for p in folder.iterdir()) == [
        "first-meta.json", "first.parquet", "second-meta.json", "second.parquet", "third-meta.json", "third.parquet"]
    assert not any(p.read_bytes().startswith(b"\x80") for p in folder.iterdir())  # no pickle


@pytest.mark.django_db
def test_a_stage_that_raises_fails_the_job_and_later_stages_do_not_run(django_capture_on_commit_callbacks, tmp_path):
    job = run_job(django_capture_on_commit_callbacks, parameters={"fail_in": "second"})
    assert CALLS == ["first", "second"]
    assert job.status == Job.Status.FAILED and job.stage == "second" and "second went wrong" in job.error
    assert list(job.stage_seconds) == ["first"] and job.summary is None and job.finished_at is not None
    assert not (tmp_path / KIND.name / str(job.pk)).exists()  # a failed job's partial files are removed
    assert selectors.job_latest(kind=KIND.name, subject="thing:1") is None
    assert selectors.job_latest(kind=KIND.name, subject="thing:1", completed=False) == job


@pytest.mark.django_db
def test_a_stage_run_again_overwrites_its_outputs_and_a_finished_job_runs_nothing(tmp_path):
    job = services.job_create(kind=KIND.name, subject="thing:1", enqueue=lambda job_id: None)
    assert job.status == Job.Status.QUEUED
    for _ in range(2):  # as after a worker died before acknowledging the stage
        assert services.job_stage_execute(job_id=job.pk, stage="first")
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and list(job.stage_seconds) == ["first"]
    store = tmp_path / KIND.name / str(job.pk)
    assert sorted(p.name for p in store.iterdir()) == ["first-meta.json", "first.parquet"]
    assert pd.read_parquet(store / "first.parquet")["run"].tolist() == [2, 2, 2]
    for stage in ("second", "third"):
        services.job_stage_execute(job_id=job.pk, stage=stage)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert services.job_stage_execute(job_id=job.pk, stage="second") is False
    assert CALLS == ["first", "first", "second", "third"]


@pytest.mark.django_db
def test_versions_count_per_kind_and_subject(kind):
    other = JobKind("runner-test-other", (Stage("only", lambda ctx: None),))
    registry.register(other)
    try:
        create = lambda kind_name, subject: services.job_create(kind=kind_name, subject=subject, enqueue=lambda job_id: None)  # noqa: E731
        versions = [create(KIND.name, "thing:1").version, create(KIND.name, "thing:1").version, create(KIND.name, "thing:2").version,
                    create(other.name, "thing:1").version, create(KIND.name, "thing:1").version]
        assert versions == [1, 2, 1, 1, 3]
    finally:
        registry.unregister(other.name)


@pytest.mark.django_db(transaction=True)
def test_jobs_created_at_once_get_distinct_versions():
    """Two writers at once: the unique constraint refuses a duplicate version, the loser reads again."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections (PostgreSQL)")
    errors, barrier = [], threading.Barrier(2)

    def create_many():
        try:
            barrier.wait()
            for _ in range(8):
                services.job_create(kind=KIND.name, subject="thing:9", enqueue=lambda job_id: None)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_many) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(Job.objects.filter(subject="thing:9").values_list("version", flat=True)) == list(range(1, 17))


@pytest.mark.django_db
def test_bad_parameters_and_unknown_kinds_are_refused():
    with pytest.raises(ApplicationError) as bad:
        services.job_create(kind=KIND.name, subject="thing:1", parameters={"rowz": 2}, enqueue=lambda job_id: None)
    assert bad.value.code == "bad_parameters" and "rowz" in bad.value.message
    with pytest.raises(KeyError, match="no job kind 'nothing'"):
        services.job_create(kind="nothing", subject="thing:1", enqueue=lambda job_id: None)
    assert not Job.objects.exists()


def test_the_registry_refuses_a_second_kind_under_a_taken_name():
    with pytest.raises(ValueError, match="already registered"):
        registry.register(JobKind(KIND.name, (Stage("x", lambda ctx: None),)))
    registry.register(KIND)  # the same kind again is fine (an app's ready() may run twice)
    with pytest.raises(ValueError, match="twice"):
        JobKind("dupes", (Stage("x", lambda ctx: None), Stage("x", lambda ctx: None)))


@pytest.mark.django_db
def test_a_kind_with_its_own_queue_sends_its_stages_there():
    """Training gets its own workers: the first stage's message lands on the kind's queue in Redis, not the default one."""
    broker = os.environ.get("CELERY_TEST_BROKER_URL")
    if not broker:
        pytest.skip("needs CELERY_TEST_BROKER_URL (Redis), as `make test` sets")
    queued = JobKind("runner-test-queued", (Stage("one", lambda ctx: None), Stage("two", lambda ctx: None)), queue="runner-test-queue")
    registry.register(queued)
    client = Celery("jobs-test-client", broker=broker, set_as_current=False)
    try:
        with client.connection_for_write() as conn:
            redis = conn.default_channel.client
            redis.delete("runner-test-queue")
            before = redis.llen("celery")
            job = services.job_create(kind=queued.name, subject="thing:1", enqueue=lambda job_id: None)
            enqueue_job(job.pk, app=client)
            assert redis.llen("runner-test-queue") == 1 and redis.llen("celery") == before
            redis.delete("runner-test-queue")
    finally:
        registry.unregister(queued.name)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED  # queued, not run in-process
