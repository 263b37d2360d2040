"""State changes of the job runner: creating a versioned job, running one of its stages, failing it.

A job moves queued -> running -> completed, or -> failed at the stage that raised. Each stage is
run by `job_stage_execute` (one Celery task per stage, see tasks.py); its seconds are recorded on
the job when it returns, so a stage whose worker died before that runs again from the start and
overwrites whatever it had written. A finished job's stages do nothing if delivered again.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.errors import ApplicationError

from . import registry
from .artifacts import ArtifactStore
from .models import Job

Enqueue = Callable[[int], None]
_enqueue_default: Enqueue | None = None


def enqueue_default_set(enqueue: Enqueue) -> None:
    """Set how new jobs are queued when their caller names no way (JobsConfig.ready hands in the Celery one)."""
    global _enqueue_default
    _enqueue_default = enqueue


@dataclass(frozen=True)
class StageContext:
    """What a stage function gets: its job, the kind's typed parameters, and the job's artifact store."""

    job: Job
    params: Any
    artifacts: ArtifactStore

    def inputs_record(self, inputs: dict) -> None:
        """Store the fingerprint of the data the job read (counts, last change) on the job."""
        Job.objects.filter(pk=self.job.pk).update(inputs=inputs)
        self.job.inputs = inputs

    def summary_record(self, summary: dict) -> None:
        """Store the job's headline outputs on the job."""
        Job.objects.filter(pk=self.job.pk).update(summary=summary)
        self.job.summary = summary


def job_create(*, kind: str, subject: str, parameters: dict | None = None, user=None, enqueue: Enqueue | None = None) -> Job:
    """Create the next version of `kind` over `subject` and queue its stages once the transaction commits.

    Returns the new job (queued). Parameters the kind does not accept are refused with
    ApplicationError("bad_parameters"). `enqueue(job_id)` queues the stages; the default is the
    one JobsConfig set (tasks.enqueue_job: Celery, or in-process without a broker).
    """
    job_kind = registry.kind_named(kind)
    try:
        params = job_kind.parameters.from_dict(parameters)
    except (TypeError, ValueError) as exc:
        raise ApplicationError("bad_parameters", f"The {kind} parameters are not valid: {exc}.")
    enqueue = enqueue or _enqueue_default
    if enqueue is None:
        raise RuntimeError("no way to queue jobs: the jobs app is not installed or not ready")
    fields = {
        "kind": kind, "subject": subject, "parameters": params.as_dict(), "code_version": job_kind.code_version(),
        "requested_by": user if user is not None and user.is_authenticated else None,
    }
    with transaction.atomic():
        _versions_lock(kind, subject)
        last = Job.objects.filter(kind=kind, subject=subject).aggregate(v=Max("version"))["v"] or 0
        job = Job.objects.create(version=last + 1, **fields)
        transaction.on_commit(lambda: enqueue(job.pk))
    return job


def _versions_lock(kind: str, subject: str) -> None:
    """Hold the version numbering of (kind, subject) until the transaction ends.

    PostgreSQL: a transaction-level advisory lock on a hash of the pair, so two jobs created at
    once number themselves one after the other. (Reading the highest version and retrying on the
    unique constraint starved: a writer that just committed was ahead again at once, and 2
    threads creating 8 jobs each failed after 5 retries.) SQLite runs one writer at a time anyway.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"{kind}\0{subject}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


def job_stage_execute(*, job_id: int, stage: str, pause_seconds: float = 0.0) -> bool:
    """Run one stage of a job and record its seconds; the last stage completes the job.

    Returns False when the job is already completed or failed (nothing is run). `pause_seconds`
    is a failure drill for tests only: the stage's work is done but not yet recorded while it
    sleeps, which is where a test kills the worker.
    """
    job = Job.objects.get(pk=job_id)
    if job.is_finished:
        return False
    kind = registry.kind_named(job.kind)
    step = kind.stage_named(stage)
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.RUNNING, stage=stage, started_at=Coalesce("started_at", Value(timezone.now()))
    )
    started = time.perf_counter()
    step.run(StageContext(job=job, params=kind.parameters.from_dict(job.parameters), artifacts=ArtifactStore.for_job(job)))
    if pause_seconds > 0:
        time.sleep(pause_seconds)
    seconds = round(time.perf_counter() - started, 4)
    last = stage == kind.stage_names[-1]
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            if job.status == Job.Status.FAILED:  # failed while this stage ran: what it wrote goes too
                ArtifactStore.for_job(job).clear()
            return False
        job.stage_seconds = {**job.stage_seconds, stage: seconds}
        fields = ["stage_seconds"]
        if last:
            job.status, job.stage, job.finished_at = Job.Status.COMPLETED, "", timezone.now()
            fields += ["status", "stage", "finished_at"]
        job.save(update_fields=fields)
    return True


def job_run_here(job: Job, *, on_stage: Callable[[str], None] | None = None) -> Job:
    """Run every stage of `job` in this process, in order (commands that need no broker: the dataset
    export, the demo model). Returns the job, reloaded. A stage that raises marks the job failed (its
    files removed), as the worker does, and the error propagates. `on_stage(name)` hears each start."""
    for stage in registry.kind_named(job.kind).stage_names:
        if on_stage is not None:
            on_stage(stage)
        try:
            job_stage_execute(job_id=job.pk, stage=stage)
        except Exception as exc:
            job_fail(job_id=job.pk, stage=stage, error=f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}")
            raise
    job.refresh_from_db()
    return job


def job_fail(*, job_id: int, stage: str, error: str) -> None:
    """Mark a job failed at `stage` (a completed job stays completed) and remove its artifacts.

    A failed job's files are the partial outputs of stages that will not run again: nothing
    should read them, and they can be large.
    """
    updated = Job.objects.filter(pk=job_id).exclude(status=Job.Status.COMPLETED).update(
        status=Job.Status.FAILED, stage=stage, error=error[:5000], finished_at=timezone.now()
    )
    if updated:
        job = Job.objects.get(pk=job_id)
        ArtifactStore.for_job(job).clear()


def job_progress(job: Job) -> dict:
    """How far a job got: id, kind, version, status, current (or failed) stage, stages done of total, error."""
    try:
        total = len(registry.kind_named(job.kind).stages)
    except KeyError:
        total = len(job.stage_seconds)
    return {
        "id": job.pk, "kind": job.kind, "version": job.version, "status": job.status, "stage": job.stage,
        "done": len(job.stage_seconds), "total": total, "error": job.error,
    }
