"""Celery tasks of the annotation app: thin wrappers around services."""
from celery import shared_task

from .services import sessions_release_abandoned


@shared_task
def release_abandoned_sessions() -> int:
    """Celery beat: abandon the sessions idle past their timeout; returns how many."""
    return sessions_release_abandoned()
