"""The store on PostgreSQL: each request of the hot path in one prepared statement.

Row locks replace SQLite's whole-database writer lock: FOR NO KEY UPDATE on the annotator and the
campaign (a session start), FOR KEY SHARE on the attempt a submit writes to and FOR UPDATE on the
attempt being finished. The submit statement evaluates every rule of `rules.SUBMIT` and returns
one boolean column per rule, named as the rule, so a refusal is mapped by the same table as on the
ORM store and never needs a second round trip to be explained.
"""
from __future__ import annotations

import json


from .. import rules
from ..models import AnnotationSession, Annotator, Attempt, Campaign, Rating, SessionItem, Video, VideoPlay
from ..selectors.progress import session_idle_cutoff
from ..steps import progress_of
from . import orm
from .base import AssignmentCandidates, SessionStartState, SubmitOutcome, SubmitResult
from .statements import PreparedStatement, columns, instance, literal, table

ANNOTATOR, CAMPAIGN, SESSION = table(Annotator), table(Campaign), table(AnnotationSession)
ATTEMPT, ITEM, RATING, VIDEO = table(Attempt), table(SessionItem), table(Rating), table(Video)
PLAY = table(VideoPlay)
ACTIVE, QUALIFIED = literal(AnnotationSession.Status.ACTIVE), literal(AnnotationSession.Status.QUALIFIED)
IN_PROGRESS = literal(Attempt.Outcome.IN_PROGRESS)
REGULAR, CHECKER = literal(Video.Role.REGULAR), literal(Video.Role.CHECKER)

# --- Entry ------------------------------------------------------------------------------------

# A person's row, consented, in one round trip, or no row when this identity is known already (ON
# CONFLICT DO NOTHING: a consent form submitted twice at once gets the one row, with no savepoint).
ANNOTATOR_CREATE = PreparedStatement("annotation_annotator_create", f"""
INSERT INTO {ANNOTATOR} AS an (
    campaign_id, source, external_id, user_id, platform_params, consent_id, consented_at, entry_token,
    age_group, gender, education, prior_knowledge, created_at)
VALUES (%(campaign)s, %(source)s, %(external_id)s, %(user)s, %(platform_params)s, %(consent)s, %(now)s, %(entry_token)s,
    '', '', '', '', %(now)s)
ON CONFLICT (campaign_id, source, external_id) DO NOTHING
RETURNING {columns(Annotator, "an")}
""", (
    ("campaign", "bigint"), ("source", "text"), ("external_id", "text"), ("user", "integer"),
    ("platform_params", "jsonb"), ("consent", "bigint"), ("now", "timestamptz"), ("entry_token", "text"),
))

# FOR NO KEY UPDATE, here and on the campaign: it excludes another session start or release, while
# the foreign-key checks of rows pointing at the locked row (FOR KEY SHARE: a new annotator's insert
# under the campaign) go on; plain FOR UPDATE made every new annotator's entry wait for the session
# start in progress.
ANNOTATOR_LOCK = PreparedStatement(
    "annotation_annotator_lock", f"SELECT 1 FROM {ANNOTATOR} WHERE id = %(annotator)s FOR NO KEY UPDATE",
    (("annotator", "bigint"),),
)

# --- The annotator pages' one statement -------------------------------------------------------

# What every annotator page needs first, in one round trip: the annotator of the cookie (if it
# belongs to this campaign), the campaign, the current attempt and its session (the latest attempt
# of the annotator's active session, unless idle past the timeout), the positions rated in it and
# the annotator's qualified sessions. Three to four ORM queries otherwise.
_PAGE_STATE_COLUMNS = f"""
SELECT {columns(Annotator, "an")}, {columns(Campaign, "c")},
       {columns(AnnotationSession, "s")}, {columns(Attempt, "a")},
       ARRAY(SELECT r.position FROM {RATING} r WHERE r.attempt_id = a.id),
       (SELECT count(*) FROM {SESSION} q WHERE q.annotator_id = an.id AND q.status = {QUALIFIED})"""
