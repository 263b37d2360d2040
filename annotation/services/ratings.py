"""Rating: one answer from the rating page, or a batch of answers of one attempt (simulated crowds, replays)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import rules, selectors, store
from ..models import Attempt, Rating
from ..store.base import Playback, SubmitResult
from ..store.orm import (
    attempt_for_submit, attempt_played_videos, rating_row, ratings_upsert, submit_checks, submit_message_params,
)


def rating_submit(
    *, annotator_id: int, token: str, score: int, typed_reason: str, playback: Playback, now: datetime | None = None
) -> SubmitResult:
    """Store the grade and reason for the position named by the page's token; returns the attempt,
    the position saved and the next one to rate.

    Idempotent: the row is keyed by (attempt, video) and written with an upsert, so a double click
    or a retry after a dropped connection stores one rating, and going back rewrites the answer. A
    refusal raises the error of the first rule of `rules.SUBMIT` that refuses, whichever store
    evaluated them; a retry of the stored answer of a finished attempt is accepted.
    """
    ticket = selectors.rating_token_read(token)
    typed_reason = (typed_reason or "").strip()
    now = now or timezone.now()
    outcome = store.current().rating_submit(annotator_id, ticket, score, typed_reason, playback, now)
    if outcome.result is not None:
        return outcome.result
    if outcome.refused is rules.SUBMIT_OPEN:
        return _late_submit(outcome.attempt, ticket.position, score, typed_reason)
    raise outcome.refused.error(**outcome.message_params)


def _late_submit(attempt: Attempt, position: int, score: int, typed_reason: str) -> SubmitResult:
    """A submit for an attempt already finished: a retry of the stored answer is fine, a change is not."""
    stored = Rating.objects.filter(attempt_id=attempt.pk, position=position).first()
    if stored is None or stored.score != score or stored.typed_reason != typed_reason:
        raise rules.SUBMIT_OPEN.error()
    return SubmitResult(attempt, position, None, selectors.attempt_rated_positions(attempt))


@dataclass(frozen=True)
class RatingInput:
    """One submission of a batch: what `rating_submit` takes for one page, with its own time."""

    token: str
    score: int
    typed_reason: str
    playback: Playback = Playback()
    now: datetime | None = None


@transaction.atomic
def ratings_submit_batch(*, annotator_id: int, items: Sequence[RatingInput]) -> SubmitResult:
    """Submissions of one attempt, each checked in order by the rules of `rules.SUBMIT`, written in one
    upsert; returns the result after the last one.

    A later item for the same position replaces an earlier one, as going back does; each item's
    time counts as activity for the idle check of the next. The batch is one transaction: the first
    refused item raises its error and nothing of the batch is stored. Simulated crowds and replays of
    recorded sessions send a whole attempt; the web page sends one answer at a time (`rating_submit`).
    """
    if not items:
        raise rules.EMPTY_BATCH.error()
    tickets = [selectors.rating_token_read(item.token) for item in items]
    if len({ticket.attempt_id for ticket in tickets}) != 1:
        raise rules.MIXED_BATCH.error()
    attempt = attempt_for_submit(tickets[0].attempt_id)
    if attempt is None:
        raise rules.SUBMIT_OWNER.error()
    session, campaign = attempt.session, attempt.session.campaign
    rows: dict[int, Rating] = {}
    last_activity = session.last_activity_at
    played = attempt_played_videos(attempt) if campaign.require_play_to_end else None
    for item, ticket in zip(items, tickets):
        now = item.now or timezone.now()
        typed_reason = (item.typed_reason or "").strip()
        checks = submit_checks(attempt, annotator_id, ticket, item.score, typed_reason, now, last_activity, played)
        refused = rules.first_refused(rules.SUBMIT, checks)
        if refused is rules.SUBMIT_OPEN:
            if rows:  # the attempt cannot close within the batch: all items are late, or none
                raise refused.error()
            result = None
            for late, late_ticket in zip(items, tickets):
                result = _late_submit(attempt, late_ticket.position, late.score, (late.typed_reason or "").strip())
            return result
        if refused is not None:
            raise refused.error(**submit_message_params(campaign, item.score))
        rows[ticket.position] = rating_row(attempt, campaign, ticket, item.score, typed_reason, item.playback, now)
        last_activity = now
    ratings_upsert(list(rows.values()), session, last_activity)
    rated = selectors.attempt_rated_positions(attempt)
    return SubmitResult.after(attempt, tickets[-1].position, rated)

