"""Starting a job from a researcher's page: one answer for every such form."""
from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages

from annotation.errors import ApplicationError

from .models import Job


def job_started(request, label: str, start: Callable[[], object]) -> None:
    """Call `start()` (a service that creates a job or run) and tell the person how it went, as a message:
    its refusal (ApplicationError) or its failure as an error, else "<label> v<version>: <status>." as a success (tasks run in-process
    on the embedded default, so the status may already be completed)."""
    try:
        job = start()
    except ApplicationError as error:
        messages.error(request, error.message)
        return
    job.refresh_from_db()
    # Started (or already done) is a success; a job that failed in-process is told as an error.
    tell = messages.error if job.status == Job.Status.FAILED else messages.success
    tell(request, f"{label} v{job.version}: {job.get_status_display().lower()}.")
