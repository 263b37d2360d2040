"""Sessions: starting one after the lecture (assignment under the campaign's lock) and releasing idle ones."""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import rules, selectors, store
from ..assignment import pick_checkers, pick_least_rated, shuffled
from ..models import AnnotationSession, Annotator, Attempt, Campaign, SessionItem, Video
from ..steps import Step

# Session order and checker choice must not be predictable from outside.
rng = random.SystemRandom()


@transaction.atomic
def lecture_complete(*, annotator: Annotator, now: datetime | None = None) -> Attempt:
    """The annotator pressed "start" after the lecture: unlock the current attempt or start a session.
    Returns the attempt to rate.

    The annotator row is locked so a double-clicked start button cannot open two sessions.
    """
    now = now or timezone.now()
    # Lock the annotator's row first, then read where they stand: a statement that waits for a lock
    # still sees the data of its own start, so the read must come after (a second click then finds
    # the session the first one started).
    the_store = store.current()
    the_store.annotator_lock(annotator.pk)
    state = the_store.session_start_state(annotator.pk, annotator.campaign.slug, now=now)
    attempt = state.progress.attempt
    # The lecture's own condition, before a session is started or unlocked: its demos, each played
    # to the end by the server's clock since this attempt began (any time before a first session).
    if state.annotator.campaign.require_play_to_end and (attempt is None or attempt.lecture_completed_at is None):
        if selectors.annotator_demos_unplayed(state.annotator, since=attempt.started_at if attempt else None):
            raise rules.LECTURE_DEMOS_PLAYED.error()
    if attempt is None:
        # The campaign row is locked too now: start the session in this transaction.
        done = state.progress.step == Step.DONE
        return _session_start(state.annotator, state.annotator.campaign, now, done, state.idle_session_ids)
    if attempt.lecture_completed_at is None:
        attempt.lecture_completed_at = now
        attempt.save(update_fields=["lecture_completed_at"])
    return attempt


def session_start(*, annotator: Annotator, now: datetime | None = None) -> Attempt:
    """Give the annotator a new session and return its first attempt, lecture done (a session starts
    when the annotator presses start after the lecture): the least-rated regular videos plus hidden
    checkers, shuffled.

    The campaign row is locked while the loads are read and written, so two annotators starting
    together on PostgreSQL see each other's sessions and no video goes past its target. The loads
    come from per-video counters (`Video.assigned_sessions`): a read of one row per video, however
    large the study, instead of a count over every session item.
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=annotator.campaign_id)
        done = selectors.annotator_qualified_sessions(annotator) >= campaign.sessions_per_annotator
        idle = selectors.sessions_idle(campaign, now=now, annotator=annotator)
        return _session_start(annotator, campaign, now, done, idle)


def _session_start(annotator: Annotator, campaign: Campaign, now: datetime, done: bool, idle_session_ids: list[int]) -> Attempt:
    """`session_start` inside the caller's transaction, which holds the lock of `campaign` (read
    under it). `done`: every session of the annotator is qualified; `idle_session_ids`: their
    sessions still active but idle past the timeout, released here before the new one starts."""
    # The rules of `rules.SESSION_START`, in its order; the last needs the candidates.
    if not campaign.is_open:
        raise rules.CAMPAIGN_CLOSED.error()
    if selectors.annotator_screened_out(annotator):
        raise rules.ATTEMPTS_EXHAUSTED.error()
    if done:
        raise rules.NO_MORE_SESSIONS.error()
    the_store = store.current()
    if idle_session_ids:
        _sessions_expire(idle_session_ids, now=now)
    candidates = the_store.assignment_candidates(campaign, annotator, now=now)
    regular = pick_least_rated(
        candidates.regular_loads, campaign.regular_per_session, campaign.target_ratings_per_video, rng
    )
    if not regular:
        raise rules.CAMPAIGN_FULL.error()
    checkers = pick_checkers(candidates.checkers, campaign.checkers_per_session, rng)
    return the_store.session_create(campaign, annotator, regular, checkers, shuffled(regular + checkers, rng), now)


def _sessions_expire(
    session_ids: Sequence[int], *, now: datetime, status: str = AnnotationSession.Status.ABANDONED
) -> None:
    """Mark these idle sessions abandoned (or `status`, another closed one), with their open attempts,
    and take them off their videos' counters. Ratings stay stored.

    The caller holds the lock of their campaign's row: the counters change only under it, so the
    increments of a session start and these decrements never wait on each other row by row.
    """
    Attempt.objects.filter(session_id__in=session_ids, outcome=Attempt.Outcome.IN_PROGRESS).update(
        outcome=Attempt.Outcome.ABANDONED, finished_at=now
    )
    AnnotationSession.objects.filter(id__in=session_ids).update(status=status, finished_at=now)
    released = Counter(
        SessionItem.objects.filter(session_id__in=session_ids, video__role=Video.Role.REGULAR).values_list("video_id", flat=True)
    )
    # One UPDATE per distinct count: a video held by two released sessions goes down by two.
    by_count: dict[int, list[int]] = {}
    for video_id, n in released.items():
        by_count.setdefault(n, []).append(video_id)
    for n, video_ids in by_count.items():
        Video.objects.filter(id__in=video_ids).update(assigned_sessions=F("assigned_sessions") - n)


def session_exhaust(session_id: int, *, campaign_id: int, now: datetime) -> None:
    """Close a session whose last allowed attempt was disqualified (`Status.EXHAUSTED`): its videos go
    back to the pool as an abandoned session's do. Runs in the caller's transaction and takes the
    campaign's lock, under which alone the counters change."""
    Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
    _sessions_expire([session_id], now=now, status=AnnotationSession.Status.EXHAUSTED)


def sessions_release_abandoned(*, now: datetime | None = None) -> int:
    """Abandon every session idle past its campaign's timeout; returns how many."""
    now = now or timezone.now()
    released = 0
    for campaign_id in Campaign.objects.values_list("id", flat=True):
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)  # as in session_start
            ids = selectors.sessions_idle(campaign, now=now)
            if ids:
                _sessions_expire(ids, now=now)
            released += len(ids)
    return released




def sessions_release(*, campaign: Campaign, session_ids: Sequence[int], now: datetime | None = None) -> int:
    """Abandon the campaign's sessions of `session_ids` still in progress, as a researcher asks from the
    admin; their videos go back to the pool, their ratings stay. Returns how many were released."""
    now = now or timezone.now()
    with transaction.atomic():
        Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)  # as in session_start
        ids = list(campaign.sessions.filter(pk__in=session_ids, status=AnnotationSession.Status.ACTIVE)
                   .values_list("id", flat=True))
        if ids:
            _sessions_expire(ids, now=now)
    return len(ids)


def video_counters_recount(*, campaign: Campaign) -> dict[int, tuple[int, int]]:
    """Set every drifted `Video.assigned_sessions` of the campaign to its recount, under the campaign's
    lock so that no session start moves them meanwhile; returns the drift found (video -> (was, now))."""
    with transaction.atomic():
        Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
        drift = selectors.video_counter_drift(campaign)
        for video_id, (_, counted) in drift.items():
            Video.objects.filter(pk=video_id).update(assigned_sessions=counted)
    return drift
