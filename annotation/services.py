"""Every state change of the annotation workflow, each in one transaction.

Entering a campaign, consenting, giving demographics, finishing the lecture (which starts a
session), submitting a rating, finishing an attempt (the checker rule) and releasing abandoned
sessions. Views and tasks call these and nothing else writes workflow state.
"""
from __future__ import annotations

import json
import random
import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import selectors
from .assignment import pick_checkers, pick_least_rated, shuffled
from .errors import ApplicationError
from .prepared import PreparedStatement, columns, instance
from .models import (
    AnnotationSession,
    Annotator,
    Attempt,
    Campaign,
    ConsentText,
    Rating,
    SessionItem,
    Video,
)

# Session order and checker choice must not be predictable from outside.
_rng = random.SystemRandom()

# Idle timeouts are minutes long; refreshing a session's last activity at most this often spares
# a write on most submissions.
ACTIVITY_RESOLUTION = timedelta(seconds=30)

_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


# --- Entry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    source: str
    external_id: str
    platform_params: dict


def identity_from_request(params: Mapping[str, str], user) -> Identity | None:
    """The annotator's identity from crowd-platform parameters or a lab login; None for an open link.

    Prolific sends PROLIFIC_PID, STUDY_ID and SESSION_ID; MTurk sends workerId, assignmentId and
    hitId. The platform's own worker id is what binds: a returning worker resumes, whatever browser.
    """
    if params.get("PROLIFIC_PID"):
        source, external_id = Annotator.Source.PROLIFIC, params["PROLIFIC_PID"]
        extra = {k: params[k] for k in ("STUDY_ID", "SESSION_ID") if params.get(k)}
    elif params.get("workerId"):
        source, external_id = Annotator.Source.MTURK, params["workerId"]
        extra = {k: params[k] for k in ("assignmentId", "hitId", "turkSubmitTo") if params.get(k)}
    elif user is not None and user.is_authenticated:
        return Identity(Annotator.Source.LAB, str(user.pk), {"username": user.get_username()})
    else:
        return None
    if not _EXTERNAL_ID.match(external_id) or any(len(v) > 256 for v in extra.values()):
        raise ApplicationError(
            "bad_external_id",
            "The link you followed carries an invalid participant id. Open the study again from your "
            "crowd platform, or contact the researchers.",
        )
    return Identity(source, external_id, extra)


def annotator_enter(*, campaign: Campaign, identity: Identity | None, known_annotator_id: int | None, user=None) -> Annotator:
    """Find or create the annotator for this visit.

    An identity from a crowd platform or a login wins over the browser's cookie; without one the
    cookie's annotator resumes, and a new open-link annotator is created only for a new browser.
    Each branch writes at most one row, so no transaction is opened.
    """
    if identity is not None:
        user = user if identity.source == Annotator.Source.LAB else None
        if campaign.is_open:
            annotator = _annotator_create(campaign, identity, user)
            if annotator is not None:
                return annotator
        # A returning worker (or a second tab that created the row a moment ago): read it.
        annotator = Annotator.objects.filter(campaign=campaign, source=identity.source, external_id=identity.external_id).first()
        if annotator is None:
            _require_open(campaign)
            raise ApplicationError("no_annotator", "Your participant record could not be created. Open the study link again.")
        if identity.platform_params and identity.platform_params != annotator.platform_params:
            # A returning worker on a new study session: keep the latest ids for the completion step.
            annotator.platform_params = {**annotator.platform_params, **identity.platform_params}
            annotator.save(update_fields=["platform_params"])
        return annotator
    if known_annotator_id is not None:
        annotator = Annotator.objects.filter(pk=known_annotator_id, campaign=campaign).first()
        if annotator is not None:
            return annotator
    _require_open(campaign)
    return Annotator.objects.create(
        campaign=campaign, source=Annotator.Source.LINK, external_id=secrets.token_urlsafe(16)
    )


# A new crowd worker's row in one round trip, or no row when this worker is known already (ON
# CONFLICT DO NOTHING: two tabs opening the link at once get the one row, with no savepoint).
_ANNOTATOR_CREATE_STATEMENT = PreparedStatement("annotation_annotator_create", f"""
INSERT INTO annotation_annotator AS an (
    campaign_id, source, external_id, user_id, platform_params, age_group, gender, education, prior_knowledge, created_at)
VALUES (%(campaign)s, %(source)s, %(external_id)s, %(user)s, %(platform_params)s, '', '', '', '', %(now)s)
ON CONFLICT (campaign_id, source, external_id) DO NOTHING
RETURNING {columns(Annotator, "an")}
""", (
    ("campaign", "bigint"), ("source", "text"), ("external_id", "text"), ("user", "integer"),
    ("platform_params", "jsonb"), ("now", "timestamptz"),
))


