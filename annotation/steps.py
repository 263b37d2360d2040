"""Pure rules of where an annotator goes next: consent, demographics, lecture, rating, review, done."""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Step(enum.Enum):
    """Where an annotator must go next; each step has its own page."""

    CONSENT = "consent"
    DEMOGRAPHICS = "demographics"
    LECTURE = "lecture"
    RATE = "rate"
    REVIEW = "review"
    DONE = "done"
    CLOSED = "closed"


def first_unrated_position(attempt, rated: set[int] | frozenset[int]) -> int | None:
    """The 1-based position the annotator should rate next, or None when every video has a grade."""
    for position in range(1, len(attempt.video_order) + 1):
        if position not in rated:
            return position
    return None


@dataclass(frozen=True)
class Progress:
    """Where an annotator stands: the next step, and the session and attempt it refers to."""

    step: Step
    session: object | None = None  # AnnotationSession
    attempt: object | None = None  # Attempt
    rated: frozenset[int] = frozenset()

    @property
    def next_position(self) -> int | None:
        return first_unrated_position(self.attempt, self.rated) if self.attempt else None


def progress_of(
    annotator,
    current: Callable[[], tuple[object | None, frozenset[int]]],
    qualified_sessions: Callable[[], int],
) -> Progress:
    """The step rules, given the facts as callables so that a store asks only for what it needs:
    the current attempt (with `.session`) and its rated positions, and the qualified sessions.
    Returns the annotator's `Progress`."""
    if annotator.consented_at is None:
        return Progress(Step.CONSENT)
    if annotator.demographics_at is None:
        return Progress(Step.DEMOGRAPHICS)
    attempt, rated = current()
    if attempt is not None:
        if attempt.lecture_completed_at is None:
            return Progress(Step.LECTURE, attempt.session, attempt)
        step = Step.RATE if first_unrated_position(attempt, rated) is not None else Step.REVIEW
        return Progress(step, attempt.session, attempt, rated)
    if qualified_sessions() >= annotator.campaign.sessions_per_annotator:
        return Progress(Step.DONE)
    if not annotator.campaign.is_open:
        return Progress(Step.CLOSED)
    return Progress(Step.LECTURE)
