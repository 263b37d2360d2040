"""Where an annotator stands: their current attempt, rated positions, qualified sessions and next step.

These are the ORM queries; the annotator pages read the same facts in one statement through the
store (`annotator_page_state`), which on SQLite falls back to these.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from .. import store
from ..models import AnnotationSession, Annotator, Attempt, Campaign, Rating
from ..steps import Progress, Step, progress_of


def session_idle_cutoff(campaign: Campaign, now: datetime) -> datetime:
    """Sessions whose last activity is older than this are abandoned."""
    return now - timedelta(minutes=campaign.session_timeout_minutes)


def sessions_idle(campaign: Campaign, *, now: datetime, annotator: Annotator | None = None) -> list[int]:
    """Ids of the campaign's sessions (or one annotator's) still marked active but idle past the timeout."""
    idle = campaign.sessions.filter(
        status=AnnotationSession.Status.ACTIVE, last_activity_at__lt=session_idle_cutoff(campaign, now)
    )
    if annotator is not None:
        idle = idle.filter(annotator=annotator)
    return list(idle.values_list("id", flat=True))


def annotator_current_attempt(annotator: Annotator, *, now: datetime | None = None) -> Attempt | None:
    """The latest attempt of the annotator's session in progress (with `.session`), unless that
    session has been idle past the campaign's timeout. One query for what a page needs first."""
    now = now or timezone.now()
    return (
        Attempt.objects.select_related("session")
        .filter(
            session__annotator=annotator,
            session__status=AnnotationSession.Status.ACTIVE,
            session__last_activity_at__gte=session_idle_cutoff(annotator.campaign, now),
        )
        .order_by("-session__started_at", "-number")
        .first()
    )


def attempt_rated_positions(attempt: Attempt) -> set[int]:
    """The positions of the attempt that have a grade."""
    # order_by(): the model's default ordering would join the attempt table for nothing.
    return set(Rating.objects.filter(attempt_id=attempt.pk).order_by().values_list("position", flat=True))


def annotator_qualified_sessions(annotator: Annotator) -> int:
    """How many of the annotator's sessions are qualified."""
    return annotator.sessions.filter(status=AnnotationSession.Status.QUALIFIED).count()


def annotator_progress(annotator: Annotator, *, now: datetime | None = None) -> Progress:
    """The annotator's `Progress`, from the ORM queries above (those that its step needs)."""
    def current() -> tuple[Attempt | None, frozenset[int]]:
        attempt = annotator_current_attempt(annotator, now=now)
        if attempt is None or attempt.lecture_completed_at is None:
            return attempt, frozenset()
        return attempt, frozenset(attempt_rated_positions(attempt))

    return progress_of(annotator, current, lambda: annotator_qualified_sessions(annotator))


def annotator_page_state(annotator_id: int, campaign_slug: str, *, now: datetime | None = None) -> tuple[Annotator, Progress] | None:
    """The annotator of this id in the campaign of this slug (with `.campaign`) and their progress;
    None if there is no such annotator in that campaign. One prepared statement on PostgreSQL."""
    return store.current().page_state(annotator_id, campaign_slug, now=now or timezone.now())


def annotator_next_step(annotator: Annotator, *, now: datetime | None = None) -> Step:
    """The step the annotator must take next."""
    return annotator_progress(annotator, now=now).step


def annotator_screened_out(annotator: Annotator) -> bool:
    """Whether one of the annotator's sessions ran out of attempts (`AnnotationSession.Status.EXHAUSTED`):
    they get no new session and leave with the campaign's screen-out code."""
    return annotator.sessions.filter(status=AnnotationSession.Status.EXHAUSTED).exists()


def annotator_last_outcome(annotator: Annotator) -> str | None:
    """Outcome of the annotator's latest finished attempt, for the pages that follow a finish."""
    attempt = (
        Attempt.objects.filter(session__annotator=annotator, finished_at__isnull=False)
        .order_by("-finished_at")
        .only("outcome")
        .first()
    )
    return attempt.outcome if attempt else None

