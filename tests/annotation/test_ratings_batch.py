"""`services.ratings_submit_batch`: the same checks and rows as `rating_submit`, one transaction per batch."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation import platforms, selectors, services
from annotation.errors import ApplicationError
from annotation.models import AnnotationSession, Annotator, Attempt, Rating, Video

from tests import ids

pytestmark = pytest.mark.django_db

FIELDS = ("position", "video_id", "score", "reason", "typed_reason", "seconds_spent", "played_to_end", "plays", "seeks", "fullscreen")


def ready(campaign, pid: str) -> Annotator:
    identity = platforms.identity_from_request({"PROLIFIC_PID": ids.prolific(pid)}, None)
    annotator = services.annotator_consent(campaign=campaign, identity=identity, entry_token=f"t-{pid}",
                                           consent=selectors.campaign_current_consent(campaign))
    services.demographics_save(annotator=annotator, age_group="20-29", gender="female", education="master", prior_knowledge="heard")
    return annotator


def inputs(attempt: Attempt, start, *, scores=None, positions=None) -> list[services.RatingInput]:
    """One item per position: served 20 s apart, submitted 15 s after serving, checkers at gold."""
    videos = Video.objects.in_bulk(attempt.video_order)
    items = []
    for position in positions or range(1, len(attempt.video_order) + 1):
        video = videos[attempt.video_order[position - 1]]
        score = (scores or {}).get(position, video.gold_score or 1 + position % 5)
        served = start + timedelta(seconds=20 * position)
        items.append(services.RatingInput(
            token=selectors.rating_token_make(attempt, position, served), score=score,
            typed_reason=f"  the mouth is blurry at {position}  ",
            playback=services.Playback(played_to_end=position % 2 == 0, plays=position % 3, seeks=1, fullscreen=position == 3),
            now=served + timedelta(seconds=15),
        ))
    return items


def stored(attempt: Attempt) -> list[tuple]:
    return list(Rating.objects.filter(attempt=attempt).order_by("position").values_list(*FIELDS))


def test_batch_stores_what_one_call_per_item_stores(make_campaign):
    campaign = make_campaign()
    start = timezone.now()
    one, two = ready(campaign, "ONE"), ready(campaign, "TWO")
    first = services.lecture_complete(annotator=one, now=start)
    second = services.lecture_complete(annotator=two, now=start)
    # The same videos in the same order for both, so the rows can be compared position by position.
    second.video_order = first.video_order
    second.save(update_fields=["video_order"])
    for item in inputs(first, start):
        services.rating_submit(annotator_id=one.pk, token=item.token, score=item.score,
                               typed_reason=item.typed_reason, playback=item.playback, now=item.now)
    result = services.ratings_submit_batch(annotator_id=two.pk, items=inputs(second, start))
    assert stored(first) == stored(second) and len(stored(second)) == 40
    assert result.next_position is None and result.rated == set(range(1, 41)) and result.rating_position == 40
    sessions = AnnotationSession.objects.in_bulk([first.session_id, second.session_id])
    # Last activity is refreshed at most every ACTIVITY_RESOLUTION, whichever way the ratings came.
    gap = sessions[first.session_id].last_activity_at - sessions[second.session_id].last_activity_at
    assert abs(gap) < services.ACTIVITY_RESOLUTION
    grade5 = Rating.objects.filter(attempt=second, score=5).first()
    assert grade5.reason == campaign.grade5_reason and grade5.typed_reason.startswith("the mouth")
    assert services.attempt_finish(annotator=two, attempt_number=1, now=start + timedelta(hours=1)).outcome == Attempt.Outcome.QUALIFIED


def test_a_refused_item_stores_nothing_of_the_batch(make_campaign):
    campaign = make_campaign()
    start = timezone.now()
    annotator = ready(campaign, "P1")
    attempt = services.lecture_complete(annotator=annotator, now=start)
    items = inputs(attempt, start, positions=range(1, 6))
    items[3] = services.RatingInput(token=items[3].token, score=2, typed_reason="bad", now=items[3].now)
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=annotator.pk, items=items)
    assert error.value.code == "reason_too_short"
    assert not Rating.objects.filter(attempt=attempt).exists()
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=annotator.pk, items=[])
    assert error.value.code == "empty_batch"


def test_tokens_must_be_the_annotators_and_of_one_attempt(make_campaign):
    campaign = make_campaign()
    start = timezone.now()
    one, two = ready(campaign, "ONE"), ready(campaign, "TWO")
    first = services.lecture_complete(annotator=one, now=start)
    second = services.lecture_complete(annotator=two, now=start)
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=two.pk, items=inputs(first, start, positions=[1]))
    assert (error.value.code, error.value.status) == ("bad_token", 403)
    mixed = inputs(first, start, positions=[1]) + inputs(second, start, positions=[2])
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=one.pk, items=mixed)
    assert error.value.code == "bad_token"
    forged = services.RatingInput(token=selectors.rating_token_make(first, 41, start), score=3, typed_reason="blurry mouth")
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=one.pk, items=[forged])
    assert error.value.code == "bad_token"
    assert not Rating.objects.exists()


def test_a_later_item_for_the_same_position_wins(make_campaign):
    campaign = make_campaign()
    start = timezone.now()
    annotator = ready(campaign, "P1")
    attempt = services.lecture_complete(annotator=annotator, now=start)
    items = inputs(attempt, start, positions=[1, 2]) + inputs(attempt, start + timedelta(minutes=2), positions=[1], scores={1: 4})
    services.ratings_submit_batch(annotator_id=annotator.pk, items=items)
    assert dict(Rating.objects.filter(attempt=attempt).values_list("position", "score"))[1] == 4
    assert Rating.objects.filter(attempt=attempt).count() == 2


def test_idle_gap_within_a_batch_expires_the_session(make_campaign):
    campaign = make_campaign(session_timeout_minutes=30)
    start = timezone.now()
    annotator = ready(campaign, "P1")
    attempt = services.lecture_complete(annotator=annotator, now=start)
    items = inputs(attempt, start, positions=[1, 2])
    late = start + timedelta(minutes=45)
    items[1] = services.RatingInput(token=selectors.rating_token_make(attempt, 2, late), score=3,
                                    typed_reason="the mouth is blurry", now=late + timedelta(seconds=10))
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=annotator.pk, items=items)
    assert (error.value.code, error.value.status) == ("session_expired", 409)


def test_finished_attempts_accept_retries_only_and_redo_needs_the_lecture(make_campaign):
    campaign = make_campaign()
    start = timezone.now()
    annotator = ready(campaign, "P1")
    attempt = services.lecture_complete(annotator=annotator, now=start)
    videos = Video.objects.in_bulk(attempt.video_order)
    checker = next(p for p, v in enumerate(attempt.video_order, 1) if videos[v].role == Video.Role.CHECKER)
    miss = {checker: 1 if videos[attempt.video_order[checker - 1]].gold_score == 5 else 5}
    items = inputs(attempt, start, scores=miss)
    services.ratings_submit_batch(annotator_id=annotator.pk, items=items)
    finished = services.attempt_finish(annotator=annotator, attempt_number=1, now=start + timedelta(hours=1))
    assert finished.outcome == Attempt.Outcome.DISQUALIFIED
    result = services.ratings_submit_batch(annotator_id=annotator.pk, items=items[:3])  # a retry of stored answers
    assert result.next_position is None
    changed = [services.RatingInput(token=items[0].token, score=items[0].score % 5 + 1, typed_reason=items[0].typed_reason)]
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=annotator.pk, items=changed)
    assert error.value.code == "attempt_finished"
    redo = finished.session.attempts.get(number=2)
    with pytest.raises(ApplicationError) as error:
        services.ratings_submit_batch(annotator_id=annotator.pk, items=inputs(redo, start + timedelta(hours=1), positions=[1]))
    assert error.value.code == "lecture_first"
