"""Hostile or broken requests get a clear answer, never a server error, and store nothing half-made."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from annotation.models import Annotator, Attempt, Rating

from .test_views import post_answer, token_of, walk_to_rating

from tests import ids

pytestmark = pytest.mark.django_db


def rating_page_token(client) -> str:
    return token_of(client.get("/c/study/rate/").content.decode())


def test_a_range_header_with_thousands_of_digits_gets_the_whole_file(client, make_campaign):
    video = make_campaign().videos.first()
    response = client.get(video.file.url, HTTP_RANGE="bytes=" + "9" * 5000 + "-")
    assert response.status_code == 200 and response["Content-Length"] == str(video.file.size)


def test_only_videos_and_posters_are_served_even_through_dot_dot(client, make_campaign):
    make_campaign()
    secret = Path(settings.MEDIA_ROOT) / "private-note.txt"
    secret.write_text("not for annotators")
    try:
        for path in ("/media/videos/../private-note.txt", "/media/posters/../private-note.txt",
                     "/media/videos/./../private-note.txt", "/media/videos//../private-note.txt"):
            assert client.get(path).status_code == 404, path
    finally:
        secret.unlink()


@pytest.mark.parametrize("reason", ["blurry\x00 mouth here", "blurry \ud800 mouth here"])
def test_a_reason_with_a_nul_or_a_lone_surrogate_is_refused_with_a_message(client, make_campaign, reason):
    make_campaign()
    walk_to_rating(client)
    body = json.dumps({"token": rating_page_token(client), "score": "3", "reason": reason})  # \ud800 stays escaped
    response = client.post("/c/study/api/ratings/", body, content_type="application/json")
    assert response.status_code == 400 and "cannot be stored" in response.json()["error"]
    assert not Rating.objects.exists()


def test_deeply_nested_json_and_an_oversized_body_are_refused_as_json(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post("/c/study/api/ratings/", nested, content_type="application/json")
    assert response.status_code in (400, 413) and response.json()["code"] in ("invalid", "too_large")
    deep = "[" * 5_000 + "]" * 5_000  # under the size limit, past the parser's depth
    response = client.post("/c/study/api/ratings/", deep, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    huge = json.dumps({"token": rating_page_token(client), "score": "3", "reason": "x" * 40_000})
    response = client.post("/c/study/api/ratings/", huge, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert not Rating.objects.exists()


def test_invisible_characters_do_not_count_towards_the_reason(client, make_campaign):
    make_campaign(min_reason_length=10)
    walk_to_rating(client)
    for padded in ("\u200b" * 30, "a" + "\u200d" * 30, "a b c d e", "\ufeff\u2060 x \u00a0\u3000 y"):
        response = post_answer(client, {"token": rating_page_token(client), "score": "3", "reason": padded})
        assert response.status_code == 400 and response.json()["code"] == "reason_too_short", padded
    assert post_answer(client, {"token": rating_page_token(client), "score": "3", "reason": "模糊的嘴巴和闪烁的脸部边缘"}).status_code == 200


def test_numbers_beyond_the_columns_are_refused_by_the_forms(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    response = client.post("/c/study/review/", {"attempt": "9" * 30})
    assert response.status_code == 400 and "incomplete" in response.content.decode()
    client.get("/c/study/", {"PROLIFIC_PID": ids.prolific("NEWONE")})
    response = client.post("/c/study/consent/", {"agree": "on", "version": "9" * 30})
    assert response.status_code == 200 and not Annotator.objects.filter(external_id=ids.prolific("NEWONE")).exists()
    assert Attempt.objects.count() == 1


@pytest.mark.parametrize("pid", [ids.prolific("P1") + "\x00", ids.prolific("P1") + "\n", "P1%00", "P\u00e91"])
def test_a_crowd_id_with_control_or_foreign_characters_is_refused(client, make_campaign, pid):
    make_campaign()
    response = client.get("/c/study/", {"PROLIFIC_PID": pid})
    assert response.status_code == 400 and b"invalid participant id" in response.content
    assert not Annotator.objects.exists()


def test_new_visitors_from_one_address_are_rate_limited_but_returning_ones_are_not(client, make_campaign, settings):
    from django.core.cache import cache
    from django.test import Client

    cache.clear()
    settings.ENTRY_RATE_LIMIT, settings.ENTRY_RATE_WINDOW = 3, 60
    make_campaign()
    assert client.get("/c/study/", ids.prolific_params("FIRST")).status_code == 302
    for n in range(2):
        assert Client().get("/c/study/", ids.prolific_params(f"BOT{n}")).status_code == 302
    refused = Client().get("/c/study/", ids.prolific_params("BOT9"))
    assert refused.status_code == 429 and b"wait a few minutes" in refused.content
    assert client.get("/c/study/").status_code == 302  # the first visitor, back with their cookie (not yet consented)
    assert client.post("/c/study/consent/", {"agree": "on", "version": "1"}).status_code == 302
    assert client.get("/c/study/").status_code == 302  # and once consented
    assert list(Annotator.objects.values_list("external_id", flat=True)) == [ids.prolific("FIRST")]
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert other.get("/c/study/", ids.prolific_params("ELSEWHERE")).status_code == 302
    cache.clear()


def test_a_malformed_content_length_is_a_clear_answer_not_a_500(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    for length in ("abc", "-5", "9" * 40):
        response = client.post("/c/study/api/ratings/", "{}", content_type="application/json", CONTENT_LENGTH=length)
        assert response.status_code in (400, 413) and response.json()["code"] in ("invalid", "too_large"), length
    assert not Rating.objects.exists()
