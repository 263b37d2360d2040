"""Assignment: balanced ratings, never past the target, also when annotators start at the same moment."""
from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.db.models import Count, Q
from django.utils import timezone

from annotation import selectors, services, store
from annotation.store import postgres
from annotation.assignment import pick_least_rated
from annotation.errors import ApplicationError
from annotation.models import AnnotationSession, Annotator, Campaign, ConsentText, SessionItem, Video


def bare_campaign(regular: int, checkers: int, **fields) -> Campaign:
    """A campaign with video rows only (assignment never touches the files)."""
    campaign = Campaign.objects.create(slug=fields.pop("slug", "assign"), title="Assignment", **fields)
    ConsentText.objects.create(campaign=campaign, version=1, text="ok")
    Video.objects.bulk_create(
        [Video(campaign=campaign, content_hash=f"r{i:063d}", source_name=f"r{i}.mp4", file=f"videos/r{i}.mp4", poster=f"posters/r{i}.jpg")
         for i in range(regular)]
        + [Video(campaign=campaign, role=Video.Role.CHECKER, gold_score=5, content_hash=f"c{i:063d}", source_name=f"c{i}.mp4",
                 file=f"videos/c{i}.mp4", poster=f"posters/c{i}.jpg") for i in range(checkers)]
    )
    return campaign


def launch_ready(campaign: Campaign) -> Campaign:
    """`campaign` made to pass the launch checklist (annotation.readiness) that the entry asks:
    a demo row per grade and a completion code (its videos must fill a session already)."""
    Video.objects.bulk_create(
        Video(campaign=campaign, role=Video.Role.DEMO, demo_grade=g, content_hash=f"d{g:063d}", source_name=f"d{g}.mp4",
              file=f"videos/d{g}.mp4", poster=f"posters/d{g}.jpg") for g in range(1, 6)
    )
    campaign.completion_code = "DONE"
    campaign.save(update_fields=["completion_code"])
    return campaign


def ready_annotator(campaign: Campaign, n: int) -> Annotator:
    now = timezone.now()
    return Annotator.objects.create(
        campaign=campaign, source=Annotator.Source.PROLIFIC, external_id=f"W{n}", consented_at=now,
        consent=campaign.consent_texts.first(), demographics_at=now,
        age_group="20-29", gender="male", education="bachelor", prior_knowledge="none",
    )