def _annotator_create(campaign: Campaign, identity: Identity, user) -> Annotator | None:
    """The annotator of `identity`, created now; None if the campaign has them already."""
    if connection.vendor == "postgresql":
        rows = _ANNOTATOR_CREATE_STATEMENT.execute({
            "campaign": campaign.pk, "source": identity.source, "external_id": identity.external_id,
            "user": user.pk if user is not None else None, "platform_params": json.dumps(identity.platform_params),
            "now": timezone.now(),
        })
        if not rows:
            return None
        annotator = instance(Annotator, rows[0])
        annotator.campaign = campaign
        return annotator
    same_person = {"campaign": campaign, "source": identity.source, "external_id": identity.external_id}
    if Annotator.objects.filter(**same_person).exists():
        return None
    Annotator.objects.bulk_create(  # INSERT OR IGNORE: a second tab may have created the row a moment ago
        [Annotator(**same_person, platform_params=identity.platform_params, user=user)], ignore_conflicts=True
    )
    return Annotator.objects.get(**same_person)


def _require_open(campaign: Campaign) -> None:
    if not campaign.is_open:
        raise ApplicationError("campaign_closed", "This study is closed and takes no new participants. Thank you for your interest.")


@transaction.atomic
def consent_give(*, annotator: Annotator, consent: ConsentText, now: datetime | None = None) -> None:
    if consent.campaign_id != annotator.campaign_id:
        raise ApplicationError("bad_consent", "This consent text belongs to another study. Reload the page.")
    annotator.consent = consent
    annotator.consented_at = now or timezone.now()
    annotator.save(update_fields=["consent", "consented_at"])


@transaction.atomic
def demographics_save(
    *, annotator: Annotator, age_group: str, gender: str, education: str, prior_knowledge: str, now: datetime | None = None
) -> None:
    annotator.age_group = age_group
    annotator.gender = gender
    annotator.education = education
    annotator.prior_knowledge = prior_knowledge
    annotator.demographics_at = now or timezone.now()
    annotator.save(update_fields=["age_group", "gender", "education", "prior_knowledge", "demographics_at"])


# --- Sessions ---------------------------------------------------------------------------------


@transaction.atomic
def lecture_complete(*, annotator: Annotator, now: datetime | None = None) -> Attempt:
    """The annotator pressed "start" after the lecture: unlock the current attempt or start a session.

    The annotator row is locked so a double-clicked start button cannot open two sessions.
    """
    now = now or timezone.now()
    # Lock the annotator's row first, then read where they stand: a statement that waits for a lock
    # still sees the data of its own start, so the read must come after (a second click then finds
    # the session the first one started).
    _annotator_lock(annotator.pk)
    state = selectors.annotator_session_start_state(annotator.pk, annotator.campaign.slug, now=now)
    attempt = state.progress.attempt
    if attempt is None:
        # The campaign row is locked too now: start the session in this transaction.
        done = state.progress.step == selectors.Step.DONE
        return _session_start(state.annotator, state.annotator.campaign, now, done, state.idle_session_ids)
    if attempt.lecture_completed_at is None:
        attempt.lecture_completed_at = now
        attempt.save(update_fields=["lecture_completed_at"])
    return attempt


# FOR NO KEY UPDATE, here and on the campaign: it excludes another session start or release, while
# the foreign-key checks of rows pointing at the locked row (FOR KEY SHARE: a new annotator's insert
# under the campaign) go on; plain FOR UPDATE made every new annotator's entry wait for the session
# start in progress.
_ANNOTATOR_LOCK = PreparedStatement(
    "annotation_annotator_lock", "SELECT 1 FROM annotation_annotator WHERE id = %(annotator)s FOR NO KEY UPDATE",
    (("annotator", "bigint"),),
)


def _annotator_lock(annotator_id: int) -> None:
    if connection.vendor == "postgresql":
        _ANNOTATOR_LOCK.execute({"annotator": annotator_id})
    # SQLite serializes writing transactions as a whole: there is no row lock to take.


