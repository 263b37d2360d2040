"""Every rule that can refuse an annotator's step, each defined once: name, code, message, HTTP status.

A table is ordered: when several rules refuse, the first one in the table is the one the annotator
hears about. The two stores (`annotation.store`) evaluate the same tables. The PostgreSQL submit
statement returns one boolean column per rule of `SUBMIT`, named as the rule; the ORM path computes
the same checks with `submit_checks`. Both then map a refusal through `first_refused`, so a message or
a status changes here and nowhere else.

Messages are translated lazily (locale/): `Rule.error` fills one in the language active when it is
raised (annotation.language), as a plain string, so the stores, the API and the JSON answers never
see a lazy object.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError


@dataclass(frozen=True)
class Rule:
    """One refusal: `name` is the check (a SQL column, a key of a checks mapping), `code` the stable
    code clients see (several rules may share one), `message` a `str.format` template (lazily translated)."""

    name: str
    code: str
    message: str
    status: int = 400

    def error(self, **params) -> ApplicationError:
        """The ApplicationError this rule raises, its message translated into the active language and
        filled with `params` (a plain string)."""
        return ApplicationError(self.code, str(self.message).format(**params), status=self.status)


def first_refused(table: Sequence[Rule], checks: Mapping[str, bool]) -> Rule | None:
    """The first rule of `table` whose check is false in `checks`; None when every check passes."""
    for rule in table:
        if not checks[rule.name]:
            return rule
    return None


# --- Entry ------------------------------------------------------------------------------------

BAD_EXTERNAL_ID = Rule(
    "external_id", "bad_external_id",
    _("The link you followed carries an invalid participant id ({platform} {name}). Open the study again from "
      "your crowd platform, or contact the researchers."),
)
CAMPAIGN_CLOSED = Rule(
    "campaign_open", "campaign_closed",
    _("This study is closed and takes no new participants. Thank you for your interest."),
)
# Before consent: nobody agrees to a study that cannot give them a session (annotation.readiness).
CAMPAIGN_NOT_READY = Rule(
    "campaign_ready", "campaign_not_ready", _("This study is not ready yet; please come back later."), 503,
)
ANNOTATOR_NOT_CREATED = Rule(
    "annotator_created", "no_annotator", _("Your participant record could not be created. Open the study link again."),
)
IDENTITY_UNPROVEN = Rule(
    "identity_proven", "identity_in_use",
    _("This participant id is already taking part from another browser. Continue in that browser, or open the "
      "study again through your crowd platform's own link."),
    403,
)
ENTRY_TOO_OFTEN = Rule(
    "entry_rate", "too_many_entries",
    _("Too many people entered the study from your network in the last minutes. Please wait a few minutes and "
      "open the link again."),
    429,
)
ANNOTATOR_NOT_FOUND = Rule(
    "annotator_found", "no_annotator", _("Your participant record was not found. Open the study link again."), 404,
)
BAD_CONSENT = Rule("consent_of_campaign", "bad_consent", _("This consent text belongs to another study. Reload the page."))

# --- Session start (in this order) --------------------------------------------------------------

NO_MORE_SESSIONS = Rule(
    "sessions_left", "no_more_sessions", _("You have completed every session of this study. Thank you!"),
)
CAMPAIGN_FULL = Rule(
    "videos_left", "campaign_full",
    _("Every video of this study already has all the ratings it needs. Thank you for your interest."),
)
ATTEMPTS_EXHAUSTED = Rule(
    "attempts_left", "attempts_exhausted",
    _("You have used every attempt this study allows, so it cannot give you another session. Thank you for your time."),
    403,
)
# Only where the campaign requires play to the end (`Campaign.require_play_to_end`); checked before the others.
LECTURE_DEMOS_PLAYED = Rule(
    "demos_played", "demos_not_played",
    _("Please watch every example video to the end before you start (skipping ahead does not count)."), 409,
)
SESSION_START = (CAMPAIGN_CLOSED, ATTEMPTS_EXHAUSTED, NO_MORE_SESSIONS, CAMPAIGN_FULL)

# --- Playback events (a campaign that requires play to the end) ---------------------------------

PLAY_VIDEO_UNKNOWN = Rule("play_video", "bad_video", _("This video is not part of your study. Reload the page."), 404)
PLAY_NOT_STARTED = Rule(
    "play_started", "play_not_started", _("The start of this video did not reach us. Press Replay and watch it to the end."), 409,
)
PLAY_TOO_SHORT = Rule(
    "play_long_enough", "play_too_short",
    _("The video ended sooner than it lasts, so it does not count as watched (skipping ahead or a faster speed). "
      "Press Replay and watch it to the end."),
    409,
)
PLAY_END = (PLAY_VIDEO_UNKNOWN, PLAY_NOT_STARTED, PLAY_TOO_SHORT)

# An end counts when the server's time since the start is at least the duration less this much:
# the start's request may reach the server later than the play began by more than the end's does
# (a slow first request on a phone), and a container's probed duration can exceed its last frame's
# time by a frame or two. Not measured on real phones: a guess kept small, so that seeking to the
# end of a 10 s video (an end within a second) stays refused while a play-through is not.
PLAY_TOLERANCE_S = 0.5
PLAY_TOLERANCE_SHARE = 0.05


def play_long_enough(*, started_at: datetime, ended_at: datetime, duration_s: float) -> bool:
    """Whether a play started at `started_at` may have reached the end of a `duration_s` video by `ended_at`."""
    needed = duration_s * (1 - PLAY_TOLERANCE_SHARE) - PLAY_TOLERANCE_S
    return (ended_at - started_at).total_seconds() >= needed

# --- Rating submit ----------------------------------------------------------------------------

BAD_TOKEN = Rule(
    "token", "bad_token", _("This page is out of date or was altered. Reload the page and rate the video again."),
)
EMPTY_BATCH = Rule("items", "empty_batch", _("There is nothing to save."))
MIXED_BATCH = Rule(
    "one_attempt", "bad_token", _("These answers belong to different sessions. Reload the page and rate again."),
)
SUBMIT_OWNER = Rule(
    "owner", "bad_token", _("This page belongs to another participant. Open the study link again."), 403,
)
SUBMIT_POSITION = Rule("position", "bad_token", _("This page is out of date. Reload it and rate the video again."))
# Refused only for a change: a retry of the answer already stored for a finished attempt is accepted.
SUBMIT_OPEN = Rule(
    "open", "attempt_finished", _("This session is already finished, so its answers can no longer be changed."), 409,
)
SUBMIT_ACTIVE = Rule(
    "active", "session_expired",
    _("Your session was idle for more than {timeout_minutes} minutes and has been closed; the answers you gave "
      "are kept. Open the study link again to continue with a new session."),
    409,
)
SUBMIT_LECTURE = Rule("lecture", "lecture_first", _("Please take the lecture before rating."), 409)
# Only where the campaign requires it: the video's end reached the server during this attempt (`VideoPlay`).
SUBMIT_PLAYED = Rule(
    "played", "not_played_to_end", _("Please watch the video to the end once before rating it (press Replay)."), 409,
)
SUBMIT_SCORE = Rule("score", "bad_score", _("Pick one of the five grades (keys 1 to 5)."))
# A translation may name {min_han} (the minimum in Chinese characters, `han_minimum`) instead of
# {min_length}; tests/annotation/test_i18n.py fills every translated message with these parameters.
SUBMIT_REASON = Rule(
    "reason", "reason_too_short",
    # xgettext:no-python-brace-format
    _("Please describe {what} in at least {min_length} characters."),
)
SUBMIT = (SUBMIT_OWNER, SUBMIT_POSITION, SUBMIT_OPEN, SUBMIT_ACTIVE, SUBMIT_LECTURE, SUBMIT_PLAYED, SUBMIT_SCORE, SUBMIT_REASON)

GRADES = (1, 2, 3, 4, 5)
# Characters that show nothing: controls, format characters (zero-width space and joiners, the
# byte-order mark), separators (spaces) and unassigned or private code points.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
_ASCII_INVISIBLE = dict.fromkeys([*range(33), 127])  # the same among ASCII: controls and the space


# A Chinese character counts as this many characters: the reason-length rule asks a Chinese reason
# for about as much description as an English one. Measured on 16 reasons written in both languages
# (tests/annotation/test_i18n.py: REASON_PAIRS): an English reason has 2.4 to 5.0 visible characters
# per Chinese character of its translation, median 3.4. With 3, "模糊" (6) falls short of the default
# minimum of 10 as "blurry" (6) does, and "嘴部模糊" (12) passes as "mouth blurry" (11) does. Only Han
# ideographs are weighted (the shipped languages are English and Chinese); kana and hangul count 1.
HAN_WEIGHT = 3
# The Han ideograph blocks: unified (with extension A), compatibility, and extensions B onwards (planes
# 2 and 3). static/annotation/rate.js counts the same blocks with the same weight.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


def visible_length(text: str) -> int:
    """How many characters of `text` show something, a Han ideograph counting `HAN_WEIGHT`: what the
    reason-length rule counts, so that zero-width characters or spaces cannot pad a reason to the
    minimum and a Chinese reason is asked for as much as an English one."""
    if text.isascii():  # the common case, in C
        return len(text.translate(_ASCII_INVISIBLE))
    visible = sum(1 for ch in text if unicodedata.category(ch) not in _INVISIBLE)
    # Every code point of the Han blocks that Python's Unicode data knows is visible (a letter).
    han = sum(1 for ch in _HAN.findall(text) if unicodedata.category(ch) not in _INVISIBLE)
    return visible + (HAN_WEIGHT - 1) * han


def han_minimum(min_length: int) -> int:
    """How many Chinese characters alone reach `min_length` (what the Chinese message names)."""
    return -(-min_length // HAN_WEIGHT)


def submit_checks(
    *,
    owner: bool,
    position: int,
    positions: int,
    attempt_open: bool,
    last_activity: datetime,
    timeout: timedelta,
    now: datetime,
    lecture_done: bool,
    played: bool,
    score: int,
    typed_reason: str,
    min_reason_length: int,
) -> dict[str, bool]:
    """Each check of `SUBMIT` for one answer, by rule name: the Python twin of the submit statement's
    columns (`annotation.store.postgres`), for the ORM store and for batches. `played`: the campaign
    does not require play to the end, or the video's end reached the server during the attempt."""
    return {
        SUBMIT_OWNER.name: owner,
        SUBMIT_POSITION.name: 1 <= position <= positions,
        SUBMIT_OPEN.name: attempt_open,
        SUBMIT_ACTIVE.name: last_activity >= now - timeout,
        SUBMIT_LECTURE.name: lecture_done,
        SUBMIT_PLAYED.name: played,
        SUBMIT_SCORE.name: score in GRADES,
        SUBMIT_REASON.name: visible_length(typed_reason) >= min_reason_length,
    }


