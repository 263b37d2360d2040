"""The store interface: what the workflow services ask of the database, and the values exchanged.

Two implementations: `postgres.PostgresStore` (one prepared statement per request, the rules of the
submit evaluated in SQL) and `orm.OrmStore` (the Django ORM, for SQLite and any other database).
`annotation.store.current()` picks one per database vendor, once. Both are held to the same
contract by tests/annotation/test_store_contract.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..models import Annotator, Attempt, Campaign, ConsentText
from ..rules import Rule
from ..steps import Progress, first_unrated_position


@dataclass(frozen=True)
class Playback:
    """What the player saw of the annotator: facts for the analysis, never a condition to submit."""

    played_to_end: bool = False
    plays: int = 0
    seeks: int = 0
    fullscreen: bool = False


@dataclass(frozen=True)
class SubmitResult:
    """An accepted answer: the attempt, the position saved, the next one to rate (None when all are
    rated) and every rated position."""

    attempt: Attempt
    rating_position: int
    next_position: int | None
    rated: set[int]

    @classmethod
    def after(cls, attempt: Attempt, position: int, rated: set[int]) -> SubmitResult:
        """The result once `position` is saved and `rated` holds every rated position."""
        return cls(attempt, position, first_unrated_position(attempt, rated), rated)


@dataclass(frozen=True)
class SubmitOutcome:
    """A store's answer to one submit: the result, or the rule that refused it with the values its
    message needs. `attempt` is the attempt named by the token when it exists (a refused retry of
    a finished attempt is checked against it)."""

    result: SubmitResult | None
    refused: Rule | None = None
    message_params: dict | None = None
    attempt: Attempt | None = None


@dataclass(frozen=True)
class SessionStartState:
    """What a session start reads under the annotator's lock: the annotator (with its campaign, now
    locked), their progress, and their sessions still active but idle past the timeout."""

    annotator: Annotator
    progress: Progress
    idle_session_ids: list[int]


@dataclass(frozen=True)
class AssignmentCandidates:
    """What a new session of one annotator can draw from: the regular videos they have not seen,
    with their loads (ratings they have or will get), and the checkers they have not seen."""

    regular_loads: dict[int, int]
    checkers: list[int]


class Store(Protocol):
    """The reads and writes of the annotation hot path. Every method runs in the caller's transaction."""

    def annotator_create(
        self, campaign: Campaign, *, source: str, external_id: str, platform_params: dict, user,
        consent: ConsentText, entry_token: str, now: datetime,
    ) -> Annotator | None:
        """The new annotator of this platform identity, consented to `consent` at `now`; None if the
        campaign has them already."""

    def annotator_lock(self, annotator_id: int) -> None:
        """Lock the annotator's row until the transaction ends (a no-op where writers are serialized)."""

    def page_state(self, annotator_id: int, campaign_slug: str, *, now: datetime) -> tuple[Annotator, Progress] | None:
        """The annotator (with `.campaign`) and their progress; None if no such annotator in that campaign."""

    def session_start_state(self, annotator_id: int, campaign_slug: str, *, now: datetime) -> SessionStartState:
        """`page_state` plus the campaign's lock and the idle sessions; raises ANNOTATOR_NOT_FOUND's error."""

    def assignment_candidates(self, campaign: Campaign, annotator: Annotator, *, now: datetime) -> AssignmentCandidates:
        """The videos a new session of `annotator` can get."""

    def session_create(
        self, campaign: Campaign, annotator: Annotator, regular: list[int], checkers: list[int], order: list[int],
        now: datetime,
    ) -> Attempt:
        """Store a new session of `regular` and `checkers` shown in `order`, counting it on the regular
        videos; returns its first attempt (lecture done), with `.session`."""

    def rating_submit(
        self, annotator_id: int, ticket, score: int, typed_reason: str, playback: Playback, now: datetime
    ) -> SubmitOutcome:
        """Store one answer if every rule of `rules.SUBMIT` lets it in; the outcome either way."""

    def attempt_lock_for_finish(self, annotator_id: int, number: int) -> Attempt | None:
        """The annotator's attempt of that number in their latest session holding one, locked; or None."""

    def attempt_grades(self, attempt_id: int) -> list[tuple[int, str, int | None]]:
        """(score, video role, gold score) of every rating of the attempt."""

    def attempt_close(self, attempt: Attempt, next_order: list[int] | None, now: datetime) -> None:
        """Store the attempt's outcome; for a disqualified one (`next_order` given) the next attempt of
        its session, lecture first; a qualified one closes its session. A disqualified one without
        `next_order` (the last allowed attempt) leaves its session's status to the caller."""