def session_start(*, annotator: Annotator, now: datetime | None = None) -> Attempt:
    """Give the annotator a new session and return its first attempt, lecture done (a session starts
    when the annotator presses start after the lecture): the least-rated regular videos plus hidden
    checkers, shuffled.

    The campaign row is locked while the loads are read and written, so two annotators starting
    together on PostgreSQL see each other's sessions and no video goes past its target. The loads
    come from per-video counters (`selectors.assignment_candidates`): a read of one row per video,
    however large the study, instead of a count over every session item.
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
    _require_open(campaign)
    if done:
        raise ApplicationError("no_more_sessions", "You have completed every session of this study. Thank you!")
    if idle_session_ids:
        _sessions_expire(idle_session_ids, now=now)
    candidates = selectors.assignment_candidates(campaign, annotator, now=now)
    regular = pick_least_rated(
        candidates.regular_loads, campaign.regular_per_session, campaign.target_ratings_per_video, _rng
    )
    if not regular:
        raise ApplicationError(
            "campaign_full",
            "Every video of this study already has all the ratings it needs. Thank you for your interest.",
        )
    checkers = pick_checkers(candidates.checkers, campaign.checkers_per_session, _rng)
    create = _session_create_one_statement if connection.vendor == "postgresql" else _session_create_orm
    return create(campaign, annotator, regular, checkers, shuffled(regular + checkers, _rng), now)


# A new session with its items, its first attempt (lecture done) and the regular videos' counters,
# in one round trip: four ORM statements otherwise, run while every other session start of the
# campaign waits for its lock. `started_at` is the time of writing, as the models' auto_now_add.
_SESSION_CREATE_STATEMENT = PreparedStatement("annotation_session_create", f"""
WITH s AS (
    INSERT INTO annotation_annotationsession (campaign_id, annotator_id, status, started_at, last_activity_at)
    VALUES (%(campaign)s, %(annotator)s, 'active', now(), %(now)s)
    RETURNING *
),
items AS (
    INSERT INTO annotation_sessionitem (session_id, video_id)
    SELECT s.id, video FROM s, unnest(%(videos)s) AS video
),
counted AS (
    UPDATE annotation_video SET assigned_sessions = assigned_sessions + 1 WHERE id = ANY(%(regular)s)
),
a AS (
    INSERT INTO annotation_attempt (session_id, number, video_order, outcome, lecture_completed_at, started_at)
    SELECT s.id, 1, %(order)s, 'in_progress', %(now)s, now() FROM s
    RETURNING *
)
SELECT {columns(Attempt, "a")}, {columns(AnnotationSession, "s")} FROM a, s
""", (
    ("campaign", "bigint"), ("annotator", "bigint"), ("now", "timestamptz"), ("videos", "bigint[]"),
    ("regular", "bigint[]"), ("order", "jsonb"),
))


def _session_create_one_statement(
    campaign: Campaign, annotator: Annotator, regular: list[int], checkers: list[int], order: list[int], now: datetime
) -> Attempt:
    """Store a new session of `regular` and `checkers` shown in `order`; its first attempt, with `.session`."""
    row = _SESSION_CREATE_STATEMENT.execute({
        "campaign": campaign.pk, "annotator": annotator.pk, "now": now, "videos": regular + checkers,
        "regular": regular, "order": json.dumps(order),
    })[0]
    width = len(Attempt._meta.concrete_fields)
    attempt = instance(Attempt, row[:width])
    attempt.session = instance(AnnotationSession, row[width:])
    return attempt


def _session_create_orm(
    campaign: Campaign, annotator: Annotator, regular: list[int], checkers: list[int], order: list[int], now: datetime
) -> Attempt:
    session = AnnotationSession.objects.create(campaign=campaign, annotator=annotator, last_activity_at=now)
    SessionItem.objects.bulk_create(SessionItem(session=session, video_id=v) for v in regular + checkers)
    attempt = Attempt.objects.create(session=session, number=1, video_order=order, lecture_completed_at=now)
    Video.objects.filter(id__in=regular).update(assigned_sessions=F("assigned_sessions") + 1)
    return attempt


def _sessions_expire(session_ids: Sequence[int], *, now: datetime) -> None:
    """Mark these idle sessions abandoned, with their open attempts, and take them off their videos'
    counters. Ratings stay stored.

    The caller holds the lock of their campaign's row: the counters change only under it, so the
    increments of a session start and these decrements never wait on each other row by row.
    """
    Attempt.objects.filter(session_id__in=session_ids, outcome=Attempt.Outcome.IN_PROGRESS).update(
        outcome=Attempt.Outcome.ABANDONED, finished_at=now
    )
    AnnotationSession.objects.filter(id__in=session_ids).update(status=AnnotationSession.Status.ABANDONED, finished_at=now)
    released = Counter(
        SessionItem.objects.filter(session_id__in=session_ids, video__role=Video.Role.REGULAR).values_list("video_id", flat=True)
    )
    # One UPDATE per distinct count: a video held by two released sessions goes down by two.
    by_count: dict[int, list[int]] = {}
    for video_id, n in released.items():
        by_count.setdefault(n, []).append(video_id)
    for n, video_ids in by_count.items():
        Video.objects.filter(id__in=video_ids).update(assigned_sessions=F("assigned_sessions") - n)


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


# --- Rating -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Playback:
    """What the player saw of the annotator: facts for the analysis, never a condition to submit."""

    played_to_end: bool = False
    plays: int = 0
    seeks: int = 0
    fullscreen: bool = False


@dataclass(frozen=True)
class SubmitResult:
    attempt: Attempt
    rating_position: int
    next_position: int | None
    rated: set[int]


def rating_submit(
    *, annotator_id: int, token: str, score: int, typed_reason: str, playback: Playback, now: datetime | None = None
) -> SubmitResult:
    """Store the grade and reason for the position named by the page's token.

    Idempotent: the row is keyed by (attempt, video) and written with an upsert, so a double click
    or a retry after a dropped connection stores one rating, and going back rewrites the answer.
    On PostgreSQL an accepted answer is one SQL statement (`_rating_upsert_one_statement`); an
    answer it does not store, and every answer on SQLite, goes through `ratings_submit_batch` as a
    batch of one, which applies the rules in Python and names the one that refuses.
    """
    ticket = selectors.rating_token_read(token)
    typed_reason = (typed_reason or "").strip()
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        result = _rating_upsert_one_statement(annotator_id, ticket, score, typed_reason, playback, now)
        if result is not None:
            return result
    item = RatingInput(token=token, score=score, typed_reason=typed_reason, playback=playback, now=now)
    return ratings_submit_batch(annotator_id=annotator_id, items=[item])


# The submit of the rating page, the one request an annotator makes forty times a session, in one
# round trip: `target` is the attempt when every rule of `ratings_submit_batch` lets the answer in
# (owner, position, attempt and session open, session not idle, lecture taken, grade, reason long
# enough), `saved` upserts the rating, `touched` refreshes the session's last activity at most every
# ACTIVITY_RESOLUTION, and the result is the attempt with the positions rated before this answer.
# FOR KEY SHARE makes a concurrent `attempt_finish` (FOR UPDATE) wait, or this statement re-read the
# finished attempt and store nothing. No row back means some rule refused: the caller lets the
# batch path say which.
_SUBMIT_SQL = f"""
WITH target AS (
    SELECT {columns(Attempt, "a")},
           (a.video_order ->> (%(position)s - 1))::bigint AS video_id,
           c.grade5_reason
    FROM annotation_attempt a
    JOIN annotation_annotationsession s ON s.id = a.session_id
    JOIN annotation_campaign c ON c.id = s.campaign_id
    WHERE a.id = %(attempt)s
      AND s.annotator_id = %(annotator)s
      AND %(position)s BETWEEN 1 AND jsonb_array_length(a.video_order)
      AND a.outcome = 'in_progress' AND s.status = 'active'
      AND s.last_activity_at >= %(now)s - make_interval(mins => c.session_timeout_minutes)
      AND a.lecture_completed_at IS NOT NULL
      AND %(score)s BETWEEN 1 AND 5
      AND char_length(%(typed_reason)s) >= c.min_reason_length
    FOR KEY SHARE OF a
),
saved AS (
    INSERT INTO annotation_rating (
        attempt_id, video_id, position, score, reason, typed_reason, served_at, seconds_spent,
        played_to_end, plays, seeks, fullscreen, created_at, updated_at)
    SELECT id, video_id, %(position)s, %(score)s,
           CASE WHEN %(score)s = 5 THEN grade5_reason ELSE %(typed_reason)s END, %(typed_reason)s,
           %(served_at)s, %(seconds_spent)s, %(played_to_end)s, %(plays)s, %(seeks)s, %(fullscreen)s,
           %(now)s, %(now)s
    FROM target
    ON CONFLICT (attempt_id, video_id) DO UPDATE SET
        score = EXCLUDED.score, reason = EXCLUDED.reason, typed_reason = EXCLUDED.typed_reason,
        served_at = EXCLUDED.served_at, seconds_spent = EXCLUDED.seconds_spent,
        played_to_end = EXCLUDED.played_to_end, plays = EXCLUDED.plays, seeks = EXCLUDED.seeks,
        fullscreen = EXCLUDED.fullscreen, updated_at = EXCLUDED.updated_at
    RETURNING 1
),
touched AS (
    UPDATE annotation_annotationsession SET last_activity_at = %(now)s
    WHERE id = (SELECT session_id FROM target) AND last_activity_at <= %(now)s - %(resolution)s
    RETURNING 1
)
SELECT {columns(Attempt, "t")},
       ARRAY(SELECT r.position FROM annotation_rating r WHERE r.attempt_id = t.id)
