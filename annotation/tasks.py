"""Celery tasks of the annotation app: thin wrappers around services."""
from celery import shared_task

from .models import Campaign
from .services import sessions_release_abandoned, videos_missing_unlist


@shared_task
def release_abandoned_sessions() -> int:
    """Celery beat: abandon the sessions idle past their timeout; returns how many."""
    return sessions_release_abandoned()


@shared_task
def videos_missing_unlist_open() -> int:
    """Celery beat: take videos whose file left the media storage out of the open campaigns' assignment; returns how many."""
    return len(videos_missing_unlist(campaigns=Campaign.objects.filter(is_open=True)))


@shared_task
def sessions_clear_expired() -> None:
    """Celery beat: delete the expired login and annotator sessions from the session table."""
    from django.core.management import call_command

    call_command("clearsessions")
