"""Fixtures of the export tests: exports written under a temporary artifact root, built in this process."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from analysis.export import selectors, services
from annotation.models import Attempt, Campaign, Rating, Video

HOSTILE = ('=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tindent", "\rreturn")


@pytest.fixture(autouse=True)
def artifact_root(settings, tmp_path) -> Path:
    settings.JOBS_ARTIFACT_ROOT = tmp_path / "jobs"
    return settings.JOBS_ARTIFACT_ROOT


def build(campaign: Campaign, **parameters):
    """Start an export of `campaign` and run it here; returns (job, its folder)."""
    job = services.export_start(campaign=campaign, parameters=parameters or None, enqueue=lambda job_id: None)
    job = services.export_run_here(job)
    return job, selectors.export_folder(job)


def rate_checkers(campaign: Campaign) -> None:
    """Every attempt also rated the campaign's checker videos: at the gold grade when qualified, 3 away when not."""
    now = timezone.now()
    ratings = []
    for attempt in Attempt.objects.filter(session__campaign=campaign):
        position = attempt.ratings.count()
        for video in Video.objects.filter(campaign=campaign, role=Video.Role.CHECKER):
            position += 1
            good = attempt.outcome == Attempt.Outcome.QUALIFIED
            score = video.gold_score if good else (4 if video.gold_score <= 2 else 1)
            ratings.append(Rating(attempt=attempt, video=video, position=position, score=score, reason="the face looks wrong here",
                                  typed_reason="the face looks wrong here", served_at=now, seconds_spent=5.0, played_to_end=True, plays=1))
    Rating.objects.bulk_create(ratings)


def hostile_reasons(campaign: Campaign) -> list[int]:
    """Give qualified ratings reasons a spreadsheet would run as formulas; returns their ids."""
    ids = list(Rating.objects.filter(video__campaign=campaign, attempt__outcome="qualified", score__lt=5)
               .order_by("id").values_list("id", flat=True)[: len(HOSTILE)])
    for rating_id, text in zip(ids, HOSTILE):
        Rating.objects.filter(pk=rating_id).update(reason=text, typed_reason=text)
    return ids


def all_text(folder: Path) -> list[tuple[str, bytes]]:
    """Every file of an export with its bytes (media included)."""
    return [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def sample_std(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.sqrt(((values - values.mean()) ** 2).sum() / (values.size - 1))) if values.size > 1 else float("nan")
