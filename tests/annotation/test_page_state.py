"""The annotator pages' one statement (`selectors.annotator_page_state` on PostgreSQL) against the ORM path.

At every step of the journey the statement must load the same annotator, campaign, current attempt
and session, rated positions and step as the ORM queries it replaces, in one round trip.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation import selectors, services
from annotation.store import postgres
from annotation.models import AnnotationSession, Annotator
from annotation.steps import Progress, Step

from .test_workflow import enter, rate_attempt, ready, submit

pytestmark = pytest.mark.django_db

if connection.vendor != "postgresql":  # pragma: no cover - CI runs on PostgreSQL
    pytest.skip("the page-state statement exists on PostgreSQL only", allow_module_level=True)


def stored_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def by_orm(annotator_id: int, slug: str, now):
    annotator = Annotator.objects.select_related("campaign").filter(pk=annotator_id, campaign__slug=slug).first()
    return None if annotator is None else (annotator, selectors.annotator_progress(annotator, now=now))


def assert_same_state(annotator: Annotator, expected_step: Step, *, now=None) -> Progress:
    now = now or timezone.now()
    slug = annotator.campaign.slug
    selectors.annotator_page_state(annotator.pk, slug, now=now)  # prepares the statement on this connection
    with CaptureQueriesContext(connection) as queries:
        loaded, progress = selectors.annotator_page_state(annotator.pk, slug, now=now)
    assert [q["sql"][:80] for q in queries.captured_queries] == [postgres.PAGE_STATE.sql[:80]]  # one round trip: the statement
    orm_annotator, orm_progress = by_orm(annotator.pk, slug, now)

    assert progress.step == orm_progress.step == expected_step
    assert stored_values(loaded) == stored_values(orm_annotator)
    assert stored_values(loaded.campaign) == stored_values(orm_annotator.campaign)
    assert progress.rated == orm_progress.rated and progress.next_position == orm_progress.next_position
    assert (progress.attempt is None) == (orm_progress.attempt is None)
    if progress.attempt is not None:
        assert stored_values(progress.attempt) == stored_values(orm_progress.attempt)
        assert stored_values(progress.attempt.session) == stored_values(orm_progress.attempt.session)
        assert isinstance(progress.attempt.video_order, list) and not progress.attempt._state.adding
    return progress


def test_every_step_of_a_journey_loads_as_the_orm_does(make_campaign):
    campaign = make_campaign(sessions_per_annotator=2)
    annotator = Annotator.objects.create(campaign=campaign, source="prolific", external_id="made-before-consent-rows",
                                         platform_params={"STUDY_ID": "S"})  # a row of before consent created rows
    annotator = Annotator.objects.get(pk=annotator.pk)
    assert_same_state(annotator, Step.CONSENT)
    annotator = enter(campaign)
    assert annotator.platform_params  # a JSON field, decoded like the ORM decodes it
    assert_same_state(annotator, Step.DEMOGRAPHICS)
    annotator = ready(campaign, "P2")
    assert_same_state(annotator, Step.LECTURE)

    attempt = services.lecture_complete(annotator=annotator)
    assert_same_state(annotator, Step.RATE)
    for position in (1, 2, 4):
        submit(annotator, attempt, position, 3)
    assert assert_same_state(annotator, Step.RATE).rated == {1, 2, 4}

    rate_attempt(annotator, attempt, miss_checker=True)
    assert_same_state(annotator, Step.REVIEW)
    services.attempt_finish(annotator=annotator, attempt_number=1)
    second = assert_same_state(annotator, Step.LECTURE).attempt
    assert second.number == 2 and second.lecture_completed_at is None

    second = services.lecture_complete(annotator=annotator)
    rate_attempt(annotator, second)
    services.attempt_finish(annotator=annotator, attempt_number=2)
    assert_same_state(annotator, Step.LECTURE)  # a second session may start
    campaign.is_open = False
    campaign.save()
    assert_same_state(annotator, Step.CLOSED)
    campaign.sessions_per_annotator = 1
    campaign.save()
    assert_same_state(annotator, Step.DONE)


def test_demographics_step_and_an_idle_session(make_campaign):
    campaign = make_campaign(session_timeout_minutes=30)
    annotator = enter(campaign)  # consented
    assert_same_state(annotator, Step.DEMOGRAPHICS)

    annotator = ready(campaign, "P2")
    services.lecture_complete(annotator=annotator)
    AnnotationSession.objects.filter(annotator=annotator).update(last_activity_at=timezone.now() - timedelta(minutes=31))
    progress = assert_same_state(annotator, Step.LECTURE)  # idle past the timeout: no current attempt
    assert progress.attempt is None
    assert assert_same_state(annotator, Step.RATE, now=timezone.now() - timedelta(minutes=2)).attempt is not None


def test_an_annotator_of_another_campaign_or_none_is_not_found(make_campaign):
    first, second = make_campaign("first"), make_campaign("second")
    annotator = ready(first)
    assert selectors.annotator_page_state(annotator.pk, "second") is None
    assert selectors.annotator_page_state(annotator.pk + 1000, "first") is None
    assert selectors.annotator_page_state(annotator.pk, "first")[0].pk == annotator.pk
    assert second.pk != first.pk


@pytest.mark.django_db(transaction=True)
def test_start_pressed_twice_at_once_opens_one_session():
    """Two requests of one annotator run lecture_complete together: the locked read makes the second
    wait and then find the session the first one started."""
    from .test_assignment import at_once, bare_campaign, ready_annotator

    campaign = bare_campaign(regular=40, checkers=5, slug="twice")
    annotator = ready_annotator(campaign, 0)
    press_start = lambda: services.lecture_complete(annotator=annotator).pk  # noqa: E731
    attempts = at_once(press_start, press_start)
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    assert AnnotationSession.objects.filter(annotator=annotator).count() == 1
