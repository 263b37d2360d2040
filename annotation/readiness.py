"""Launch readiness: pure checks of whether a campaign has what one annotator's session needs.

The annotator link refuses people (`rules.CAMPAIGN_NOT_READY`) until every item passes, so that
nobody consents to a study that cannot give them a session; the status page shows the checklist.
The facts come from `selectors.campaign_readiness_facts`; these functions are Django-free.
"""
from __future__ import annotations

from dataclasses import dataclass

GRADES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class LaunchFacts:
    """What the checklist looks at. Video counts are of videos with a file (the others are never shown)."""

    regular_videos: int
    checker_videos: int
    demo_grades: frozenset[int]
    regular_per_session: int
    checkers_per_session: int
    consent_texts: int
    lecture_text: str
    completion_code: str
    completion_redirect_url: str


@dataclass(frozen=True)
class ReadinessItem:
    """One line of the checklist: `name` a stable key, `ok` whether it passes, `message` what it says."""

    name: str
    ok: bool
    message: str


def readiness_items(facts: LaunchFacts) -> list[ReadinessItem]:
    """Every item of the launch checklist, in the order the status page shows them."""
    missing_demos = [g for g in GRADES if g not in facts.demo_grades]
    completion = bool(facts.completion_code.strip() or facts.completion_redirect_url.strip())
    return [
        ReadinessItem(
            "regular_videos", facts.regular_videos >= facts.regular_per_session,
            f"{facts.regular_videos} regular video(s) with a file; one session needs {facts.regular_per_session}.",
        ),
        ReadinessItem(
            "checker_videos", facts.checker_videos >= facts.checkers_per_session,
            f"{facts.checker_videos} checker video(s) with a file; one session needs {facts.checkers_per_session}.",
        ),
        ReadinessItem(
            "demo_videos", not missing_demos,
            "One lecture demo per grade." if not missing_demos
            else "No lecture demo for grade(s) " + ", ".join(map(str, missing_demos)) + ".",
        ),
        ReadinessItem(
            "consent_text", facts.consent_texts > 0,
            "A consent text." if facts.consent_texts else "No consent text: add one in the campaign's admin page.",
        ),
        ReadinessItem(
            "lecture_text", bool(facts.lecture_text.strip()),
            "A lecture text." if facts.lecture_text.strip() else "The lecture text is empty.",
        ),
        ReadinessItem(
            "completion", completion,
            "A completion code or redirect." if completion else "Neither a completion code nor a completion redirect is set.",
        ),
    ]


def is_ready(items: list[ReadinessItem]) -> bool:
    """Whether every item of the checklist passes."""
    return all(item.ok for item in items)