_PAGE_STATE_FROM = f"""
FROM {ANNOTATOR} an
JOIN {CAMPAIGN} c ON c.id = an.campaign_id
LEFT JOIN LATERAL (
    SELECT la.id FROM {ATTEMPT} la
    JOIN {SESSION} ls ON ls.id = la.session_id
    WHERE ls.annotator_id = an.id AND ls.status = {ACTIVE}
      AND ls.last_activity_at >= %(now)s - make_interval(mins => c.session_timeout_minutes)
    ORDER BY ls.started_at DESC, la.number DESC
    LIMIT 1
) current ON TRUE
LEFT JOIN {ATTEMPT} a ON a.id = current.id
LEFT JOIN {SESSION} s ON s.id = a.session_id
WHERE an.id = %(annotator)s AND c.slug = %(slug)s
"""
_PAGE_STATE_PARAMS = (("annotator", "bigint"), ("slug", "text"), ("now", "timestamptz"))
PAGE_STATE = PreparedStatement("annotation_page_state", _PAGE_STATE_COLUMNS + _PAGE_STATE_FROM, _PAGE_STATE_PARAMS)
# The same for a session start, which the annotator's row lock already serializes: it also locks
# the campaign row (FOR NO KEY UPDATE) and lists the annotator's sessions still marked active but
# idle past the timeout, which the new session replaces. Waiting for the campaign lock leaves the
# other rows as of the statement's start, which is safe here: they are the annotator's own, and the
# caller's lock on the annotator keeps them from changing.
SESSION_START_STATE = PreparedStatement(
    "annotation_session_start_state",
    _PAGE_STATE_COLUMNS + f""",
       ARRAY(SELECT i.id FROM {SESSION} i
             WHERE i.annotator_id = an.id AND i.status = {ACTIVE}
               AND i.last_activity_at < %(now)s - make_interval(mins => c.session_timeout_minutes))"""
    + _PAGE_STATE_FROM + "FOR NO KEY UPDATE OF c\n",
    _PAGE_STATE_PARAMS,
)


def _page_state_from_row(row: tuple) -> tuple[Annotator, object, tuple]:
    """The annotator and progress from a row of `_PAGE_STATE_COLUMNS`, and the columns after them."""
    widths = [len(m._meta.concrete_fields) for m in (Annotator, Campaign, AnnotationSession, Attempt)]
    parts, start = [], 0
    for width in widths:
        parts.append(row[start:start + width])
        start += width
    rated, qualified = row[start], row[start + 1]
    annotator = instance(Annotator, parts[0])
    annotator.campaign = instance(Campaign, parts[1])
    attempt = None
    if parts[3][0] is not None:  # the attempt's id: NULL when there is no current attempt
        attempt = instance(Attempt, parts[3])
        attempt.session = instance(AnnotationSession, parts[2])
    progress = progress_of(annotator, lambda: (attempt, frozenset(rated)), lambda: qualified)
    return annotator, progress, row[start + 2:]


# --- Assignment -------------------------------------------------------------------------------

# The campaign's regular and checker videos the annotator has never been given, each regular one
# with its counter less the idle sessions' hold on it (the sessions idle past the timeout that the
# release task has not marked yet). A video without a file is never assigned.
CANDIDATES = PreparedStatement("annotation_assignment_candidates", f"""
SELECT v.id, v.role, v.assigned_sessions - coalesce(idle.held, 0)
FROM {VIDEO} v
LEFT JOIN (
    SELECT si.video_id, count(*) AS held
    FROM {ITEM} si JOIN {SESSION} s ON s.id = si.session_id
    WHERE s.campaign_id = %(campaign)s AND s.status = {ACTIVE} AND s.last_activity_at < %(cutoff)s
    GROUP BY si.video_id
) idle ON idle.video_id = v.id
WHERE v.campaign_id = %(campaign)s AND v.role IN ({REGULAR}, {CHECKER}) AND v.file <> ''
  AND NOT EXISTS (
    SELECT 1 FROM {ITEM} mine JOIN {SESSION} ms ON ms.id = mine.session_id
    WHERE ms.annotator_id = %(annotator)s AND mine.video_id = v.id
  )
""", (("campaign", "bigint"), ("annotator", "bigint"), ("cutoff", "timestamptz")))