def at_once(*calls):
    """Run the calls in threads released together (each on its own database connection, closed
    after); their results in call order. An exception in any call is raised here."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - handed to the test's thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def recounted_loads(campaign: Campaign, *, now) -> dict[int, int]:
    """The loads counted from every session item: what `selectors.video_assignment_loads` must equal."""
    cutoff = selectors.session_idle_cutoff(campaign, now)
    counted = Q(session__status=AnnotationSession.Status.QUALIFIED) | Q(
        session__status=AnnotationSession.Status.ACTIVE, session__last_activity_at__gte=cutoff
    )
    loads = dict.fromkeys(campaign.videos.filter(role=Video.Role.REGULAR).values_list("id", flat=True), 0)
    rows = (
        SessionItem.objects.filter(counted, video__campaign=campaign, video__role=Video.Role.REGULAR)
        .values("video_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    loads.update({row["video_id"]: row["n"] for row in rows})
    return loads


def test_pick_least_rated_prefers_fewest_and_respects_target():
    loads = {1: 0, 2: 0, 3: 1, 4: 2, 5: 3}
    picked = pick_least_rated(loads, 3, target=3, rng=random.Random(0))
    assert set(picked[:2]) == {1, 2} and picked[2] == 3
    assert pick_least_rated(loads, 10, target=3, rng=random.Random(0)) == picked + [4]
    # Ties are broken at random: over many draws each tied video is picked.
    firsts = Counter(pick_least_rated({1: 0, 2: 0, 3: 0}, 1, 5, random.Random(seed))[0] for seed in range(300))
    assert set(firsts) == {1, 2, 3} and min(firsts.values()) > 60


@pytest.mark.django_db
def test_many_sessions_stay_balanced_and_below_target():
    campaign = bare_campaign(regular=100, checkers=10, target_ratings_per_video=12)
    for n in range(40):
        annotator = ready_annotator(campaign, n)
        try:
            session = services.session_start(annotator=annotator).session
        except ApplicationError as error:
            assert error.code == "campaign_full"
            break
        items = list(session.items.select_related("video"))
        assert sum(i.video.role == Video.Role.CHECKER for i in items) == 5
        loads = selectors.video_assignment_loads(campaign, now=timezone.now())
        assert loads == recounted_loads(campaign, now=timezone.now())
        assert max(loads.values()) - min(loads.values()) <= 1
        assert max(loads.values()) <= campaign.target_ratings_per_video
    loads = selectors.video_assignment_loads(campaign, now=timezone.now())
    # 100 videos x 12 ratings = 1,200 slots; full sessions of 35 fill 34, the last one takes the rest.
    assert sum(loads.values()) == 1200 and set(loads.values()) == {12}


@pytest.mark.django_db
def test_annotator_never_gets_a_video_twice():
    campaign = bare_campaign(regular=50, checkers=8, target_ratings_per_video=5, sessions_per_annotator=3)
    annotator = ready_annotator(campaign, 1)
    first = services.session_start(annotator=annotator).session
    first.status = first.Status.QUALIFIED
    first.save()
    second = services.session_start(annotator=annotator).session
    a = set(first.items.values_list("video_id", flat=True))
    b = set(second.items.values_list("video_id", flat=True))
    assert not a & b
    assert len(b) == 15 + 3  # the 15 regular and 3 checker videos this annotator has not seen


# The two ways a session starts: the service of its own, and the lecture's start button (which
# takes the campaign lock in the statement that reads where the annotator stands).
SESSION_STARTS = {"session_start": services.session_start, "lecture_complete": services.lecture_complete}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("start_service", SESSION_STARTS)
def test_concurrent_starts_never_push_a_video_past_its_target(start_service):
    """Eight annotators start at the same instant; 70 videos x target 2 allow exactly four sessions of 35."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is tested; SQLite serializes every writer anyway")
    campaign = bare_campaign(regular=70, checkers=5, target_ratings_per_video=2, slug="race")
    annotators = [ready_annotator(campaign, n) for n in range(8)]

    def start(annotator):
        try:
            SESSION_STARTS[start_service](annotator=annotator)
            return "started"
        except ApplicationError as error:
            return error.code

    outcomes = at_once(*(lambda a=a: start(a) for a in annotators))
    assert Counter(outcomes) == {"started": 4, "campaign_full": 4}
    per_video = Counter(
        SessionItem.objects.filter(video__campaign=campaign, video__role=Video.Role.REGULAR).values_list("video_id", flat=True)
    )
    assert len(per_video) == 70 and set(per_video.values()) == {2}
    assert set(selectors.video_assignment_loads(campaign, now=timezone.now()).values()) == {2}


@pytest.mark.django_db
def test_assignment_candidates_are_the_unseen_videos_with_their_recounted_loads():
    """What a session start draws from, checked against a recount from every session item: regular
    videos the annotator never had, with their loads (idle sessions' holds taken off), and the
    checkers they never had."""
    from datetime import timedelta

    campaign = bare_campaign(regular=30, checkers=6, videos_per_session=12, checkers_per_session=2,
                             target_ratings_per_video=50, session_timeout_minutes=30, sessions_per_annotator=2,
                             slug="candidates")
    annotators = [ready_annotator(campaign, n) for n in range(6)]
    start = timezone.now() - timedelta(minutes=40)
    for n, annotator in enumerate(annotators[:5]):
        services.session_start(annotator=annotator, now=start + timedelta(minutes=n * 3))
    first = AnnotationSession.objects.get(annotator=annotators[0])
    first.status = AnnotationSession.Status.QUALIFIED
    first.save()
    assert services.sessions_release_abandoned(now=start + timedelta(minutes=34)) == 1  # annotator 1's
    services.session_start(annotator=annotators[0], now=start + timedelta(minutes=20))  # a second session
    now = timezone.now()  # idle past the timeout now: the sessions of annotators 2 and 3, not yet released
    assert AnnotationSession.objects.filter(status=AnnotationSession.Status.ABANDONED).get().annotator == annotators[1]

    recounted = recounted_loads(campaign, now=now)
    checkers = set(campaign.videos.filter(role=Video.Role.CHECKER).values_list("id", flat=True))
    for annotator in annotators:
        seen = set(SessionItem.objects.filter(session__annotator=annotator).values_list("video_id", flat=True))
        candidates = store.current().assignment_candidates(campaign, annotator, now=now)
        assert candidates.regular_loads == {video: load for video, load in recounted.items() if video not in seen}
        assert candidates.checkers == sorted(checkers - seen)
    assert len(store.current().assignment_candidates(campaign, annotators[5], now=now).regular_loads) == 30
    assert sorted(recounted.values()) != [0] * 30 and max(recounted.values()) >= 1


