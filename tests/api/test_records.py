"""Annotators, sessions, attempts and ratings through the API: pseudonyms only, the issue's filters, pages."""
from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import Annotator, Attempt, Rating
from annotation.pseudonyms import annotator_name

from .conftest import api_client
from .test_permissions import ENDPOINTS, call

pytestmark = pytest.mark.django_db


def test_annotators_appear_by_pseudonym_and_attributes_only(world):
    client = api_client(world, "owner")
    body = client.get(f"/api/v1/campaigns/{world.campaign.slug}/annotators/").json()
    expected = {annotator_name(world.campaign.pk, a.pk) for a in Annotator.objects.filter(campaign=world.campaign)}
    assert {a["name"] for a in body["results"]} == expected and body["count"] == 4
    assert set(body["results"][0]) == {"name", "source", "age_group", "gender", "education", "prior_knowledge", "sessions_started", "qualified"}
    assert client.get(f"/api/v1/campaigns/{world.campaign.slug}/annotators/", {"gender": "female"}).json()["count"] == 2


def test_no_response_of_any_endpoint_carries_an_external_id_or_platform_parameters(world):
    Annotator.objects.filter(campaign=world.campaign).update(platform_params={"STUDY_ID": "secret-study"})
    secrets = list(Annotator.objects.filter(campaign=world.campaign).values_list("external_id", flat=True)) + ["secret-study"]
    client = api_client(world, "owner")
    for endpoint in ENDPOINTS:
        if endpoint.method == "GET":
            response = call(client, endpoint, world)
            text = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
            assert not [s for s in secrets if s in text] and "external_id" not in text and "platform_params" not in text, endpoint


def test_ratings_filter_by_the_issues_fields(world):
    client = api_client(world, "viewer")
    url = f"/api/v1/campaigns/{world.campaign.slug}/ratings/"
    ratings = Rating.objects.filter(video__campaign=world.campaign)
    count = lambda **query: client.get(url, query).json()["count"]  # noqa: E731
    assert count() == ratings.count() == 20  # 4 annotators x 4 videos, one annotator twice (a redo)
    assert count(qualified="true") == ratings.filter(attempt__outcome=Attempt.Outcome.QUALIFIED).count() == 16
    assert count(qualified="false") == count(outcome="disqualified") == 4
    assert count(attempt=2) == 4 and count(attempt=1) == 16
    assert count(method="m1") == ratings.filter(video__method="m1").count() == 5
    assert count(identity_pair="pair0") == ratings.filter(video__identity_pair="pair0").count()
    assert count(role="regular") == 20 and count(role="checker") == 0
    assert count(video=world.video_id, qualified="true") == 4
    rows = client.get(url, {"ordering": "-score", "page_size": 3}).json()
    assert len(rows["results"]) == 3 and rows["next"] and rows["results"][0]["score"] == ratings.order_by("-score").first().score
    first = rows["results"][0]
    assert first["annotator"].startswith("a") and len(first["annotator"]) == 13 and first["qualified"] == (first["outcome"] == "qualified")


def test_sessions_and_attempts(world):
    client = api_client(world, "viewer")
    base = f"/api/v1/campaigns/{world.campaign.slug}/"
    sessions = client.get(base + "sessions/", {"status": "qualified"}).json()
    assert sessions["count"] == 4 and sorted(s["attempts_count"] for s in sessions["results"]) == [1, 1, 1, 2]
    redo = next(s for s in sessions["results"] if s["attempts_count"] == 2)
    detail = client.get(base + f"sessions/{redo['id']}/").json()
    assert [(a["number"], a["outcome"]) for a in detail["attempts"]] == [(1, "disqualified"), (2, "qualified")]
    assert detail["videos_count"] == 4 and detail["annotator"] == redo["annotator"]
    attempts = client.get(base + "attempts/", {"qualified": "false"}).json()
    assert attempts["count"] == 1 and attempts["results"][0]["ratings_count"] == 4
    assert client.get(base + "attempts/", {"session": redo["id"], "attempt": 2}).json()["count"] == 1
    other_session = world.other.sessions.first()
    assert client.get(base + f"sessions/{other_session.pk}/").status_code == 404


def test_pages_and_bad_queries_answer_in_the_error_shape(world):
    client = api_client(world, "viewer")
    url = reverse("api:ratings", kwargs={"slug": world.campaign.slug})
    beyond = client.get(url, {"page": 99})
    assert beyond.status_code == 404 and beyond.json()["code"] == "not_found"
    for query in ({"attempt": "two"}, {"qualified": "perhaps"}, {"score": 9}, {"outcome": "won"}):
        response = client.get(url, query)
        assert response.status_code == 400 and response.json()["code"] == "invalid" and response.json()["error"], query
    assert client.get(url, {"page_size": 5000}).json()["count"] == 20  # capped at 1,000 a page, not refused


def test_a_list_costs_the_same_queries_for_three_times_the_rows(world):
    """No query per row: pseudonyms are computed, counts are subqueries, relations are joined."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ..analysis.factories import rated_campaign
    from ..roles import member

    from analysis import services

    big = rated_campaign(slug="big", n_annotators=12, n_videos=8)
    member(world.users["owner"], big, "owner")
    for _ in range(3):
        services.analysis_run_start(campaign=big, enqueue=lambda job_id: None)
    client = api_client(world, "owner")
    for what in ("videos", "annotators", "sessions", "attempts", "ratings", "members", "analyses"):
        counts = []
        for slug in ("rated", "big"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(f"/api/v1/campaigns/{slug}/{what}/").status_code == 200
            counts.append(len(queries.captured_queries))
        assert counts[0] == counts[1], (what, counts)
