"""Read-only queries of the job runner: the latest job of a kind over a subject."""
from __future__ import annotations

from . import registry
from .models import Job


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