FROM target t
"""


_SUBMIT_STATEMENT = PreparedStatement("annotation_rating_submit", _SUBMIT_SQL, (
    ("attempt", "bigint"), ("annotator", "bigint"), ("position", "integer"), ("score", "integer"),
    ("typed_reason", "text"), ("served_at", "timestamptz"), ("seconds_spent", "double precision"),
    ("played_to_end", "boolean"), ("plays", "integer"), ("seeks", "integer"), ("fullscreen", "boolean"),
    ("now", "timestamptz"), ("resolution", "interval"),
))


def _rating_upsert_one_statement(
    annotator_id: int, ticket: selectors.RatingToken, score: int, typed_reason: str, playback: Playback, now: datetime
) -> SubmitResult | None:
    """Store one answer with `_SUBMIT_SQL`; None when a rule refuses it (nothing is then stored)."""
    params = {
        "attempt": ticket.attempt_id, "annotator": annotator_id, "position": ticket.position, "score": score,
        "typed_reason": typed_reason, "served_at": ticket.served_at,
        "seconds_spent": max((now - ticket.served_at).total_seconds(), 0.0),
        "played_to_end": playback.played_to_end, "plays": playback.plays, "seeks": playback.seeks,
        "fullscreen": playback.fullscreen, "now": now, "resolution": ACTIVITY_RESOLUTION,
    }
    rows = _SUBMIT_STATEMENT.execute(params)
    if not rows:
        return None
    *attempt_columns, positions = rows[0]
    attempt = instance(Attempt, attempt_columns)
    rated = set(positions) | {ticket.position}
    return SubmitResult(attempt, ticket.position, selectors.first_unrated_position(attempt, rated), rated)


def _validate_rating(campaign: Campaign, score: int, typed_reason: str) -> None:
    if score not in (1, 2, 3, 4, 5):
        raise ApplicationError("bad_score", "Pick one of the five grades (keys 1 to 5).")
    if len(typed_reason) < campaign.min_reason_length:
        what = "the person in the video" if score == 5 else "why you chose this grade"
        raise ApplicationError(
            "reason_too_short",
            f"Please describe {what} in at least {campaign.min_reason_length} characters.",
        )


def _late_submit(attempt: Attempt, position: int, score: int, typed_reason: str) -> SubmitResult:
    """A submit for an attempt already finished: a retry of the stored answer is fine, a change is not."""
    stored = Rating.objects.filter(attempt=attempt, position=position).first()
    if stored is None or stored.score != score or stored.typed_reason != typed_reason:
        raise ApplicationError(
            "attempt_finished",
            "This session is already finished, so its answers can no longer be changed.",
            status=409,
        )
    rated = selectors.attempt_rated_positions(attempt)
    return SubmitResult(attempt, position, None, rated)


# --- Finishing --------------------------------------------------------------------------------


@transaction.atomic
def attempt_finish(*, annotator: Annotator, attempt_number: int, now: datetime | None = None) -> Attempt:
    """Apply the checker rule to a fully rated attempt.

    Qualified: the session is done. Disqualified (a checker more than the tolerance away from its
    gold score): the next attempt of the same session is created in a new order, lecture first.
    Finishing an attempt that is already finished returns it unchanged (a double click).
    """
    now = now or timezone.now()
    attempt = _attempt_lock_for_finish(annotator, attempt_number)
    if attempt is None:
        raise ApplicationError("no_attempt", "There is no session to finish. Open the study link again.", status=404)
    if attempt.outcome != Attempt.Outcome.IN_PROGRESS:
        return attempt
    grades = _attempt_grades(attempt)
    missing = len(attempt.video_order) - len(grades)
    if missing:
        raise ApplicationError("incomplete", f"{missing} video(s) still need a grade before you can finish.", status=409)
    tolerance = annotator.campaign.checker_tolerance
    missed = [score for score, role, gold in grades if role == Video.Role.CHECKER and abs(score - gold) > tolerance]
    attempt.finished_at = now
    attempt.outcome = Attempt.Outcome.DISQUALIFIED if missed else Attempt.Outcome.QUALIFIED
    next_order = shuffled(attempt.video_order, _rng) if missed else None
    close = _attempt_close_one_statement if connection.vendor == "postgresql" else _attempt_close_orm
    close(attempt, next_order, now)
    return attempt


# The finish's reads and writes as prepared statements: the annotator's attempt of that number
# (in their latest session holding one), locked FOR UPDATE, which a concurrent submit's FOR KEY
# SHARE waits for; the grades with the roles and gold scores of their videos; and the writes.
_FINISH_LOCK_STATEMENT = PreparedStatement("annotation_finish_lock", f"""
SELECT {columns(Attempt, "a")}
FROM annotation_attempt a JOIN annotation_annotationsession s ON s.id = a.session_id
WHERE s.annotator_id = %(annotator)s AND a.number = %(number)s
ORDER BY s.started_at DESC
LIMIT 1
FOR UPDATE OF a
""", (("annotator", "bigint"), ("number", "integer")))
_FINISH_GRADES_STATEMENT = PreparedStatement("annotation_finish_grades", """
SELECT r.score, v.role, v.gold_score
FROM annotation_rating r JOIN annotation_video v ON v.id = r.video_id
WHERE r.attempt_id = %(attempt)s
""", (("attempt", "bigint"),))


def _attempt_lock_for_finish(annotator: Annotator, number: int) -> Attempt | None:
    if connection.vendor == "postgresql":
        rows = _FINISH_LOCK_STATEMENT.execute({"annotator": annotator.pk, "number": number})
        return instance(Attempt, rows[0]) if rows else None
    return (
        Attempt.objects.select_for_update(of=("self",))
        .filter(session__annotator=annotator, number=number)
        .order_by("-session__started_at")
        .first()
    )


def _attempt_grades(attempt: Attempt) -> list[tuple[int, str, int | None]]:
    """(score, video role, gold score) of every rating of the attempt."""
    if connection.vendor == "postgresql":
        return _FINISH_GRADES_STATEMENT.execute({"attempt": attempt.pk})
    return list(
        Rating.objects.filter(attempt_id=attempt.pk).order_by().values_list("score", "video__role", "video__gold_score")
    )


# Store the outcome in one round trip: the attempt's outcome; for a disqualified one, the next
# attempt of the session in `next_order` (lecture first); and the session, qualified or still active.
_FINISH_CLOSE_STATEMENT = PreparedStatement("annotation_finish_close", """
WITH closed AS (
    UPDATE annotation_attempt SET outcome = %(outcome)s, finished_at = %(now)s WHERE id = %(attempt)s
),
next_attempt AS (
    INSERT INTO annotation_attempt (session_id, number, video_order, outcome, started_at)
    SELECT %(session)s, %(number)s + 1, %(next_order)s, 'in_progress', now()
    WHERE %(next_order)s IS NOT NULL
)
UPDATE annotation_annotationsession SET
    status = CASE WHEN %(outcome)s = 'qualified' THEN 'qualified' ELSE status END,
    finished_at = CASE WHEN %(outcome)s = 'qualified' THEN %(now)s ELSE finished_at END,
    last_activity_at = %(now)s
