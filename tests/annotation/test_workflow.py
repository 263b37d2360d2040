"""The annotation state machine through its services: entry, consent, lecture, rating, finishing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation import platforms, selectors, services
from annotation.store import postgres
from annotation.errors import ApplicationError
from annotation.models import AnnotationSession, Annotator, Attempt, Rating, Video
from annotation.steps import Step

from tests import ids

from .test_assignment import recounted_loads

pytestmark = pytest.mark.django_db


def identity_of(pid: str) -> platforms.Identity:
    return platforms.identity_from_request(
        {"PROLIFIC_PID": ids.prolific(pid), "STUDY_ID": ids.prolific("S"), "SESSION_ID": ids.prolific("X")}, None)


def enter(campaign, pid="P1", consent=None) -> Annotator:
    """The annotator `pid` entered and consented (the row is created at consent)."""
    return services.annotator_consent(campaign=campaign, identity=identity_of(pid), entry_token=f"token-{pid}",
                                      consent=consent or selectors.campaign_current_consent(campaign))


def ready(campaign, pid="P1") -> Annotator:
    annotator = enter(campaign, pid)
    services.demographics_save(annotator=annotator, age_group="20-29", gender="female", education="master", prior_knowledge="heard")
    return annotator


def submit(annotator, attempt, position, score, reason="the mouth looks blurry", when=None):
    token = selectors.rating_token_make(attempt, position, when or timezone.now())
    return services.rating_submit(annotator_id=annotator.pk, token=token, score=score, typed_reason=reason,
                                  playback=services.Playback(played_to_end=True, plays=1))


def rate_attempt(annotator, attempt, miss_checker=False):
    """Rate every position; checkers get their gold score unless `miss_checker` (then 3 grades off)."""
    videos = Video.objects.in_bulk(attempt.video_order)
    missed = False
    for position, video_id in enumerate(attempt.video_order, start=1):
        video = videos[video_id]
        if video.role == Video.Role.CHECKER:
            score = video.gold_score
            if miss_checker and not missed:
                score = 4 if video.gold_score == 1 else 2
                missed = True
        else:
            score = 3
        submit(annotator, attempt, position, score)


def test_steps_from_entry_to_qualified(make_campaign):
    campaign = make_campaign()
    assert services.annotator_enter(campaign=campaign, identity=identity_of("P1"), known_annotator_id=None) is None
    assert not Annotator.objects.exists()  # nothing before consent
    annotator = enter(campaign)
    annotator.refresh_from_db()
    assert annotator.consent.version == 1 and annotator.consented_at is not None
    assert selectors.annotator_next_step(annotator) == Step.DEMOGRAPHICS
    services.demographics_save(annotator=annotator, age_group="20-29", gender="male", education="bachelor", prior_knowledge="none")
    assert selectors.annotator_next_step(annotator) == Step.LECTURE

    attempt = services.lecture_complete(annotator=annotator)
    session = attempt.session
    assert len(attempt.video_order) == 40
    roles = list(Video.objects.filter(id__in=attempt.video_order).values_list("role", flat=True))
    assert roles.count(Video.Role.CHECKER) == 5 and roles.count(Video.Role.REGULAR) == 35
    assert selectors.annotator_next_step(annotator) == Step.RATE

    rate_attempt(annotator, attempt)
    assert selectors.annotator_next_step(annotator) == Step.REVIEW
    finished = services.attempt_finish(annotator=annotator, attempt_number=1)
    assert finished.outcome == Attempt.Outcome.QUALIFIED
    session.refresh_from_db()
    assert session.status == AnnotationSession.Status.QUALIFIED
    assert selectors.annotator_next_step(annotator) == Step.DONE


def test_missed_checker_disqualifies_and_reorders_same_videos(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    first = services.lecture_complete(annotator=annotator)
    rate_attempt(annotator, first, miss_checker=True)
    outcome = services.attempt_finish(annotator=annotator, attempt_number=1)
    assert outcome.outcome == Attempt.Outcome.DISQUALIFIED
    assert selectors.annotator_next_step(annotator) == Step.LECTURE

    second = services.lecture_complete(annotator=annotator)
    assert second.number == 2 and second.session_id == first.session_id
    assert sorted(second.video_order) == sorted(first.video_order)
    assert second.video_order != first.video_order
    rate_attempt(annotator, second)
    assert services.attempt_finish(annotator=annotator, attempt_number=2).outcome == Attempt.Outcome.QUALIFIED
    # Both attempts' ratings are kept, each with its outcome.
    outcomes = dict(Rating.objects.filter(attempt__session=first.session).values_list("attempt__number", "attempt__outcome").distinct())
    assert outcomes == {1: Attempt.Outcome.DISQUALIFIED, 2: Attempt.Outcome.QUALIFIED}
    assert Rating.objects.filter(attempt__session=first.session).count() == 80


def test_checker_within_tolerance_passes(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    videos = Video.objects.in_bulk(attempt.video_order)
    for position, video_id in enumerate(attempt.video_order, start=1):
        video = videos[video_id]
        # One grade away from gold is within the tolerance of 1.
        score = (4 if video.gold_score == 5 else 2) if video.role == Video.Role.CHECKER else 3
        submit(annotator, attempt, position, score)
    assert services.attempt_finish(annotator=annotator, attempt_number=1).outcome == Attempt.Outcome.QUALIFIED


def test_submitting_twice_stores_one_rating_and_going_back_changes_it(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    token = selectors.rating_token_make(attempt, 1, timezone.now() - timedelta(seconds=7))
    for _ in range(3):
        services.rating_submit(annotator_id=annotator.pk, token=token, score=2, typed_reason="blurry mouth", playback=services.Playback())
    assert Rating.objects.filter(attempt=attempt).count() == 1
    rating = Rating.objects.get(attempt=attempt)
    assert rating.position == 1 and rating.score == 2 and rating.seconds_spent >= 7

    submit(annotator, attempt, 2, 4)
    changed = submit(annotator, attempt, 1, 5, reason="a young man with short hair")
    rating.refresh_from_db()
    assert rating.score == 5
    assert rating.reason == campaign.grade5_reason
    assert rating.typed_reason == "a young man with short hair"
    assert changed.next_position == 3
    assert Rating.objects.filter(attempt=attempt).count() == 2


def test_rating_validation_errors(make_campaign):
    campaign = make_campaign(min_reason_length=10)
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    with pytest.raises(ApplicationError) as short:
        submit(annotator, attempt, 1, 3, reason="bad")
    assert short.value.code == "reason_too_short"
    with pytest.raises(ApplicationError) as grade5:
        submit(annotator, attempt, 1, 5, reason="")
    assert grade5.value.code == "reason_too_short" and "person" in grade5.value.message
    with pytest.raises(ApplicationError) as forged:
        services.rating_submit(annotator_id=annotator.pk, token="abc:def", score=3, typed_reason="long enough text", playback=services.Playback())
    assert forged.value.code == "bad_token"
    other = ready(campaign, "P2")
    with pytest.raises(ApplicationError) as stolen:
        submit(other, attempt, 1, 3, reason="long enough text")
    assert stolen.value.code == "bad_token"
    assert not Rating.objects.exists()


def test_finish_requires_every_video_and_is_idempotent(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    submit(annotator, attempt, 1, 3)
    with pytest.raises(ApplicationError) as incomplete:
        services.attempt_finish(annotator=annotator, attempt_number=1)
    assert incomplete.value.code == "incomplete" and "39" in incomplete.value.message
    rate_attempt(annotator, attempt, miss_checker=True)
    assert services.attempt_finish(annotator=annotator, attempt_number=1).outcome == Attempt.Outcome.DISQUALIFIED
    # A double-clicked Finish must not evaluate attempt 2 (empty) or create attempt 3.
    assert services.attempt_finish(annotator=annotator, attempt_number=1).outcome == Attempt.Outcome.DISQUALIFIED
    assert attempt.session.attempts.count() == 2


def test_changing_answers_after_finish_is_refused_but_retry_is_fine(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    rate_attempt(annotator, attempt)
    services.attempt_finish(annotator=annotator, attempt_number=1)
    stored = Rating.objects.get(attempt=attempt, position=1)
    retry = submit(annotator, attempt, 1, stored.score, reason=stored.typed_reason)
    assert retry.next_position is None
    with pytest.raises(ApplicationError) as late:
        submit(annotator, attempt, 1, 1 if stored.score != 1 else 2)
    assert late.value.code == "attempt_finished"


def test_returning_worker_resumes_by_platform_id(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign, "WORKER9")
    attempt = services.lecture_complete(annotator=annotator)
    submit(annotator, attempt, 1, 3)
    again = services.annotator_enter(campaign=campaign, identity=identity_of("WORKER9"), known_annotator_id=None)
    assert again.pk == annotator.pk
    progress = selectors.annotator_progress(again)
    assert progress.step == Step.RATE and progress.next_position == 2
    mturk = platforms.identity_from_request({"workerId": ids.mturk_worker("W"), "assignmentId": ids.mturk("X9")}, None)
    assert mturk.source == Annotator.Source.MTURK
    with pytest.raises(ApplicationError):
        platforms.identity_from_request({"PROLIFIC_PID": "<script>"}, None)


def test_double_started_lecture_opens_one_session(make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    first = services.lecture_complete(annotator=annotator)
    second = services.lecture_complete(annotator=annotator)
    assert first.pk == second.pk
    assert AnnotationSession.objects.filter(annotator=annotator).count() == 1


def test_abandoned_session_releases_videos_and_keeps_ratings(make_campaign):
    campaign = make_campaign(session_timeout_minutes=30, target_ratings_per_video=1)
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    submit(annotator, attempt, 1, 3)
    regular = set(selectors.video_assignment_loads(campaign, now=timezone.now()))
    taken = set(attempt.video_order) & regular
    loads = selectors.video_assignment_loads(campaign, now=timezone.now())
    assert loads == recounted_loads(campaign, now=timezone.now())
    assert taken and all(loads[v] == 1 for v in taken)
    # With a target of 1, videos held by a session in progress go to no one else.
    other = services.session_start(annotator=ready(campaign, "W-early")).session
    assert not set(other.items.values_list("video_id", flat=True)) & taken

    later = timezone.now() + timedelta(minutes=31)
    # Idle past the timeout: its videos stop counting at once, before the release task runs.
    assert set(selectors.video_assignment_loads(campaign, now=later).values()) == {0}
    with pytest.raises(ApplicationError) as expired:
        services.rating_submit(
            annotator_id=annotator.pk, token=selectors.rating_token_make(attempt, 2, later), score=3,
            typed_reason="blurry face", playback=services.Playback(), now=later,
        )
    assert expired.value.code == "session_expired"
    assert services.sessions_release_abandoned(now=later) == 2
    assert set(selectors.video_assignment_loads(campaign, now=timezone.now()).values()) == {0}
    attempt.refresh_from_db()
    assert attempt.outcome == Attempt.Outcome.ABANDONED
    assert Rating.objects.filter(attempt=attempt).count() == 1
    # The annotator is sent through the lecture to a fresh session with videos they have not seen.
    assert selectors.annotator_next_step(annotator, now=later) == Step.LECTURE


def test_idle_sessions_give_their_videos_away_before_the_release_task(make_campaign):
    """Between two runs of the release task, a new annotator still gets the videos of an idle session."""
    campaign = make_campaign(session_timeout_minutes=30, target_ratings_per_video=1)
    regular = set(selectors.video_assignment_loads(campaign, now=timezone.now()))
    idle_annotator = ready(campaign)
    idle = services.lecture_complete(annotator=idle_annotator)
    later = timezone.now() + timedelta(minutes=31)
    # Others take every remaining video shortly before `later`, so their sessions are not idle then.
    for n in range(len(regular)):
        try:
            services.session_start(annotator=ready(campaign, f"W-other-{n}"), now=later - timedelta(minutes=5))
        except ApplicationError as error:
            assert error.code == "campaign_full"
            break
    session = services.session_start(annotator=ready(campaign, "W-later"), now=later).session
    assert set(session.items.values_list("video_id", flat=True)) & regular == set(idle.video_order) & regular
    assert selectors.video_assignment_loads(campaign, now=later) == recounted_loads(campaign, now=later)
    # The idle annotator comes back: their own idle session is closed and a new one drawn (none left).
    with pytest.raises(ApplicationError) as full:
        services.lecture_complete(annotator=idle_annotator, now=later)
    assert full.value.code == "campaign_full"
    assert services.sessions_release_abandoned(now=later) == 1
    idle.refresh_from_db()
    assert idle.outcome == Attempt.Outcome.ABANDONED
    assert selectors.video_assignment_loads(campaign, now=later) == recounted_loads(campaign, now=later)


def test_closed_campaign_takes_no_new_annotators(make_campaign):
    campaign = make_campaign(is_open=False)
    with pytest.raises(ApplicationError) as closed:
        enter(campaign)
    assert closed.value.code == "campaign_closed"


@pytest.mark.django_db(transaction=True)
def test_a_consent_submitted_four_times_at_once_gets_one_annotator():
    """A double (here quadruple) click on "I agree", the submissions racing past the session: all get
    the same, single annotator (the INSERT's ON CONFLICT, then the browser's entry token)."""
    from django.db import connections

    from .test_assignment import at_once, bare_campaign, launch_ready

    if connections["default"].vendor != "postgresql":
        pytest.skip("concurrent writers are what is tested; the test SQLite database locks whole tables")
    campaign = launch_ready(bare_campaign(regular=10, checkers=2, slug="tabs", videos_per_session=12, checkers_per_session=2))
    agree = lambda: enter(campaign, "SAME-PID").pk  # noqa: E731
    entered = at_once(*[agree] * 4)
    assert len(entered) == 4 and len(set(entered)) == 1
    assert Annotator.objects.filter(campaign=campaign, external_id=ids.prolific("SAME-PID")).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("start_service", ["session_start", "lecture_complete"])
def test_a_new_annotator_enters_while_a_session_start_holds_the_campaign_lock(start_service):
    """A session start locks the campaign row until it commits; a new annotator's row points at the
    campaign, and its insert must not queue behind that lock (the lock is FOR NO KEY UPDATE)."""
    import threading

    from django.db import connection, connections, transaction

    from .test_assignment import SESSION_STARTS, bare_campaign, launch_ready, ready_annotator

    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is tested")
    campaign = launch_ready(bare_campaign(regular=40, checkers=5, slug="busy"))
    starter = ready_annotator(campaign, 0)
    locked, release = threading.Event(), threading.Event()

    def start_and_hold():
        try:
            with transaction.atomic():
                SESSION_STARTS[start_service](annotator=starter)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=start_and_hold)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # FOR UPDATE would make the insert wait until then and fail
        newcomer = enter(campaign, "NEWCOMER")
        assert newcomer.pk and newcomer.campaign_id == campaign.pk
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert AnnotationSession.objects.filter(annotator=starter).count() == 1


def test_a_new_worker_is_one_statement_and_the_row_the_orm_would_store(make_campaign):
    """On PostgreSQL a new crowd worker's consent is one INSERT ... ON CONFLICT DO NOTHING RETURNING;
    the row and the returned annotator must be what the ORM stores and loads."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("the statement exists on PostgreSQL only")
    campaign = make_campaign()
    consent = selectors.campaign_current_consent(campaign)
    enter(campaign, "FIRST", consent)  # prepares the statement on this connection
    with CaptureQueriesContext(connection) as queries:
        annotator = enter(campaign, "SECOND", consent)
    assert [q["sql"][:80] for q in queries.captured_queries] == [postgres.ANNOTATOR_CREATE.sql[:80]]  # one round trip: the statement
    by_orm = Annotator.objects.create(campaign=campaign, source=Annotator.Source.PROLIFIC, external_id=ids.prolific("THIRD"),
                                      platform_params={"STUDY_ID": ids.prolific("S"), "SESSION_ID": ids.prolific("X")},
                                      consent=annotator.consent, consented_at=annotator.consented_at)
    stored = {f.attname: getattr(Annotator.objects.get(pk=annotator.pk), f.attname) for f in Annotator._meta.concrete_fields}
    returned = {f.attname: getattr(annotator, f.attname) for f in Annotator._meta.concrete_fields}
    assert returned == stored and not annotator._state.adding and annotator.campaign == campaign
    expected = {f.attname: getattr(by_orm, f.attname) for f in Annotator._meta.concrete_fields}
    for name in ("id", "external_id", "created_at", "entry_token"):
        stored.pop(name), expected.pop(name)
    assert stored == expected and returned["entry_token"] == "token-SECOND"
    # A second submission finds the row: the insert that does nothing, then the locked read; no write.
    with CaptureQueriesContext(connection) as queries:
        assert enter(campaign, "SECOND", consent).pk == annotator.pk
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements.count("INSERT") == 1 and "UPDATE" not in statements
    assert Annotator.objects.filter(external_id=ids.prolific("SECOND")).count() == 1


