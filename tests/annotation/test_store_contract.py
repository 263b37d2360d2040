"""The store contract: every rule of `annotation.rules`, met the same way by each store.

Each test runs once per store the database can run: the ORM store everywhere, the PostgreSQL store
on PostgreSQL. The services are driven with the store under test as `store.current()`, so a rule
evaluated in SQL (the submit's rule columns) and one evaluated in Python (`rules.submit_checks`)
are held to the same table: the same code, message and status, and nothing stored on a refusal.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation import platforms, rules, selectors, services, store
from annotation.errors import ApplicationError
from annotation.models import AnnotationSession, Attempt, Rating, Video
from annotation.store.orm import OrmStore

from .test_workflow import enter, identity_of, rate_attempt, ready

pytestmark = pytest.mark.django_db


def _stores():
    stores = [pytest.param(OrmStore(), id="orm")]
    if connection.vendor == "postgresql":
        from annotation.store.postgres import PostgresStore

        stores.append(pytest.param(PostgresStore(), id="postgres"))
    return stores


@pytest.fixture(params=_stores())
def the_store(request, monkeypatch):
    """The store under test, made the one the services use."""
    monkeypatch.setattr(store, "current", lambda: request.param)
    return request.param


def refused_by(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        call()
    return refused.value


def assert_rule(error: ApplicationError, rule: rules.Rule) -> None:
    assert (error.code, error.status) == (rule.code, rule.status)


def submit(annotator_id, attempt, position, score, reason="the mouth looks blurry", *, now=None, served=None):
    now = now or timezone.now()
    token = selectors.rating_token_make(attempt, position, served or now - timedelta(seconds=3))
    return services.rating_submit(annotator_id=annotator_id, token=token, score=score, typed_reason=reason,
                                  playback=services.Playback(plays=1), now=now)


def test_every_submit_rule_has_a_check_and_the_table_has_no_duplicate():
    names = [rule.name for rule in rules.SUBMIT]
    assert len(set(names)) == len(names)
    checks = rules.submit_checks(
        owner=True, position=1, positions=1, attempt_open=True, last_activity=timezone.now(),
        timeout=timedelta(minutes=1), now=timezone.now(), lecture_done=True, played=True, score=3, typed_reason="x",
        min_reason_length=1,
    )
    assert list(checks) == names and all(checks.values())
    if connection.vendor == "postgresql":
        from annotation.store import postgres

        assert list(postgres._RULE_COLUMNS) == names


def test_an_accepted_answer_is_stored_and_counted(the_store, make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    assert submit(annotator.pk, attempt, 2, 4).rated == {2}
    result = submit(annotator.pk, attempt, 1, 5, reason="young man, short hair")
    assert (result.rating_position, result.next_position, result.rated) == (1, 3, {1, 2})
    rating = Rating.objects.get(attempt=attempt, position=1)
    assert rating.reason == campaign.grade5_reason and rating.typed_reason == "young man, short hair"
    assert rating.video_id == attempt.video_order[0] and rating.plays == 1
    assert submit(annotator.pk, attempt, 1, 2).rated == {1, 2}  # going back rewrites
    assert Rating.objects.filter(attempt=attempt).count() == 2


# rule: (position, grade, reason, sent by another annotator, minutes after the start, lecture taken)
SUBMIT_CASES = {
    rules.SUBMIT_OWNER: (1, 3, "blurry mouth here", True, 0, True),
    rules.SUBMIT_POSITION: (41, 3, "blurry mouth here", False, 0, True),
    rules.SUBMIT_ACTIVE: (1, 3, "blurry mouth here", False, 200, True),
    rules.SUBMIT_LECTURE: (1, 3, "blurry mouth here", False, 0, False),
    rules.SUBMIT_SCORE: (1, 6, "blurry mouth here", False, 0, True),
    rules.SUBMIT_REASON: (1, 3, "bad", False, 0, True),
}


@pytest.mark.parametrize("rule", list(SUBMIT_CASES), ids=lambda rule: rule.name)
def test_each_submit_rule_refuses_with_its_code_and_stores_nothing(the_store, make_campaign, rule):
    campaign = make_campaign(min_reason_length=10, session_timeout_minutes=120)
    annotator, other = ready(campaign), ready(campaign, "P2")
    attempt = services.lecture_complete(annotator=annotator)
    position, score, reason, by_other, minutes, lecture = SUBMIT_CASES[rule]
    if not lecture:
        Attempt.objects.filter(pk=attempt.pk).update(lecture_completed_at=None)
    sender = other if by_other else annotator
    error = refused_by(lambda: submit(sender.pk, attempt, position, score, reason, now=timezone.now() + timedelta(minutes=minutes)))
    assert_rule(error, rule)
    assert not Rating.objects.exists()


def test_a_later_rule_names_itself_only_when_the_earlier_ones_pass(the_store, make_campaign):
    """Ordered: an answer that breaks the grade and the reason rules hears about the grade."""
    campaign = make_campaign(min_reason_length=10)
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    assert_rule(refused_by(lambda: submit(annotator.pk, attempt, 1, 0, "x")), rules.SUBMIT_SCORE)
    assert_rule(refused_by(lambda: submit(annotator.pk, attempt, 99, 0, "x")), rules.SUBMIT_POSITION)
    error = refused_by(lambda: submit(annotator.pk, attempt, 1, 5, "short"))
    assert_rule(error, rules.SUBMIT_REASON)
    assert "the person in the video" in error.message and "10 characters" in error.message


def test_an_idle_session_says_how_long_the_timeout_is(the_store, make_campaign):
    campaign = make_campaign(session_timeout_minutes=45)
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    error = refused_by(lambda: submit(annotator.pk, attempt, 1, 3, now=timezone.now() + timedelta(minutes=46)))
    assert_rule(error, rules.SUBMIT_ACTIVE)
    assert "45 minutes" in error.message


def test_a_finished_attempt_takes_a_retry_but_refuses_a_change(the_store, make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    rate_attempt(annotator, attempt)
    assert services.attempt_finish(annotator=annotator, attempt_number=1).outcome == Attempt.Outcome.QUALIFIED
    stored = Rating.objects.get(attempt=attempt, position=1)
    retry = submit(annotator.pk, attempt, 1, stored.score, stored.typed_reason)
    assert retry.next_position is None and len(retry.rated) == len(attempt.video_order)
    assert_rule(refused_by(lambda: submit(annotator.pk, attempt, 1, 1 if stored.score != 1 else 2)), rules.SUBMIT_OPEN)
    assert Rating.objects.get(attempt=attempt, position=1).score == stored.score


def test_a_token_naming_no_attempt_is_someone_elses(the_store, make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    ghost = Attempt(pk=attempt.pk + 10_000, video_order=attempt.video_order)
    assert_rule(refused_by(lambda: submit(annotator.pk, ghost, 1, 3)), rules.SUBMIT_OWNER)
    assert_rule(refused_by(lambda: services.rating_submit(
        annotator_id=annotator.pk, token="not-a-token", score=3, typed_reason="long enough", playback=services.Playback(),
    )), rules.BAD_TOKEN)


def test_session_start_rules_in_order(the_store, make_campaign):
    campaign = make_campaign(sessions_per_annotator=1, target_ratings_per_video=1)
    first = ready(campaign)
    attempt = services.lecture_complete(annotator=first)
    rate_attempt(first, attempt)
    services.attempt_finish(annotator=first, attempt_number=1)
    assert_rule(refused_by(lambda: services.lecture_complete(annotator=first)), rules.NO_MORE_SESSIONS)
    # 40 regular videos, 35 a session, a target of one rating: the next annotator finds 5, the one after none.
    second, third = ready(campaign, "P2"), ready(campaign, "P3")
    assert len(services.lecture_complete(annotator=second).video_order) == 5 + campaign.checkers_per_session
    assert_rule(refused_by(lambda: services.lecture_complete(annotator=third)), rules.CAMPAIGN_FULL)
    campaign.is_open = False
    campaign.save()
    assert_rule(refused_by(lambda: services.lecture_complete(annotator=third)), rules.CAMPAIGN_CLOSED)
    assert AnnotationSession.objects.filter(annotator=third).count() == 0


def test_finish_rules(the_store, make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    assert_rule(refused_by(lambda: services.attempt_finish(annotator=annotator, attempt_number=1)), rules.NO_ATTEMPT)
    attempt = services.lecture_complete(annotator=annotator)
    submit(annotator.pk, attempt, 1, 3)
    error = refused_by(lambda: services.attempt_finish(annotator=annotator, attempt_number=1))
    assert_rule(error, rules.INCOMPLETE)
    assert error.message.startswith(f"{len(attempt.video_order) - 1} video(s)")


def test_finish_applies_the_checker_tolerance(the_store, make_campaign):
    campaign = make_campaign(checker_tolerance=1)
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    videos = Video.objects.in_bulk(attempt.video_order)
    for position, video_id in enumerate(attempt.video_order, start=1):
        gold = videos[video_id].gold_score
        submit(annotator.pk, attempt, position, 3 if gold is None else (gold - 1 if gold == 5 else gold + 1))
    finished = services.attempt_finish(annotator=annotator, attempt_number=1)
    assert finished.outcome == Attempt.Outcome.QUALIFIED  # one grade off is within the tolerance
    assert AnnotationSession.objects.get(pk=attempt.session_id).status == AnnotationSession.Status.QUALIFIED


def test_entry_rules(the_store, make_campaign):
    campaign = make_campaign()
    assert_rule(refused_by(lambda: platforms.identity_from_request({"PROLIFIC_PID": "a b"}, None)), rules.BAD_EXTERNAL_ID)
    first = enter(campaign, "P1")
    assert enter(campaign, "P1").pk == first.pk  # the same browser agreeing twice
    returning = lambda: services.annotator_enter(campaign=campaign, identity=identity_of("P1"), known_annotator_id=None)  # noqa: E731
    assert returning().pk == first.pk  # a returning worker
    campaign.is_open = False
    campaign.save()
    assert returning().pk == first.pk  # still resumes when the study closes
    assert_rule(refused_by(lambda: enter(campaign, "P-NEW")), rules.CAMPAIGN_CLOSED)
    assert_rule(refused_by(lambda: services.annotator_enter(campaign=campaign, identity=identity_of("P-NEW"), known_annotator_id=None)),
                rules.CAMPAIGN_CLOSED)
    assert_rule(refused_by(lambda: the_store.session_start_state(first.pk + 999, campaign.slug, now=timezone.now())),
                rules.ANNOTATOR_NOT_FOUND)


def test_a_video_without_a_file_is_never_assigned_and_staff_are_told(the_store, make_campaign):
    campaign = make_campaign()
    empty = [Video.objects.create(campaign=campaign, role=role, source_name=f"admin-{role}", content_hash=f"x{role}",
                                  gold_score=5 if role == Video.Role.CHECKER else None)
             for role in (Video.Role.REGULAR, Video.Role.CHECKER)]
    for pid in ("P1", "P2"):
        attempt = services.lecture_complete(annotator=ready(campaign, pid))
        assert not {video.pk for video in empty} & set(attempt.video_order)
        page = selectors.rating_item(attempt, 1, frozenset())  # the page renders: every video has a file
        assert page.media.file_url
    missing = selectors.campaign_status(campaign).videos_without_file
    assert [v["id"] for v in missing] == [video.pk for video in empty]


def test_a_campaign_not_ready_refuses_entry_before_any_row(the_store, make_campaign):
    campaign = make_campaign()
    campaign.videos.filter(role=Video.Role.REGULAR).delete()  # no video to give: the study cannot run
    assert_rule(refused_by(lambda: services.annotator_enter(campaign=campaign, identity=identity_of("P1"), known_annotator_id=None)),
                rules.CAMPAIGN_NOT_READY)
    assert_rule(refused_by(lambda: enter(campaign, "P1")), rules.CAMPAIGN_NOT_READY)
    assert campaign.annotators.count() == 0


def test_the_last_allowed_attempt_missed_screens_out_and_releases_the_videos(the_store, make_campaign):
    from django.core.management import call_command

    campaign = make_campaign(max_attempts=2, screen_out_code="OUT-1")
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    held = sum(Video.objects.filter(campaign=campaign).values_list("assigned_sessions", flat=True))
    assert held == campaign.regular_per_session
    rate_attempt(annotator, attempt, miss_checker=True)
    assert services.attempt_finish(annotator=annotator, attempt_number=1).outcome == Attempt.Outcome.DISQUALIFIED
    second = services.lecture_complete(annotator=annotator)  # a second attempt of the same session
    assert (second.number, second.session_id) == (2, attempt.session_id)
    rate_attempt(annotator, second, miss_checker=True)
    assert services.attempt_finish(annotator=annotator, attempt_number=2).outcome == Attempt.Outcome.DISQUALIFIED
    session = AnnotationSession.objects.get(pk=attempt.session_id)
    assert session.status == AnnotationSession.Status.EXHAUSTED and session.finished_at is not None
    assert Attempt.objects.filter(session=session).count() == 2  # no third attempt
    assert sum(Video.objects.filter(campaign=campaign).values_list("assigned_sessions", flat=True)) == 0
    assert selectors.video_counter_drift(campaign) == {}
    call_command("recount_video_counters", check=True, verbosity=0)  # exits 1 on any drift
    assert selectors.annotator_screened_out(annotator)
    assert_rule(refused_by(lambda: services.lecture_complete(annotator=annotator)), rules.ATTEMPTS_EXHAUSTED)
    assert AnnotationSession.objects.filter(annotator=annotator).count() == 1


def test_no_attempt_cap_keeps_giving_attempts(the_store, make_campaign):
    campaign = make_campaign(max_attempts=None)
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    for number in (1, 2, 3):
        rate_attempt(annotator, attempt, miss_checker=True)
        services.attempt_finish(annotator=annotator, attempt_number=number)
        attempt = services.lecture_complete(annotator=annotator)
        assert attempt.number == number + 1
    assert not selectors.annotator_screened_out(annotator)


def watch_demos(annotator):
    """Every lecture demo started and, its duration later by the given clock, ended."""
    start = timezone.now()
    for demo in selectors.demo_videos(annotator.campaign).values():
        services.play_start(annotator=annotator, video_id=demo.pk, now=start)
        services.play_end(annotator=annotator, video_id=demo.pk, now=start + timedelta(seconds=demo.duration_s))


def test_play_to_end_is_required_by_each_store_and_timed_by_the_server(the_store, make_campaign):
    """`rules.SUBMIT_PLAYED`: a campaign requiring play to the end takes a rating only after the video's
    end reached the server at least its duration after its start; seeking ahead (an early end) is
    refused and stores nothing; a batch is held to the same rule."""
    campaign = make_campaign(require_play_to_end=True)
    annotator = ready(campaign)
    watch_demos(annotator)
    attempt = services.lecture_complete(annotator=annotator)
    video = Video.objects.get(pk=attempt.video_order[0])
    assert video.duration_s > 0.6  # the rule must have something to measure
    now = timezone.now() + timedelta(seconds=1)
    assert_rule(refused_by(lambda: submit(annotator.pk, attempt, 1, 3, now=now)), rules.SUBMIT_PLAYED)
    token = selectors.rating_token_make(attempt, 1, now)
    video_id = services.play_video_of_token(annotator=annotator, token=token)
    assert video_id == video.pk
    assert_rule(refused_by(lambda: services.play_end(annotator=annotator, video_id=video_id, now=now)), rules.PLAY_NOT_STARTED)
    services.play_start(annotator=annotator, video_id=video_id, now=now)
    early = now + timedelta(seconds=0.1)  # a seek to the end
    assert_rule(refused_by(lambda: services.play_end(annotator=annotator, video_id=video_id, now=early)), rules.PLAY_TOO_SHORT)
    assert_rule(refused_by(lambda: submit(annotator.pk, attempt, 1, 3, now=early)), rules.SUBMIT_PLAYED)
    assert_rule(refused_by(lambda: services.ratings_submit_batch(annotator_id=annotator.pk, items=[services.RatingInput(
        token=token, score=3, typed_reason="the mouth is blurry", now=early)])), rules.SUBMIT_PLAYED)
    assert not Rating.objects.exists()
    ended = now + timedelta(seconds=video.duration_s)
    services.play_end(annotator=annotator, video_id=video_id, now=ended)
    assert submit(annotator.pk, attempt, 1, 3, now=ended).rated == {1}
    # Another annotator's page cannot report plays, and a played video counts for its own position only.
    other = ready(campaign, "P2")
    assert_rule(refused_by(lambda: services.play_video_of_token(annotator=other, token=token)), rules.SUBMIT_OWNER)
    assert_rule(refused_by(lambda: submit(annotator.pk, attempt, 2, 3, now=ended)), rules.SUBMIT_PLAYED)


def test_the_lecture_starts_only_after_every_demo_played_to_the_end(the_store, make_campaign):
    """`rules.LECTURE_DEMOS_PLAYED`, checked by the session start on both stores."""
    campaign = make_campaign(require_play_to_end=True)
    annotator = ready(campaign)
    demos = [video.pk for video in selectors.demo_videos(campaign).values()]
    assert_rule(refused_by(lambda: services.lecture_complete(annotator=annotator)), rules.LECTURE_DEMOS_PLAYED)
    assert_rule(refused_by(lambda: services.play_video_of_demo(annotator=annotator, demo_id=Video.objects.filter(
        role=Video.Role.REGULAR).first().pk)), rules.PLAY_VIDEO_UNKNOWN)
    start = timezone.now()
    for demo in demos:
        services.play_start(annotator=annotator, video_id=services.play_video_of_demo(annotator=annotator, demo_id=demo), now=start)
    for demo in demos[:-1]:
        services.play_end(annotator=annotator, video_id=demo, now=start + timedelta(seconds=2))
    assert_rule(refused_by(lambda: services.lecture_complete(annotator=annotator)), rules.LECTURE_DEMOS_PLAYED)
    assert AnnotationSession.objects.filter(annotator=annotator).count() == 0
    services.play_end(annotator=annotator, video_id=demos[-1], now=start + timedelta(seconds=2))
    assert services.lecture_complete(annotator=annotator).lecture_completed_at is not None
