"""Setting a campaign up: the staff list, the neutral root, the launch checklist and its gate, the
consent page's terms, the "I do not agree" path and the screen-out after the last attempt."""
from __future__ import annotations

import dataclasses

import pytest
from django.urls import reverse

from annotation import readiness, selectors
from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, ConsentText, Rating, Video

from ..roles import researcher
from .. import ids
from .test_views import walk_to_rating

READY = readiness.LaunchFacts(
    regular_videos=35, checker_videos=5, demo_grades=frozenset({1, 2, 3, 4, 5}), regular_per_session=35,
    checkers_per_session=5, consent_texts=1, lecture_text="Watch.", completion_code="C", completion_redirect_url="",
)


def failing(facts) -> list[str]:
    return [item.name for item in readiness.readiness_items(facts) if not item.ok]


def test_the_checklist_passes_with_just_enough():
    assert failing(READY) == []
    assert readiness.is_ready(readiness.readiness_items(READY))


@pytest.mark.parametrize("change, item", [
    ({"regular_videos": 34}, "regular_videos"),
    ({"checker_videos": 4}, "checker_videos"),
    ({"demo_grades": frozenset({1, 2, 3, 5})}, "demo_videos"),
    ({"consent_texts": 0}, "consent_text"),
    ({"lecture_text": "  \n"}, "lecture_text"),
    ({"completion_code": ""}, "completion"),
])
def test_each_item_flips_alone(change, item):
    facts = dataclasses.replace(READY, **change)
    assert failing(facts) == [item]
    assert not readiness.is_ready(readiness.readiness_items(facts))


def test_a_completion_redirect_alone_completes():
    assert failing(dataclasses.replace(READY, completion_code="", completion_redirect_url="https://x.example/done")) == []


@pytest.mark.django_db
def test_the_facts_follow_the_data(make_campaign):
    campaign = make_campaign()
    assert failing(selectors.campaign_readiness_facts(campaign)) == []
    # A video without a file is never shown, so it counts for nothing.
    Video.objects.filter(campaign=campaign, role=Video.Role.DEMO, demo_grade=3).update(file="")
    assert failing(selectors.campaign_readiness_facts(campaign)) == ["demo_videos"]
    campaign.checkers_per_session = 9  # the library has 8
    campaign.save()
    assert failing(selectors.campaign_readiness_facts(campaign)) == ["checker_videos", "demo_videos"]
    ConsentText.objects.filter(campaign=campaign).delete()
    assert "consent_text" in failing(selectors.campaign_readiness_facts(campaign))


@pytest.mark.django_db
def test_the_link_refuses_a_campaign_not_ready_before_consent(client, make_campaign):
    campaign = make_campaign()
    Video.objects.filter(campaign=campaign, role=Video.Role.REGULAR).delete()
    response = client.get(f"/c/{campaign.slug}/", ids.prolific_params("P1"))
    assert response.status_code == 503 and b"not ready yet" in response.content
    assert Annotator.objects.count() == 0


@pytest.mark.django_db
def test_a_campaign_that_stops_being_ready_refuses_at_consent_and_lecture(client, make_campaign):
    campaign = make_campaign()
    client.get(f"/c/{campaign.slug}/", ids.prolific_params("P1"))
    Video.objects.filter(campaign=campaign, role=Video.Role.CHECKER).update(file="")
    response = client.get(f"/c/{campaign.slug}/consent/")
    assert response.status_code == 503 and b"not ready yet" in response.content
    assert client.post(f"/c/{campaign.slug}/consent/", {"agree": "on", "version": "1"}).status_code == 503
    assert not Annotator.objects.exists()


@pytest.mark.django_db
def test_the_status_page_shows_the_checklist(client, make_campaign):
    campaign = make_campaign()
    Video.objects.filter(campaign=campaign, role=Video.Role.DEMO, demo_grade=2).delete()
    client.force_login(researcher("res", campaign=campaign, role="viewer"))
    page = client.get(f"/staff/campaigns/{campaign.slug}/").content.decode()
    assert "No lecture demo for grade(s) 2." in page and "not ready" in page


@pytest.mark.django_db
def test_the_consent_page_shows_duration_and_pay(client, make_campaign):
    campaign = make_campaign(expected_minutes=25, pay_text="£4.50")
    client.get(f"/c/{campaign.slug}/", ids.prolific_params("P1"))
    page = client.get(f"/c/{campaign.slug}/consent/").content.decode()
    assert "about 25 minutes" in page and "£4.50" in page and 'id="consent-decline"' in page


@pytest.mark.django_db
def test_not_agreeing_keeps_nothing_and_shows_the_code(client, make_campaign):
    campaign = make_campaign(no_consent_code="NOCONSENT-9", no_consent_redirect_url="https://platform.example/out")
    client.get(f"/c/{campaign.slug}/", ids.prolific_params("P1"))
    assert Annotator.objects.count() == 0  # nothing is written before consent
    response = client.post(f"/c/{campaign.slug}/consent/decline/")
    assert response["Location"] == reverse("annotation:declined", kwargs={"slug": campaign.slug})
    page = client.get(response["Location"]).content.decode()
    assert "NOCONSENT-9" in page and "https://platform.example/out" in page
    assert Annotator.objects.count() == 0 and AnnotationSession.objects.count() == 0
    # The browser forgot them: the link starts afresh, at consent.
    assert client.get(f"/c/{campaign.slug}/consent/")["Location"] == f"/c/{campaign.slug}/"


@pytest.mark.django_db
def test_one_who_agreed_cannot_decline_afterwards(client, make_campaign):
    make_campaign()
    annotator = walk_to_rating(client)
    assert client.post("/c/study/consent/decline/").status_code == 302
    assert Annotator.objects.filter(pk=annotator.pk).exists()