def stored(instance, *skip: str) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields if f.attname not in skip}


@pytest.mark.django_db
def test_the_session_statement_stores_what_the_orm_path_stores():
    """A new session on PostgreSQL is one statement (`PostgresStore.session_create`); it must write the rows the ORM
    path writes: the session, its items, the first attempt in the given order and the counters."""
    from datetime import timedelta

    from django.test.utils import CaptureQueriesContext

    from annotation.store.orm import OrmStore
    from annotation.store.postgres import PostgresStore

    if connection.vendor != "postgresql":
        pytest.skip("the statement exists on PostgreSQL only")
    campaign = bare_campaign(regular=20, checkers=4, slug="create")
    by_statement, by_orm = ready_annotator(campaign, 0), ready_annotator(campaign, 1)
    regular = list(campaign.videos.filter(role=Video.Role.REGULAR).values_list("id", flat=True)[:6])
    checkers = list(campaign.videos.filter(role=Video.Role.CHECKER).values_list("id", flat=True)[:2])
    order = [regular[3], checkers[1], *regular[:3], checkers[0], *regular[4:]]
    now = timezone.now() - timedelta(minutes=3)
    PostgresStore().session_create(campaign, by_statement, regular, checkers, order, now)  # prepares it
    with CaptureQueriesContext(connection) as queries:
        made = PostgresStore().session_create(campaign, by_statement, regular, checkers, order, now)
    assert [q["sql"][:80] for q in queries.captured_queries] == [postgres.SESSION_CREATE.sql[:80]]  # one round trip: the statement
    OrmStore().session_create(campaign, by_orm, regular, checkers, order, now)

    sessions = {a: AnnotationSession.objects.filter(annotator=a).order_by("id") for a in (by_statement, by_orm)}
    assert sessions[by_statement].count() == 2 and sessions[by_orm].count() == 1
    mine, theirs = sessions[by_statement].last(), sessions[by_orm].get()
    assert stored(made.session) == stored(mine)
    # started_at is the time of writing (auto_now_add), the other times are the service's `now`.
    assert stored(mine, "id", "annotator_id", "started_at") == stored(theirs, "id", "annotator_id", "started_at")
    assert mine.last_activity_at == now and mine.status == AnnotationSession.Status.ACTIVE
    assert set(mine.items.values_list("video_id", flat=True)) == set(theirs.items.values_list("video_id", flat=True)) == set(regular + checkers)
    assert stored(made) == stored(mine.attempts.get())
    assert stored(made, "id", "session_id", "started_at") == stored(theirs.attempts.get(), "id", "session_id", "started_at")
    assert made.video_order == order and made.number == 1 and made.lecture_completed_at == now
    for row in (mine, theirs, made, theirs.attempts.get()):
        assert abs(row.started_at - timezone.now()) < timedelta(seconds=30)
    # Three sessions hold each of the six regular videos now; the checkers keep no counter.
    counters = dict(campaign.videos.values_list("id", "assigned_sessions"))
    assert {video: counters[video] for video in regular} == dict.fromkeys(regular, 3)
    assert all(counters[video] == 0 for video in counters if video not in regular)
