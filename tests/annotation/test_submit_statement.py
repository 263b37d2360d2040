"""The rating submit's one-statement path on PostgreSQL against the rules of `ratings_submit_batch`.

Every answer the batch path refuses must be refused by the statement too (it stores nothing and
hands over, so the batch path names the rule); every answer the batch path accepts is stored by
the statement alone, in one SQL round trip.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation import selectors, services
from annotation.store import postgres
from annotation.errors import ApplicationError
from annotation.models import AnnotationSession, Attempt, Rating, Video
from annotation.store.postgres import PostgresStore

from .test_workflow import ready

pytestmark = pytest.mark.django_db

if connection.vendor != "postgresql":  # pragma: no cover - CI runs on PostgreSQL
    pytest.skip("the one-statement submit exists on PostgreSQL only", allow_module_level=True)


def statement(annotator, attempt, position, score, reason="the mouth looks blurry", *, now=None, served=None):
    """Call the one-statement path directly: a SubmitResult, or None when it stored nothing."""
    now = now or timezone.now()
    ticket = selectors.rating_token_read(selectors.rating_token_make(attempt, position, served or now - timedelta(seconds=4)))
    return PostgresStore().rating_submit(annotator.pk, ticket, score, reason, services.Playback(plays=2), now).result


def test_an_accepted_answer_is_one_sql_statement(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    statement(annotator, attempt, 2, 4)  # the connection's first submit prepares the statement
    token = selectors.rating_token_make(attempt, 1, timezone.now() - timedelta(seconds=6))
    with CaptureQueriesContext(connection) as queries:
        result = services.rating_submit(annotator_id=annotator.pk, token=token, score=2, typed_reason="  blurry mouth  ",
                                        playback=services.Playback(played_to_end=True, plays=3, seeks=1, fullscreen=True))
    assert [q["sql"][:80] for q in queries.captured_queries] == [postgres.SUBMIT.sql[:80]]  # one round trip: the statement
    assert result.rating_position == 1 and result.next_position == 3 and result.rated == {1, 2}
    assert result.attempt.pk == attempt.pk and result.attempt.video_order == attempt.video_order
    rating = Rating.objects.get(attempt=attempt, position=1)
    assert (rating.video_id, rating.position, rating.score) == (attempt.video_order[0], 1, 2)
    assert rating.reason == rating.typed_reason == "blurry mouth"
    assert (rating.played_to_end, rating.plays, rating.seeks, rating.fullscreen) == (True, 3, 1, True)
    assert 5.99 <= rating.seconds_spent < 60  # the token keeps milliseconds


def _prepared_here() -> set[str]:
    """The statements psycopg has prepared on this connection's PostgreSQL session."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def _submit_prepared() -> bool:
    return any("FOR KEY SHARE OF a" in text and "annotation_rating" in text for text in _prepared_here())


@pytest.mark.django_db(transaction=True)
def test_psycopg_prepares_the_statement_per_connection_after_its_threshold(make_campaign):
    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")
    if threshold is None:
        pytest.skip("server-side binding is off (DATABASE_SERVER_SIDE_BINDING=0): nothing is prepared")
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    connection.close()  # a fresh session: nothing prepared yet
    for position in range(1, threshold + 1):
        assert statement(annotator, attempt, position, 3) is not None
    assert not _submit_prepared()
    assert statement(annotator, attempt, threshold + 1, 3).rated == set(range(1, threshold + 2))
    assert _submit_prepared()
    connection.close()  # a new connection's session knows no prepared statement; psycopg starts again
    assert statement(annotator, attempt, 1, 4) is not None and not _submit_prepared()


