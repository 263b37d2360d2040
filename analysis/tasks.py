"""Celery tasks of the analysis pipeline: one task per stage, chained; thin wrappers around services."""
from __future__ import annotations

import logging

from celery import chain, shared_task
from django.db import InterfaceError, OperationalError

from . import services
from .models import AnalysisRun

log = logging.getLogger(__name__)
RETRYABLE = (OperationalError, InterfaceError, ConnectionError)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3)
def analysis_stage(self, run_id: int, stage: str) -> int:
    """Run one stage. Database hiccups are retried; anything else marks the run failed and stops the chain."""
    try:
        services.run_stage_execute(run_id=run_id, stage=stage)
    except RETRYABLE as exc:
        if self.request.retries < self.max_retries and not self.request.is_eager:
            raise self.retry(exc=exc, countdown=2 ** self.request.retries)
        services.run_fail(run_id=run_id, stage=stage, error=f"{type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        log.exception("analysis run %s failed in stage %s", run_id, stage)
        services.run_fail(run_id=run_id, stage=stage, error=f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}")
        raise
    return run_id


def enqueue_run(run_id: int, *, app=None) -> None:
    """Queue every stage of a run in order (in-process when no broker is configured).

    `app` sends with another Celery app than the project's (a test's client of a real worker).
    """
    def stage_signature(stage):
        if app is None:
            return analysis_stage.si(run_id, stage)
        return app.signature(analysis_stage.name, args=(run_id, stage), immutable=True)

    try:
        chain(*(stage_signature(stage) for stage in services.ALL_STAGES), app=app).apply_async()
    except Exception as exc:  # noqa: BLE001 - in-process runs raise here; the run is already marked failed
        if AnalysisRun.objects.filter(pk=run_id, status=AnalysisRun.Status.FAILED).exists():
            log.warning("analysis run %s failed: %s", run_id, exc)
            return
        services.run_fail(run_id=run_id, stage="queue", error=f"could not queue the run: {exc}")


@shared_task
def refresh_open_campaigns() -> int:
    """Celery beat: re-analyse every open campaign that has new ratings since its latest run."""
    due = services.campaigns_needing_analysis()
    for campaign in due:
        services.analysis_run_start(campaign=campaign, trigger=AnalysisRun.Trigger.SCHEDULE)
    return len(due)