# A new session with its items, its first attempt (lecture done) and the regular videos' counters,
# in one round trip: four ORM statements otherwise, run while every other session start of the
# campaign waits for its lock. `started_at` is the time of writing, as the models' auto_now_add.
SESSION_CREATE = PreparedStatement("annotation_session_create", f"""
WITH s AS (
    INSERT INTO {SESSION} (campaign_id, annotator_id, status, started_at, last_activity_at)
    VALUES (%(campaign)s, %(annotator)s, {ACTIVE}, now(), %(now)s)
    RETURNING *
),
items AS (
    INSERT INTO {ITEM} (session_id, video_id)
    SELECT s.id, video FROM s, unnest(%(videos)s) AS video
),
counted AS (
    UPDATE {VIDEO} SET assigned_sessions = assigned_sessions + 1 WHERE id = ANY(%(regular)s)
),
a AS (
    INSERT INTO {ATTEMPT} (session_id, number, video_order, outcome, lecture_completed_at, started_at)
    SELECT s.id, 1, %(order)s, {IN_PROGRESS}, %(now)s, now() FROM s
    RETURNING *
)
SELECT {columns(Attempt, "a")}, {columns(AnnotationSession, "s")} FROM a, s
""", (
    ("campaign", "bigint"), ("annotator", "bigint"), ("now", "timestamptz"), ("videos", "bigint[]"),
    ("regular", "bigint[]"), ("order", "jsonb"),
))

# --- Rating submit ----------------------------------------------------------------------------

# The submit of the rating page, the one request an annotator makes forty times a session, in one
# round trip. `target` reads the attempt of the token with one boolean per rule of `rules.SUBMIT`,
# each named as its rule; `saved` upserts the rating when all hold, `touched` refreshes the
# session's last activity at most every ACTIVITY_RESOLUTION, and the result is the attempt, the
# rule columns and the positions rated before this answer. FOR KEY SHARE makes a concurrent
# `attempt_finish` (FOR UPDATE) wait, or this statement re-read the finished attempt and store
# nothing. No row back: the token names no attempt.
_RULE_COLUMNS = {
    rules.SUBMIT_OWNER.name: "s.annotator_id = %(annotator)s",
    rules.SUBMIT_POSITION.name: "%(position)s BETWEEN 1 AND jsonb_array_length(a.video_order)",
    rules.SUBMIT_OPEN.name: f"a.outcome = {IN_PROGRESS} AND s.status = {ACTIVE}",
    rules.SUBMIT_ACTIVE.name: "s.last_activity_at >= %(now)s - make_interval(mins => c.session_timeout_minutes)",
    rules.SUBMIT_LECTURE.name: "a.lecture_completed_at IS NOT NULL",
    # One index probe (video_play_unique) and only where the campaign requires it: orm.attempt_played_videos.
    rules.SUBMIT_PLAYED.name: f"""NOT c.require_play_to_end OR EXISTS (
        SELECT 1 FROM {PLAY} p WHERE p.annotator_id = s.annotator_id
          AND p.video_id = (a.video_order ->> (%(position)s - 1))::bigint AND p.ended_at >= a.started_at)""",
    rules.SUBMIT_SCORE.name: "%(score)s BETWEEN 1 AND 5",
    rules.SUBMIT_REASON.name: "%(reason_length)s >= c.min_reason_length",  # rules.visible_length
}
assert list(_RULE_COLUMNS) == [rule.name for rule in rules.SUBMIT], "one column per rule, in the table's order"
_ACCEPTED = " AND ".join(f"t.{name}" for name in _RULE_COLUMNS)
SUBMIT = PreparedStatement("annotation_rating_submit", f"""
WITH target AS (
    SELECT {columns(Attempt, "a")},
           {", ".join(f"coalesce({sql}, FALSE) AS {name}" for name, sql in _RULE_COLUMNS.items())},
           (a.video_order ->> (%(position)s - 1))::bigint AS video_id,
           c.grade5_reason, c.session_timeout_minutes, c.min_reason_length
    FROM {ATTEMPT} a
    JOIN {SESSION} s ON s.id = a.session_id
    JOIN {CAMPAIGN} c ON c.id = s.campaign_id
    WHERE a.id = %(attempt)s
    FOR KEY SHARE OF a
),
saved AS (
    INSERT INTO {RATING} (
        attempt_id, video_id, position, score, reason, typed_reason, served_at, seconds_spent,
        played_to_end, plays, seeks, fullscreen, created_at, updated_at)
    SELECT t.id, t.video_id, %(position)s, %(score)s,
           CASE WHEN %(score)s = 5 THEN t.grade5_reason ELSE %(typed_reason)s END, %(typed_reason)s,
           %(served_at)s, %(seconds_spent)s, %(played_to_end)s, %(plays)s, %(seeks)s, %(fullscreen)s,
           %(now)s, %(now)s
    FROM target t WHERE {_ACCEPTED}
    ON CONFLICT (attempt_id, video_id) DO UPDATE SET
        score = EXCLUDED.score, reason = EXCLUDED.reason, typed_reason = EXCLUDED.typed_reason,
        served_at = EXCLUDED.served_at, seconds_spent = EXCLUDED.seconds_spent,
        played_to_end = EXCLUDED.played_to_end, plays = EXCLUDED.plays, seeks = EXCLUDED.seeks,
        fullscreen = EXCLUDED.fullscreen, updated_at = EXCLUDED.updated_at
    RETURNING 1
),
touched AS (
    UPDATE {SESSION} SET last_activity_at = %(now)s
    WHERE id = (SELECT t.session_id FROM target t WHERE {_ACCEPTED})
      AND last_activity_at <= %(now)s - %(resolution)s
    RETURNING 1
)
SELECT {columns(Attempt, "t")}, {", ".join(f"t.{name}" for name in _RULE_COLUMNS)},
       t.session_timeout_minutes, t.min_reason_length,
       ARRAY(SELECT r.position FROM {RATING} r WHERE r.attempt_id = t.id)
FROM target t
""", (
    ("attempt", "bigint"), ("annotator", "bigint"), ("position", "integer"), ("score", "integer"),
    ("typed_reason", "text"), ("served_at", "timestamptz"), ("seconds_spent", "double precision"),
    ("played_to_end", "boolean"), ("plays", "integer"), ("seeks", "integer"), ("fullscreen", "boolean"),
    ("now", "timestamptz"), ("resolution", "interval"), ("reason_length", "integer"),
))