def test_going_back_rewrites_the_row_and_grade_5_stores_the_fixed_sentence(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    assert statement(annotator, attempt, 1, 3) is not None
    assert statement(annotator, attempt, 2, 3) is not None
    again = statement(annotator, attempt, 1, 5, reason="young woman, dark hair")
    assert again.rated == {1, 2} and again.next_position == 3
    rating = Rating.objects.get(attempt=attempt, position=1)
    assert rating.score == 5 and rating.reason == campaign.grade5_reason and rating.typed_reason == "young woman, dark hair"
    assert Rating.objects.filter(attempt=attempt).count() == 2


def test_last_activity_is_refreshed_at_most_every_resolution(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    session = AnnotationSession.objects.get(pk=attempt.session_id)
    start = session.last_activity_at
    statement(annotator, attempt, 1, 3, now=start + services.ACTIVITY_RESOLUTION / 2)
    session.refresh_from_db()
    assert session.last_activity_at == start
    later = start + services.ACTIVITY_RESOLUTION * 2
    statement(annotator, attempt, 2, 3, now=later)
    session.refresh_from_db()
    assert session.last_activity_at == later


def _disqualified(campaign, annotator):
    """Attempt 1 rated with a checker missed and finished: attempt 2 waits for the lecture."""
    attempt = services.lecture_complete(annotator=annotator)
    videos = Video.objects.in_bulk(attempt.video_order)
    missed = False
    for position, video_id in enumerate(attempt.video_order, start=1):
        video, score = videos[video_id], 3
        if video.role == Video.Role.CHECKER:
            score = video.gold_score if missed else (4 if video.gold_score == 1 else 2)
            missed = True
        services.rating_submit(annotator_id=annotator.pk, token=selectors.rating_token_make(attempt, position, timezone.now()),
                               score=score, typed_reason="the mouth looks blurry", playback=services.Playback())
    assert services.attempt_finish(annotator=annotator, attempt_number=1).outcome == Attempt.Outcome.DISQUALIFIED
    return attempt, attempt.session.attempts.get(number=2)


# case: position, grade, reason, sent by the other annotator, minutes after the session started, the code
REFUSALS = {
    "reason too short": (1, 3, "bad", False, 0, "reason_too_short"),
    "grade 5 without a description": (1, 5, "", False, 0, "reason_too_short"),
    "grade out of range": (1, 6, "blurry mouth here", False, 0, "bad_score"),
    "position 0": (0, 3, "blurry mouth here", False, 0, "bad_token"),
    "position past the end": (41, 3, "blurry mouth here", False, 0, "bad_token"),
    "someone else's attempt": (1, 3, "blurry mouth here", True, 0, "bad_token"),
    "idle past the timeout": (1, 3, "blurry mouth here", False, 200, "session_expired"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_what_the_batch_path_refuses_the_statement_refuses(make_campaign, case):
    campaign = make_campaign(min_reason_length=10, session_timeout_minutes=120)
    annotator, other = ready(campaign), ready(campaign, "P2")
    attempt = services.lecture_complete(annotator=annotator)
    position, score, reason, by_other, minutes, code = REFUSALS[case]
    sender = other if by_other else annotator
    now = timezone.now() + timedelta(minutes=minutes)
    assert statement(sender, attempt, position, score, reason, now=now) is None
    assert not Rating.objects.exists()
    # The same answer through the public service: the batch path names the rule.
    with pytest.raises(ApplicationError) as refused:
        services.rating_submit(annotator_id=sender.pk, token=selectors.rating_token_make(attempt, position, timezone.now()),
                               score=score, typed_reason=reason, playback=services.Playback(), now=now)
    assert refused.value.code == code
    assert not Rating.objects.exists()


def test_finished_and_lecture_pending_attempts_are_refused(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    first, second = _disqualified(campaign, annotator)
    stored = Rating.objects.filter(attempt=first).count()
    # Attempt 1 is finished: a changed answer is refused (the batch path says so), attempt 2 needs the lecture.
    assert statement(annotator, first, 1, 1) is None
    with pytest.raises(ApplicationError) as late:
        services.rating_submit(annotator_id=annotator.pk, token=selectors.rating_token_make(first, 1, timezone.now()),
                               score=1 if Rating.objects.get(attempt=first, position=1).score != 1 else 2,
                               typed_reason="changed my mind", playback=services.Playback())
    assert late.value.code == "attempt_finished"
    assert statement(annotator, second, 1, 3) is None
    with pytest.raises(ApplicationError) as lecture:
        services.rating_submit(annotator_id=annotator.pk, token=selectors.rating_token_make(second, 1, timezone.now()),
                               score=3, typed_reason="the mouth looks blurry", playback=services.Playback())
    assert lecture.value.code == "lecture_first"
    assert Rating.objects.filter(attempt=first).count() == stored and not Rating.objects.filter(attempt=second).exists()
    services.lecture_complete(annotator=annotator)
    assert statement(annotator, second, 1, 3) is not None


@pytest.mark.django_db(transaction=True)
def test_a_submit_racing_the_finish_waits_and_is_then_refused(make_campaign):
    """Finish holds the attempt row; a changed answer sent meanwhile must not slip in after the checker rule ran."""
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    for position in range(1, len(attempt.video_order) + 1):
        video = Video.objects.get(pk=attempt.video_order[position - 1])
        score = video.gold_score if video.role == Video.Role.CHECKER else 3
        services.rating_submit(annotator_id=annotator.pk, token=selectors.rating_token_make(attempt, position, timezone.now()),
                               score=score, typed_reason="the mouth looks blurry", playback=services.Playback())
    regular_position = next(p for p, v in enumerate(attempt.video_order, start=1)
                            if Video.objects.get(pk=v).role == Video.Role.REGULAR)
    finishing, submitted = threading.Event(), []

    def late_change():
        finishing.wait(10)
        try:
            submitted.append(services.rating_submit(
                annotator_id=annotator.pk, token=selectors.rating_token_make(attempt, regular_position, timezone.now()),
                score=1, typed_reason="changed my mind after all", playback=services.Playback()))
        except ApplicationError as error:
            submitted.append(error.code)
        finally:
            connections.close_all()

    racer = threading.Thread(target=late_change)
    racer.start()
    with transaction.atomic():
        finished = services.attempt_finish(annotator=annotator, attempt_number=1)
        finishing.set()
        racer.join(0.5)
        assert racer.is_alive(), "the submit must wait for the finish holding the attempt"
    racer.join(10)
    assert finished.outcome == Attempt.Outcome.QUALIFIED
    assert submitted == ["attempt_finished"]
    assert Rating.objects.get(attempt=attempt, position=regular_position).score == 3
