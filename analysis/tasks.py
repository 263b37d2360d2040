"""Celery tasks of the analysis app: the scheduled re-analysis (the stages run as the job runner's tasks)."""
from __future__ import annotations

from celery import shared_task

from . import services
from .models import AnalysisRun


@shared_task
def refresh_open_campaigns() -> int:
    """Celery beat: re-analyse every open campaign that has new ratings since its latest run; returns how many."""
    due = services.campaigns_needing_analysis()
    for campaign in due:
        services.analysis_run_start(campaign=campaign, trigger=AnalysisRun.Trigger.SCHEDULE)
    return len(due)
