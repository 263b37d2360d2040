"""Starting a job from a researcher's page: one answer for every such form."""
from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages

from annotation.errors import ApplicationError


def job_started(request, label: str, start: Callable[[], object]) -> None:
    """Call `start()` (a service that creates a job or run) and tell the person how it went, as a message:
    its refusal (ApplicationError) as an error, else "<label> v<version>: <status>." (tasks run in-process
    on the embedded default, so the status may already be completed)."""
    try:
        job = start()
    except ApplicationError as error:
        messages.error(request, error.message)
        return
    job.refresh_from_db()
    messages.info(request, f"{label} v{job.version}: {job.get_status_display().lower()}.")
