"""Read-only queries of the job runner: the latest job of a kind over a subject, the jobs a user may see."""
from __future__ import annotations

from django.db.models import QuerySet

from annotation import access

from . import registry
from .models import Job

_CAMPAIGN = "campaign:"


def campaign_subject(campaign_id: int) -> str:
    """The subject of the jobs over one campaign (analyses, exports, ingests): "campaign:<id>"."""
    return f"{_CAMPAIGN}{campaign_id}"


def subject_campaign_id(subject: str) -> int | None:
    """The campaign id of a "campaign:<id>" subject; None for any other subject."""
    if not subject.startswith(_CAMPAIGN) or not subject[len(_CAMPAIGN):].isdigit():
        return None
    return int(subject[len(_CAMPAIGN):])


def jobs_visible(user) -> QuerySet[Job]:
    """The jobs `user` may see: every job for a superuser; otherwise those over campaigns they may
    view (annotation.access), newest first."""
    if access.is_superuser(user):
        return Job.objects.all()
    ids = access.campaigns_visible(user).values_list("pk", flat=True)
    return Job.objects.filter(subject__in=[campaign_subject(pk) for pk in ids])


def job_latest(*, kind: str, subject: str, completed: bool = True) -> Job | None:
    """The highest version of `kind` over `subject` (completed ones only, by default), or None."""
    jobs = Job.objects.filter(kind=kind, subject=subject)
    if completed:
        jobs = jobs.filter(status=Job.Status.COMPLETED)
    return jobs.order_by("-version").first()


def job_stage_seconds(job: Job) -> dict[str, float]:
    """Seconds of each finished stage of the job, in the order of its kind's stages (unknown ones last)."""
    try:
        order = {name: i for i, name in enumerate(registry.kind_named(job.kind).stage_names)}
    except KeyError:
        order = {}
    return dict(sorted(job.stage_seconds.items(), key=lambda item: order.get(item[0], len(order))))
