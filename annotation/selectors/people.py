"""One annotator as the researchers see them: found by internal or platform id, their sessions, attempts and ratings.

Staff pages only (annotation.guards): which checkers an attempt missed, and by how many grades, is
shown to researchers here and never to annotators (their pages say how many, not which).
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from django.db.models import Q

from .. import checkers
from ..errors import ApplicationError
from ..models import AnnotationSession, Annotator, Attempt, Campaign, Rating, Video

# A reference typed by a researcher: an internal id (digits) or a platform id, which platforms accept
# in the same form (annotation.platforms: letters, digits and _ . : -), or a lab username (also @ +).
_REF = re.compile(r"[A-Za-z0-9_.:@+-]{1,150}\Z")


def annotator_by_ref(campaign: Campaign, ref: str) -> Annotator:
    """The campaign's annotator named by `ref`: the internal id, else the platform id (Prolific PID,
    MTurk worker id, a lab member's user id) or a lab member's username.

    An internal id wins over a platform id made of the same digits (a lab member's user id).
    Returns the annotator; raises ApplicationError "bad_annotator_ref" (400) for a malformed value
    and "annotator_not_found" (404) when nobody in the campaign has it.
    """
    ref = (ref or "").strip()
    if not _REF.match(ref):
        raise ApplicationError("bad_annotator_ref", "An annotator is named by their id or platform id: letters, digits and _ . : - only.")
    annotators = Annotator.objects.filter(campaign=campaign)
    if ref.isdigit():
        found = annotators.filter(pk=int(ref)).first()
        if found is not None:
            return found
    found = annotators.filter(Q(external_id=ref) | Q(source=Annotator.Source.LAB, platform_params__username=ref)).order_by("pk").first()
    if found is None:
        raise ApplicationError("annotator_not_found", f"No annotator with that id or platform id in this campaign: {ref!r}.", status=404)
    return found


@dataclass
class CheckerMiss:
    """A checker an attempt rated outside the tolerance: the video, its gold score, the grade given."""

    video: int
    gold: int
    score: int

    @property
    def off(self) -> int:
        """How many grades the rating is from the gold score."""
        return abs(self.score - self.gold)


@dataclass
class AttemptRecord:
    attempt: Attempt
    ratings: list[Rating]
    misses: list[CheckerMiss] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Seconds spent on the attempt's rated items, summed."""
        return sum(r.seconds_spent for r in self.ratings)


@dataclass
class SessionRecord:
    session: AnnotationSession
    attempts: list[AttemptRecord]


def attempt_checker_misses(attempt: Attempt, tolerance: int, ratings: list[Rating] | None = None) -> list[CheckerMiss]:
    """The checkers `attempt` rated more than `tolerance` grades from their gold score (annotation.checkers), by position."""
    if ratings is None:
        ratings = list(attempt.ratings.select_related("video").order_by("position"))
    rated = [r for r in ratings if r.video.role == Video.Role.CHECKER and r.video.gold_score is not None]
    missed = checkers.checker_misses([r.score for r in rated], [r.video.gold_score for r in rated], tolerance) if rated else []
    return [CheckerMiss(r.video_id, r.video.gold_score, r.score) for r, miss in zip(rated, missed) if miss]


def annotator_record(annotator: Annotator) -> list[SessionRecord]:
    """The annotator's sessions, oldest first, each with its attempts (by number) and their ratings
    (by position, with the video) and missed checkers."""
    tolerance = annotator.campaign.checker_tolerance
    ratings: dict[int, list[Rating]] = {}
    for rating in Rating.objects.filter(attempt__session__annotator=annotator).select_related("video").order_by("attempt_id", "position"):
        ratings.setdefault(rating.attempt_id, []).append(rating)
    attempts: dict[int, list[AttemptRecord]] = {}
    for attempt in Attempt.objects.filter(session__annotator=annotator).order_by("session_id", "number"):
        rated = ratings.get(attempt.pk, [])
        attempts.setdefault(attempt.session_id, []).append(AttemptRecord(attempt, rated, attempt_checker_misses(attempt, tolerance, rated)))
    return [SessionRecord(s, attempts.get(s.pk, [])) for s in annotator.sessions.order_by("started_at", "pk")]


def annotator_last_misses(annotator: Annotator) -> int:
    """How many checkers the annotator's latest finished attempt missed (0 before one)."""
    attempt = Attempt.objects.filter(session__annotator=annotator, finished_at__isnull=False).order_by("-finished_at").first()
    return len(attempt_checker_misses(attempt, annotator.campaign.checker_tolerance)) if attempt else 0


def annotator_median_seconds(annotator: Annotator) -> float | None:
    """The median seconds the annotator spent per rated item, None before their first rating."""
    seconds = list(Rating.objects.filter(attempt__session__annotator=annotator).values_list("seconds_spent", flat=True))
    return statistics.median(seconds) if seconds else None


def annotator_failed_attempts(annotator: Annotator) -> int:
    """How many of the annotator's attempts were disqualified, over all their sessions."""
    return Attempt.objects.filter(session__annotator=annotator, outcome=Attempt.Outcome.DISQUALIFIED).count()
