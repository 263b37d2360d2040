"""State changes of the analysis app: starting runs (jobs of kind "analysis"), annotator exclusions.

A run is a job of the runner (jobs.services): it is created here with its campaign and trigger,
and its stages (analysis.job_stages) are chained on Celery by the runner, or run in-process
without a broker. This module never imports the Celery tasks; they import it.
"""
from __future__ import annotations

from django.db import transaction

from annotation import contract
from annotation.errors import ApplicationError
from annotation.models import Annotator, Campaign
from jobs import selectors as job_selectors
from jobs import services as job_services

from .job_stages import ANALYSIS
from .models import AnalysisRun, AnnotatorExclusion

KIND = ANALYSIS.name


def campaign_subject(campaign: Campaign) -> str:
    """The job subject of a campaign's analyses: versions count per campaign."""
    return job_selectors.campaign_subject(campaign.pk)


@transaction.atomic
def analysis_run_start(
    *, campaign: Campaign, trigger: str = AnalysisRun.Trigger.DASHBOARD, user=None, parameters: dict | None = None, enqueue=None
) -> AnalysisRun:
    """Create the next version of the campaign's analysis and queue its stages once committed.

    Returns the run (its job queued). Unknown or ill-typed parameters are refused with
    ApplicationError("bad_parameters"). `enqueue(job_id)` queues the stages; the default is the
    job runner's (Celery with the project's app, in-process without a broker).
    """
    job = job_services.job_create(kind=KIND, subject=campaign_subject(campaign), parameters=parameters, user=user, enqueue=enqueue)
    return AnalysisRun.objects.create(job=job, campaign=campaign, trigger=trigger)


def run_progress(run: AnalysisRun) -> dict:
    """How far a run got: its id, version, status, stage, stages done of total, error (the dashboard polls it)."""
    return {**job_services.job_progress(run.job), "id": run.pk}


@transaction.atomic
def exclusion_add(*, campaign: Campaign, annotator: Annotator, user=None, reason: str = "") -> AnnotatorExclusion:
    if annotator.campaign_id != campaign.pk:
        raise ApplicationError("wrong_campaign", "This annotator belongs to another campaign.")
    exclusion, _ = AnnotatorExclusion.objects.get_or_create(
        campaign=campaign, annotator=annotator, defaults={"reason": reason[:300], "created_by": user}
    )
    return exclusion


@transaction.atomic
def exclusion_remove(*, campaign: Campaign, annotator: Annotator) -> None:
    AnnotatorExclusion.objects.filter(campaign=campaign, annotator=annotator).delete()


def campaigns_needing_analysis() -> list[Campaign]:
    """Open campaigns whose newest rating is newer than what their latest run saw."""
    due = []
    for campaign in Campaign.objects.filter(is_open=True):
        last = contract.campaign_last_rating_at(campaign)
        if last is None:
            continue
        run = (
            AnalysisRun.objects.filter(campaign=campaign).exclude(job__status=AnalysisRun.Status.FAILED)
            .select_related("job").order_by("-job__version").first()
        )
        if run is None or (run.status == AnalysisRun.Status.COMPLETED and (run.inputs.get("last_rating_at") or "") < last.isoformat()):
            due.append(campaign)
    return due
