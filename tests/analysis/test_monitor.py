"""Live monitor queries that read ratings through annotation's frame: checker accuracy, time per video."""
from __future__ import annotations

import pytest
from django.utils import timezone

from analysis import selectors
from annotation.models import Attempt, Rating, Video

from .factories import rated_campaign


@pytest.mark.django_db
def test_checker_accuracy_applies_the_campaign_tolerance():
    campaign = rated_campaign(slug="checked", n_annotators=4, n_videos=3, disqualified_every=0)
    checker = Video.objects.get(campaign=campaign, role=Video.Role.CHECKER)  # gold score 1
    now = timezone.now()
    # Annotator order -> their checker grades: tolerance 1 passes 1 and 2, misses 3 and above.
    grades = {0: [1], 1: [2], 2: [3], 3: [5]}
    attempts = list(Attempt.objects.filter(session__campaign=campaign).order_by("session__annotator_id"))
    for i, attempt in enumerate(attempts):
        for score in grades[i]:
            Rating.objects.create(attempt=attempt, video=checker, position=99, score=score, reason="r", typed_reason="r",
                                  served_at=now, seconds_spent=4.0)
    accuracy = selectors.monitor_checker_accuracy(campaign).set_index("annotator")
    ids = [a.session.annotator_id for a in attempts]
    assert accuracy.loc[ids, "accuracy"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert accuracy["checkers"].tolist() == [1, 1, 1, 1]
    campaign.checker_tolerance = 2
    assert selectors.monitor_checker_accuracy(campaign).set_index("annotator").loc[ids, "accuracy"].tolist() == [1.0, 1.0, 1.0, 0.0]


@pytest.mark.django_db
def test_seconds_per_video_are_those_of_regular_videos():
    campaign = rated_campaign(slug="timed", n_annotators=3, n_videos=4)
    seconds = selectors.monitor_seconds_per_video(campaign)
    expected = Rating.objects.filter(video__campaign=campaign, video__role="regular").values_list("seconds_spent", flat=True)
    assert sorted(seconds.tolist()) == sorted(expected) and seconds.name == "seconds"
