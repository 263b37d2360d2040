"""Celery tasks of the job runner: one task per stage, chained in the kind's order; thin wrappers around services."""
from __future__ import annotations

import logging

from celery import chain, shared_task
from django.db import InterfaceError, OperationalError

from . import registry, services
from .models import Job

log = logging.getLogger(__name__)
# Database hiccups (a restarted server, a dropped connection) are worth another try; nothing else is.
RETRYABLE = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3)
def job_stage(self, job_id: int, stage: str, pause_seconds: float = 0.0) -> int:
    """Run one stage of a job; returns the job id.

    Acknowledged only after it returns, and handed to another worker if this one dies, so a
    stage interrupted by a crash runs again. Database hiccups are retried; anything else marks
    the job failed and, by raising, stops the chain before the next stage.
    """
    try:
        services.job_stage_execute(job_id=job_id, stage=stage, pause_seconds=pause_seconds)
    except RETRYABLE as exc:
        if self.request.retries < self.max_retries and not self.request.is_eager:
            raise self.retry(exc=exc, countdown=2 ** self.request.retries)
        services.job_fail(job_id=job_id, stage=stage, error=f"{type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        log.exception("job %s failed in stage %s", job_id, stage)
        services.job_fail(job_id=job_id, stage=stage, error=f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}")
        raise
    return job_id


def enqueue_job(job_id: int, *, app=None, pause_after: dict[str, float] | None = None) -> None:
    """Queue every stage of a job in order, on its kind's queue (in-process when no broker is configured).

    `app` sends with another Celery app than the project's (a test's client of a real worker).
    `pause_after` ({stage: seconds}) is a failure drill for tests: that stage sleeps after its work,
    before recording it, so a test can kill the worker there. It travels as a task option and is
    never part of the job's parameters.
    """
    pause_after = pause_after or {}
    try:
        job = Job.objects.only("kind").get(pk=job_id)
        kind = registry.kind_named(job.kind)

        def signature(stage: str):
            kwargs = {"pause_seconds": pause_after[stage]} if stage in pause_after else {}
            options = {"queue": kind.queue} if kind.queue else {}
            if app is None:
                return job_stage.signature((job_id, stage), kwargs, immutable=True, **options)
            return app.signature(job_stage.name, args=(job_id, stage), kwargs=kwargs, immutable=True, **options)

        chain(*(signature(stage) for stage in kind.stage_names), app=app).apply_async()
    except Exception as exc:  # noqa: BLE001 - in-process runs raise here; the job is already marked failed
        if Job.objects.filter(pk=job_id, status=Job.Status.FAILED).exists():
            log.warning("job %s failed: %s", job_id, exc)
            return
        services.job_fail(job_id=job_id, stage="queue", error=f"could not queue the job: {exc}")
