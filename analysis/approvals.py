"""Approval lists: per campaign and crowd platform, who to approve or reject (and why), as the platform's bulk upload takes it.

A snapshot of the moment it is downloaded, one row per annotator who came from that platform:

- excluded by a researcher (analysis exclusions): reject, "excluded: <reason>";
- a qualified session: approve;
- attempts exhausted (only where the campaign has a `max_attempts` cap): reject;
- an attempt being rated (in progress, its lecture taken): no decision yet (empty);
- disqualified attempts and none being rated: reject, "failed the attention checks" (the redo that a
  disqualification opens counts only once its lecture is taken);
- nothing finished (an abandoned or unstarted session): no decision.

The bonus column is left empty: the project has no documented bonus rule (DOMAIN.md names none).

Columns follow each platform's upload: Prolific's bulk approve/reject takes participant ids (the
PROLIFIC_PID) and a decision, with STUDY_ID and SESSION_ID to find the submission; MTurk's batch
results CSV (Requester UI guide, "Reviewing assignments offline") is uploaded with an "x" in its
`Approve` column or the rejection reason in its `Reject` column, per AssignmentId.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from annotation.errors import ApplicationError
from annotation.models import AnnotationSession, Annotator, Attempt, Campaign

from .models import AnnotatorExclusion

APPROVE, REJECT = "approve", "reject"
FAILED_CHECKS = "failed the attention checks"
ATTEMPTS_EXHAUSTED = "failed the attention checks in every allowed attempt"


@dataclass(frozen=True)
class Approval:
    """The decision for one annotator: "approve", "reject" or "" (none yet), and the reason of a rejection."""

    annotator: Annotator
    decision: str
    reason: str = ""


def annotator_decision(*, statuses: set[str], outcomes: list[str], rating: bool, excluded: str | None,
                       max_attempts: int | None) -> tuple[str, str]:
    """The decision and reason for an annotator with these session statuses and attempt outcomes (pure: the module's rules)."""
    if excluded is not None:
        return REJECT, f"excluded: {excluded}" if excluded else "excluded"
    if AnnotationSession.Status.QUALIFIED in statuses:
        return APPROVE, ""
    failed = outcomes.count(Attempt.Outcome.DISQUALIFIED)
    if max_attempts is not None and failed >= max_attempts:
        return REJECT, ATTEMPTS_EXHAUSTED
    if rating and AnnotationSession.Status.ACTIVE in statuses:
        return "", ""
    if failed:
        return REJECT, FAILED_CHECKS
    return "", ""


def campaign_approvals(campaign: Campaign, source: str) -> list[Approval]:
    """One Approval per annotator of the campaign who came from platform `source`, by id.

    Raises ApplicationError "bad_platform" for a source other than Prolific or MTurk.
    """
    if source not in PLATFORM_ROWS:
        raise ApplicationError("bad_platform", f"Approval lists exist for {', '.join(PLATFORM_ROWS)}, not {source!r}.")
    annotators = list(Annotator.objects.filter(campaign=campaign, source=source).order_by("pk"))
    statuses: dict[int, set[str]] = {}
    for annotator_id, status in AnnotationSession.objects.filter(annotator__in=annotators).values_list("annotator_id", "status"):
        statuses.setdefault(annotator_id, set()).add(status)
    outcomes: dict[int, list[str]] = {}
    rating: set[int] = set()
    attempts = Attempt.objects.filter(session__annotator__in=annotators)
    for annotator_id, outcome, lecture_at in attempts.values_list("session__annotator_id", "outcome", "lecture_completed_at"):
        outcomes.setdefault(annotator_id, []).append(outcome)
        if outcome == Attempt.Outcome.IN_PROGRESS and lecture_at is not None:
            rating.add(annotator_id)
    excluded = dict(AnnotatorExclusion.objects.filter(campaign=campaign).values_list("annotator_id", "reason"))
    return [
        Approval(a, *annotator_decision(statuses=statuses.get(a.pk, set()), outcomes=outcomes.get(a.pk, []), rating=a.pk in rating,
                                        excluded=excluded.get(a.pk), max_attempts=campaign.max_attempts))
        for a in annotators
    ]


def _prolific(approvals: list[Approval]) -> Iterable[list]:
    for a in approvals:
        params = a.annotator.platform_params or {}
        yield [a.annotator.external_id, params.get("STUDY_ID", ""), params.get("SESSION_ID", ""), a.decision.upper(), a.reason, ""]


def _mturk(approvals: list[Approval]) -> Iterable[list]:
    for a in approvals:
        params = a.annotator.platform_params or {}
        yield [params.get("hitId", ""), params.get("assignmentId", ""), a.annotator.external_id,
               "x" if a.decision == APPROVE else "", a.reason if a.decision == REJECT else "", ""]


PLATFORM_ROWS = {
    Annotator.Source.PROLIFIC: (("participant_id", "study_id", "session_id", "decision", "reason", "bonus"), _prolific),
    Annotator.Source.MTURK: (("HITId", "AssignmentId", "WorkerId", "Approve", "Reject", "Bonus"), _mturk),
}


def approvals_table(campaign: Campaign, source: str) -> tuple[tuple[str, ...], Iterable[list]]:
    """The approval list of platform `source` as (header, rows) in that platform's upload columns."""
    approvals = campaign_approvals(campaign, source)  # refuses a platform without a list
    header, rows = PLATFORM_ROWS[source]
    return header, rows(approvals)