# --- Finish -----------------------------------------------------------------------------------

# The annotator's attempt of that number (in their latest session holding one), locked FOR UPDATE,
# which a concurrent submit's FOR KEY SHARE waits for; the grades with the roles and gold scores of
# their videos; and the writes.
FINISH_LOCK = PreparedStatement("annotation_finish_lock", f"""
SELECT {columns(Attempt, "a")}
FROM {ATTEMPT} a JOIN {SESSION} s ON s.id = a.session_id
WHERE s.annotator_id = %(annotator)s AND a.number = %(number)s
ORDER BY s.started_at DESC
LIMIT 1
FOR UPDATE OF a
""", (("annotator", "bigint"), ("number", "integer")))
FINISH_GRADES = PreparedStatement("annotation_finish_grades", f"""
SELECT r.score, v.role, v.gold_score
FROM {RATING} r JOIN {VIDEO} v ON v.id = r.video_id
WHERE r.attempt_id = %(attempt)s
""", (("attempt", "bigint"),))
# The outcome in one round trip: the attempt's outcome; for a disqualified one, the next attempt of
# the session in `next_order` (lecture first); and the session, qualified or still active.
FINISH_CLOSE = PreparedStatement("annotation_finish_close", f"""
WITH closed AS (
    UPDATE {ATTEMPT} SET outcome = %(outcome)s, finished_at = %(now)s WHERE id = %(attempt)s
),
next_attempt AS (
    INSERT INTO {ATTEMPT} (session_id, number, video_order, outcome, started_at)
    SELECT %(session)s, %(number)s + 1, %(next_order)s, {IN_PROGRESS}, now()
    WHERE %(next_order)s IS NOT NULL
)
UPDATE {SESSION} SET
    status = CASE WHEN %(outcome)s = {QUALIFIED} THEN {QUALIFIED} ELSE status END,
    finished_at = CASE WHEN %(outcome)s = {QUALIFIED} THEN %(now)s ELSE finished_at END,
    last_activity_at = %(now)s
WHERE id = %(session)s
""", (
    ("attempt", "bigint"), ("session", "bigint"), ("number", "integer"), ("outcome", "text"),
    ("next_order", "jsonb"), ("now", "timestamptz"),
))


