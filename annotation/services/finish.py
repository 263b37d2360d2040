"""Finishing an attempt: the checker rule, and a new attempt of the same session after a miss."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import rules, store
from ..assignment import shuffled
from ..checkers import attempt_qualifies
from ..models import Annotator, Attempt, Video
from .sessions import rng, session_exhaust


@transaction.atomic
def attempt_finish(*, annotator: Annotator, attempt_number: int, now: datetime | None = None) -> Attempt:
    """Apply the checker rule to a fully rated attempt; returns the attempt with its outcome.

    Qualified: the session is done. Disqualified (a checker more than the tolerance away from its
    gold score): the next attempt of the same session is created in a new order, lecture first;
    unless this was the campaign's last allowed attempt (`Campaign.max_attempts`), when the session
    is closed as exhausted instead, its videos released, and the annotator screened out.
    Finishing an attempt that is already finished returns it unchanged (a double click).
    """
    now = now or timezone.now()
    the_store = store.current()
    attempt = the_store.attempt_lock_for_finish(annotator.pk, attempt_number)
    if attempt is None:
        raise rules.NO_ATTEMPT.error()
    if attempt.outcome != Attempt.Outcome.IN_PROGRESS:
        return attempt
    grades = the_store.attempt_grades(attempt.pk)
    missing = len(attempt.video_order) - len(grades)
    if missing:
        raise rules.INCOMPLETE.error(missing=missing)
    checked = [(score, gold) for score, role, gold in grades if role == Video.Role.CHECKER]
    qualified = attempt_qualifies([s for s, _ in checked], [g for _, g in checked], annotator.campaign.checker_tolerance)
    attempt.finished_at = now
    attempt.outcome = Attempt.Outcome.QUALIFIED if qualified else Attempt.Outcome.DISQUALIFIED
    cap = annotator.campaign.max_attempts
    exhausted = not qualified and cap is not None and attempt.number >= cap
    next_order = None if qualified or exhausted else shuffled(attempt.video_order, rng)
    the_store.attempt_close(attempt, next_order, now)
    if exhausted:
        session_exhaust(attempt.session_id, campaign_id=annotator.campaign_id, now=now)
    return attempt