@pytest.mark.parametrize("outcome", [Attempt.Outcome.QUALIFIED, Attempt.Outcome.DISQUALIFIED])
def test_the_finish_statement_stores_what_the_orm_path_stores(make_campaign, outcome):
    """`attempt_finish` writes its outcome with one statement on PostgreSQL; the attempt, the next
    attempt of a disqualified one and the session must come out as the ORM path writes them."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the statement exists on PostgreSQL only")
    campaign = make_campaign()
    now = timezone.now() - timedelta(minutes=2)
    results = []
    from annotation.store.orm import OrmStore
    from annotation.store.postgres import PostgresStore

    for pid, close in (("BY-STATEMENT", PostgresStore().attempt_close), ("BY-ORM", OrmStore().attempt_close)):
        annotator = ready(campaign, pid)
        attempt = services.lecture_complete(annotator=annotator)
        rate_attempt(annotator, attempt)
        attempt.outcome, attempt.finished_at = outcome, now
        next_order = list(reversed(attempt.video_order)) if outcome == Attempt.Outcome.DISQUALIFIED else None
        close(attempt, next_order, now)
        session = AnnotationSession.objects.get(annotator=annotator)
        attempts = list(session.attempts.order_by("number").values(
            "number", "video_order", "outcome", "lecture_completed_at", "finished_at"))
        results.append((attempts, session.status, session.finished_at, session.last_activity_at, list(attempt.video_order)))
    (by_statement, *statement_session, order_1), (by_orm, *orm_session, order_2) = results
    for attempts, order in ((by_statement, order_1), (by_orm, order_2)):  # the orders differ: each session's own
        assert attempts[0]["video_order"] == order and attempts[0]["lecture_completed_at"] is not None
        attempts[0].update(video_order="first", lecture_completed_at="each lecture's own time")
        if outcome == Attempt.Outcome.DISQUALIFIED:
            assert attempts[1]["video_order"] == list(reversed(order))
            attempts[1]["video_order"] = "reversed"
    assert by_statement == by_orm and statement_session == orm_session
    assert by_statement[0]["outcome"] == outcome and by_statement[0]["finished_at"] == now
    if outcome == Attempt.Outcome.QUALIFIED:
        assert len(by_statement) == 1 and statement_session == [AnnotationSession.Status.QUALIFIED, now, now]
    else:
        assert by_statement[1] == {"number": 2, "video_order": "reversed", "outcome": Attempt.Outcome.IN_PROGRESS,
                                   "lecture_completed_at": None, "finished_at": None}
        assert statement_session[0] == AnnotationSession.Status.ACTIVE and statement_session[1:] == [None, now]


def test_a_start_for_an_annotator_who_is_gone_says_so(make_campaign):
    """The researcher deleted the annotator while their lecture page was open: a clear error, no session."""
    campaign = make_campaign()
    annotator = ready(campaign, "GONE")
    Annotator.objects.filter(pk=annotator.pk).delete()
    with pytest.raises(ApplicationError) as gone:
        services.lecture_complete(annotator=annotator)
    assert gone.value.code == "no_annotator" and gone.value.status == 404
    assert not AnnotationSession.objects.exists()


def test_campaign_status_counts_each_videos_qualified_ratings_and_open_sessions(make_campaign):
    """The status page's per-video counts against a recount from every row: ratings of qualified
    attempts only (not of disqualified, abandoned or open ones), and sessions in progress."""
    from collections import Counter

    from annotation.models import SessionItem

    campaign = make_campaign(session_timeout_minutes=30, sessions_per_annotator=1)
    qualified = ready(campaign, "Q")
    attempt = services.lecture_complete(annotator=qualified)
    rate_attempt(qualified, attempt)
    services.attempt_finish(annotator=qualified, attempt_number=1)
    redo = ready(campaign, "REDO")  # attempt 1 disqualified, attempt 2 qualified: only attempt 2 counts
    first = services.lecture_complete(annotator=redo)
    rate_attempt(redo, first, miss_checker=True)
    services.attempt_finish(annotator=redo, attempt_number=1)
    second = services.lecture_complete(annotator=redo)
    rate_attempt(redo, second)
    services.attempt_finish(annotator=redo, attempt_number=2)
    open_one = ready(campaign, "OPEN")  # rating, session still in progress
    submit(open_one, services.lecture_complete(annotator=open_one), 1, 3)
    gone = ready(campaign, "GONE")  # abandoned after two ratings
    gone_attempt = services.lecture_complete(annotator=gone)
    submit(gone, gone_attempt, 1, 3)
    submit(gone, gone_attempt, 2, 4)
    assert services.sessions_release_abandoned(now=timezone.now() + timedelta(minutes=31)) == 2  # GONE and OPEN
    late = ready(campaign, "LATE")
    services.lecture_complete(annotator=late)

    regular = set(campaign.videos.filter(role=Video.Role.REGULAR).values_list("id", flat=True))
    counted = Counter(r.video_id for r in Rating.objects.select_related("attempt")
                      if r.attempt.outcome == Attempt.Outcome.QUALIFIED and r.video_id in regular)
    held = Counter(i.video_id for i in SessionItem.objects.select_related("session")
                   if i.session.status == AnnotationSession.Status.ACTIVE and i.video_id in regular)
    status = selectors.campaign_status(campaign)
    assert {row["id"]: row["qualified"] for row in status.per_video} == {v: counted[v] for v in regular}
    assert {row["id"]: row["in_progress"] for row in status.per_video} == {v: held[v] for v in regular}
    assert [(r["qualified"], r["id"]) for r in status.per_video] == sorted((counted[v], v) for v in regular)
    assert sum(counted.values()) == status.qualified_ratings == 2 * campaign.regular_per_session
    assert sum(held.values()) == campaign.regular_per_session  # LATE's session only
    assert status.ratings_max == max(counted[v] for v in regular) and status.ratings_min == min(counted[v] for v in regular)