class PostgresStore:
    """`base.Store` in prepared statements, one round trip per call."""

    vendor = "postgresql"

    def annotator_create(self, campaign, *, source, external_id, platform_params, user, consent, entry_token, now):
        rows = ANNOTATOR_CREATE.execute({
            "campaign": campaign.pk, "source": source, "external_id": external_id,
            "user": user.pk if user is not None else None, "platform_params": json.dumps(platform_params),
            "consent": consent.pk, "now": now, "entry_token": entry_token,
        })
        if not rows:
            return None
        annotator = instance(Annotator, rows[0])
        annotator.campaign = campaign
        return annotator

    def annotator_lock(self, annotator_id):
        ANNOTATOR_LOCK.execute({"annotator": annotator_id})

    def page_state(self, annotator_id, campaign_slug, *, now):
        rows = PAGE_STATE.execute({"annotator": annotator_id, "slug": campaign_slug, "now": now})
        return _page_state_from_row(rows[0])[:2] if rows else None

    def session_start_state(self, annotator_id, campaign_slug, *, now):
        rows = SESSION_START_STATE.execute({"annotator": annotator_id, "slug": campaign_slug, "now": now})
        if not rows:
            raise rules.ANNOTATOR_NOT_FOUND.error()
        annotator, progress, extra = _page_state_from_row(rows[0])
        return SessionStartState(annotator, progress, list(extra[0]))

    def assignment_candidates(self, campaign, annotator, *, now):
        rows = CANDIDATES.execute({
            "campaign": campaign.pk, "annotator": annotator.pk, "cutoff": session_idle_cutoff(campaign, now),
        })
        return AssignmentCandidates(
            {video: load for video, role, load in rows if role == Video.Role.REGULAR},
            sorted(video for video, role, _ in rows if role == Video.Role.CHECKER),
        )

    def session_create(self, campaign, annotator, regular, checkers, order, now):
        row = SESSION_CREATE.execute({
            "campaign": campaign.pk, "annotator": annotator.pk, "now": now, "videos": regular + checkers,
            "regular": regular, "order": json.dumps(order),
        })[0]
        width = len(Attempt._meta.concrete_fields)
        attempt = instance(Attempt, row[:width])
        attempt.session = instance(AnnotationSession, row[width:])
        return attempt

    def rating_submit(self, annotator_id, ticket, score, typed_reason, playback, now):
        rows = SUBMIT.execute({
            "attempt": ticket.attempt_id, "annotator": annotator_id, "position": ticket.position, "score": score,
            "typed_reason": typed_reason, "served_at": ticket.served_at,
            "seconds_spent": max((now - ticket.served_at).total_seconds(), 0.0),
            "played_to_end": playback.played_to_end, "plays": playback.plays, "seeks": playback.seeks,
            "fullscreen": playback.fullscreen, "now": now, "resolution": orm.ACTIVITY_RESOLUTION,
            "reason_length": rules.visible_length(typed_reason),
        })
        if not rows:
            return SubmitOutcome(None, rules.SUBMIT_OWNER, {})
        width = len(Attempt._meta.concrete_fields)
        row = rows[0]
        attempt = instance(Attempt, row[:width])
        checks = dict(zip(_RULE_COLUMNS, row[width:width + len(_RULE_COLUMNS)]))
        timeout_minutes, min_length, positions = row[width + len(_RULE_COLUMNS):]
        refused = rules.first_refused(rules.SUBMIT, checks)
        if refused is not None:
            params = rules.submit_message_params(score=score, timeout_minutes=timeout_minutes, min_reason_length=min_length)
            return SubmitOutcome(None, refused, params, attempt)
        return SubmitOutcome(SubmitResult.after(attempt, ticket.position, set(positions) | {ticket.position}))

    def attempt_lock_for_finish(self, annotator_id, number):
        rows = FINISH_LOCK.execute({"annotator": annotator_id, "number": number})
        return instance(Attempt, rows[0]) if rows else None

    def attempt_grades(self, attempt_id):
        return FINISH_GRADES.execute({"attempt": attempt_id})

    def attempt_close(self, attempt, next_order, now):
        FINISH_CLOSE.execute({
            "attempt": attempt.pk, "session": attempt.session_id, "number": attempt.number, "outcome": attempt.outcome,
            "next_order": None if next_order is None else json.dumps(next_order), "now": now,
        }, rows=False)