WHERE id = %(session)s
""", (
    ("attempt", "bigint"), ("session", "bigint"), ("number", "integer"), ("outcome", "text"),
    ("next_order", "jsonb"), ("now", "timestamptz"),
))


def _attempt_close_one_statement(attempt: Attempt, next_order: list[int] | None, now: datetime) -> None:
    _FINISH_CLOSE_STATEMENT.execute({
        "attempt": attempt.pk, "session": attempt.session_id, "number": attempt.number, "outcome": attempt.outcome,
        "next_order": None if next_order is None else json.dumps(next_order), "now": now,
    }, rows=False)


def _attempt_close_orm(attempt: Attempt, next_order: list[int] | None, now: datetime) -> None:
    attempt.save(update_fields=["outcome", "finished_at"])
    sessions = AnnotationSession.objects.filter(pk=attempt.session_id)
    if next_order is not None:
        Attempt.objects.create(session_id=attempt.session_id, number=attempt.number + 1, video_order=next_order)
        sessions.update(last_activity_at=now)
    else:
        sessions.update(status=AnnotationSession.Status.QUALIFIED, finished_at=now, last_activity_at=now)


# --- Batches ----------------------------------------------------------------------------------


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
    """Submissions of one attempt, each checked in order, written in one upsert (the one submit path).

    Per item, in this order: the token and its owner, the position, a finished attempt (a retry of
    the stored answer is fine, a change is refused), the session idle past the timeout since the
    previous item, the lecture, the grade and the reason. A later item for the same position
    replaces an earlier one, as going back does. The batch is one transaction: the first refused
    item raises its error and nothing of the batch is stored. The web page sends batches of one
    (`rating_submit`); simulated crowds and replays of recorded sessions send a whole attempt.
    """
    if not items:
        raise ApplicationError("empty_batch", "There is nothing to save.")
    tickets = [selectors.rating_token_read(item.token) for item in items]
    if len({ticket.attempt_id for ticket in tickets}) != 1:
        raise ApplicationError("bad_token", "These answers belong to different sessions. Reload the page and rate again.")
    attempt = Attempt.objects.select_related("session__campaign").filter(pk=tickets[0].attempt_id).first()
    if attempt is None or attempt.session.annotator_id != annotator_id:
        raise ApplicationError("bad_token", "This page belongs to another participant. Open the study link again.", status=403)
    session, campaign = attempt.session, attempt.session.campaign
    if any(not 1 <= ticket.position <= len(attempt.video_order) for ticket in tickets):
        raise ApplicationError("bad_token", "This page is out of date. Reload it and rate the video again.")
    if attempt.outcome != Attempt.Outcome.IN_PROGRESS or session.status != AnnotationSession.Status.ACTIVE:
        result = None
        for item, ticket in zip(items, tickets):
            result = _late_submit(attempt, ticket.position, item.score, (item.typed_reason or "").strip())
        return result
    rows: dict[int, Rating] = {}
    last_activity = session.last_activity_at
    for item, ticket in zip(items, tickets):
        now = item.now or timezone.now()
        if last_activity < selectors.session_idle_cutoff(campaign, now):
            raise ApplicationError(
                "session_expired",
                f"Your session was idle for more than {campaign.session_timeout_minutes} minutes and has been "
                "closed; the answers you gave are kept. Open the study link again to continue with a new session.",
                status=409,
            )
        if attempt.lecture_completed_at is None:
            raise ApplicationError("lecture_first", "Please take the lecture before rating.", status=409)
        typed_reason = (item.typed_reason or "").strip()
        _validate_rating(campaign, item.score, typed_reason)
        rows[ticket.position] = Rating(
            attempt=attempt,
            video_id=attempt.video_order[ticket.position - 1],
            position=ticket.position,
            score=item.score,
            reason=campaign.grade5_reason if item.score == 5 else typed_reason,
            typed_reason=typed_reason,
            served_at=ticket.served_at,
            seconds_spent=max((now - ticket.served_at).total_seconds(), 0.0),
            played_to_end=item.playback.played_to_end,
            plays=item.playback.plays,
            seeks=item.playback.seeks,
            fullscreen=item.playback.fullscreen,
        )
        last_activity = now
    Rating.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["attempt", "video"],
        update_fields=[
            "score", "reason", "typed_reason", "served_at", "seconds_spent",
            "played_to_end", "plays", "seeks", "fullscreen", "updated_at",
        ],
    )
    if last_activity - session.last_activity_at >= ACTIVITY_RESOLUTION:
        AnnotationSession.objects.filter(pk=session.pk).update(last_activity_at=last_activity)
    rated = selectors.attempt_rated_positions(attempt)
    return SubmitResult(attempt, tickets[-1].position, selectors.first_unrated_position(attempt, rated), rated)