@pytest.mark.django_db
def test_the_last_attempt_missed_leads_to_the_screen_out_page(client, make_campaign):
    campaign = make_campaign(max_attempts=1, screen_out_code="SCREEN-7")
    annotator = walk_to_rating(client)
    attempt = Attempt.objects.get(session__annotator=annotator)
    videos = Video.objects.in_bulk(attempt.video_order)
    for position, video_id in enumerate(attempt.video_order, start=1):
        video = videos[video_id]
        Rating.objects.create(attempt=attempt, video=video, position=position, reason="r", typed_reason="r",
                              score=(4 if video.gold_score == 1 else 2) if video.gold_score else 3,
                              served_at=attempt.started_at, seconds_spent=1)
    response = client.post("/c/study/review/", {"attempt": "1"})
    assert response["Location"] == reverse("annotation:screened_out", kwargs={"slug": "study"})
    page = client.get(response["Location"]).content.decode()
    assert "SCREEN-7" in page
    # The link and the lecture send them back to the screen-out, never to a new session.
    assert client.get("/c/study/", ids.prolific_params("PID1"))["Location"].endswith("/lecture/")
    assert client.get("/c/study/lecture/")["Location"].endswith("/screened-out/")
    assert client.post("/c/study/lecture/")["Location"].endswith("/screened-out/")
    assert AnnotationSession.objects.get().status == AnnotationSession.Status.EXHAUSTED
    assert selectors.video_counter_drift(campaign) == {}


@pytest.mark.django_db
def test_the_screen_out_page_is_only_for_the_screened_out(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    assert client.get("/c/study/screened-out/")["Location"].endswith("/rate/")


@pytest.mark.django_db
def test_staff_list_shows_only_ones_campaigns(client, make_campaign):
    mine = make_campaign("mine", title="My study")
    Campaign.objects.create(slug="theirs", title="Their study")
    assert client.get("/staff/").status_code == 302  # sign in first
    client.force_login(researcher("res", campaign=mine, role="viewer"))
    page = client.get("/staff/").content.decode()
    assert "My study" in page and "Their study" not in page
    assert reverse("analysis:dashboard", kwargs={"slug": "mine"}) in page
    assert reverse("annotation:campaign_status", kwargs={"slug": "mine"}) in page
    assert reverse("admin:index") in page  # researcher() is staff


@pytest.mark.django_db
def test_the_root_lists_no_study(client, make_campaign):
    make_campaign("open-one", title="Secret open study")
    page = client.get("/").content.decode()
    assert "Secret open study" not in page and "/c/open-one/" not in page
    client.force_login(researcher("res"))
    assert reverse("annotation:staff_home") in client.get("/").content.decode()


def _row_counts() -> dict[str, int]:
    from django.apps import apps

    return {model.__name__: model.objects.count() for model in apps.get_app_config("annotation").get_models()}


@pytest.mark.django_db
def test_a_preview_walks_every_page_and_writes_no_row(client, make_campaign):
    campaign = make_campaign(min_reason_length=5)
    client.force_login(researcher("res", campaign=campaign, role="viewer"))
    counters = list(Video.objects.order_by("id").values_list("assigned_sessions", flat=True))
    before = _row_counts()
    response = client.get(f"/c/{campaign.slug}/", {"preview": "1"})
    assert response["Location"] == f"/c/{campaign.slug}/preview/"
    assert client.get(response["Location"])["Location"].endswith("/preview/consent/")
    page = client.get(f"/c/{campaign.slug}/preview/consent/").content.decode()
    assert 'id="preview-banner"' in page and "We store your ratings" in page
    assert client.post(f"/c/{campaign.slug}/preview/consent/", {"agree": "on", "version": "1"})["Location"].endswith("/preview/lecture/")
    assert client.get(f"/c/{campaign.slug}/preview/rate/")["Location"].endswith("/preview/lecture/")  # lecture first
    assert client.get(f"/c/{campaign.slug}/preview/lecture/").status_code == 200
    assert client.post(f"/c/{campaign.slug}/preview/lecture/")["Location"].endswith("/preview/rate/")
    page = client.get(f"/c/{campaign.slug}/preview/rate/").content.decode()
    assert f'action="/c/{campaign.slug}/preview/api/answers/"' in page
    api = f"/c/{campaign.slug}/preview/api/answers/"
    short = client.post(api, {"token": "1", "score": "3", "reason": "abc"}, content_type="application/json")
    assert short.status_code == 400 and short.json()["code"] == rules_code("SUBMIT_REASON")
    total = campaign.videos_per_session
    for position in range(1, total + 1):
        answer = client.post(api, {"token": str(position), "score": "3", "reason": "blurry mouth"},
                             content_type="application/json").json()
        assert answer["saved"] == position
    assert answer["redirect"].endswith("/preview/review/")
    review = client.get(answer["redirect"]).content.decode()
    assert review.count("blurry mouth") == total
    done = client.post(answer["redirect"]).content.decode()
    # Every checker got 3, so the ones of gold 1 and 5 are two grades off: disqualified.
    assert "disqualified" in done and "Nothing was recorded" in done
    assert _row_counts() == before
    assert list(Video.objects.order_by("id").values_list("assigned_sessions", flat=True)) == counters


def rules_code(name: str) -> str:
    from annotation import rules

    return getattr(rules, name).code


@pytest.mark.django_db
def test_annotators_never_get_a_preview(client, make_campaign):
    campaign = make_campaign()
    for url in (f"/c/{campaign.slug}/preview/", f"/c/{campaign.slug}/preview/rate/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(researcher("other", campaign=Campaign.objects.create(slug="other", title="Other")))
    assert client.get(f"/c/{campaign.slug}/preview/").status_code == 404
    assert Annotator.objects.count() == 0