def submit_message_params(*, score: int, timeout_minutes: int, min_reason_length: int) -> dict:
    """The values the messages of `SUBMIT` are filled with, in the active language."""
    what = gettext("the person in the video") if score == 5 else gettext("why you chose this grade")
    return {"what": what, "timeout_minutes": timeout_minutes, "min_length": min_reason_length,
            "min_han": han_minimum(min_reason_length)}


# --- Finish -----------------------------------------------------------------------------------

NO_ATTEMPT = Rule("attempt_found", "no_attempt", _("There is no session to finish. Open the study link again."), 404)
INCOMPLETE = Rule("complete", "incomplete", _("{missing} video(s) still need a grade before you can finish."), 409)
FINISH = (NO_ATTEMPT, INCOMPLETE)


# --- Imports (the ingest's upload and server-folder import: analysis.ingest, its page and the API) -
# Only researchers meet these, on pages that stay in English (annotation.language): not translated.

UPLOAD_TOO_LARGE = Rule(
    "file_size", "too_large",
    "{name} is {size:,} bytes; at most {limit:,} bytes per file are accepted (INGEST_UPLOAD_MAX_BYTES). "
    "Send a smaller file, or copy the videos into a server folder the site imports from.", 413,
)
NO_INGEST_FOLDERS = Rule(
    "folders_allowed", "folder_not_allowed",
    "This site imports from no server folder (its INGEST_FOLDERS setting is empty); upload the files instead, "
    "or ask the site's administrator to allow a folder.", 403,
)
FOLDER_NOT_ALLOWED = Rule(
    "folder_inside_roots", "folder_not_allowed",
    "{folder} is outside the folders this site imports from ({roots}); pick a folder inside one of them.", 403,
)
FOLDER_MISSING = Rule("folder_exists", "folder_missing", "{folder} is not a folder on the server; check its path.")
FOLDER_NO_METADATA = Rule(
    "folder_metadata", "bad_metadata",
    "{folder} holds no metadata.csv; put the metadata CSV there, or choose it in the form with the folder.",
)
# The refusals only researchers meet (English, never through the catalog): tests/annotation/test_i18n.py
# holds every other rule to a translation.
RESEARCHERS_ONLY = (UPLOAD_TOO_LARGE, NO_INGEST_FOLDERS, FOLDER_NOT_ALLOWED, FOLDER_MISSING, FOLDER_NO_METADATA)
