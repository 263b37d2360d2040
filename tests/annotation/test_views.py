"""Pages and endpoints through Django's client: routing by step, the rating API, Range requests, staff pages."""
from __future__ import annotations

import re

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from annotation.models import Annotator, Attempt, Rating, Video
from tests import ids

pytestmark = pytest.mark.django_db


def walk_to_rating(client, slug="study", pid="PID1"):
    response = client.get(f"/c/{slug}/", ids.prolific_params(pid))
    assert response.status_code == 302 and response["Location"].endswith("/consent/")
    assert client.post(f"/c/{slug}/consent/", {"version": "1"}).status_code == 200  # box not ticked: the form says so
    client.post(f"/c/{slug}/consent/", {"agree": "on", "version": "1"})
    response = client.post(f"/c/{slug}/about-you/", {"age_group": "20-29", "gender": "female",
                                                      "education": "master", "prior_knowledge": "seen"})
    assert response.status_code == 302
    assert client.get(f"/c/{slug}/rate/")["Location"].endswith("/lecture/")  # no skipping the lecture
    assert client.post(f"/c/{slug}/lecture/").status_code == 302
    return Annotator.objects.get(external_id=ids.prolific(pid))


def post_answer(client, answer: dict):
    """What the rating page's script sends: the form's fields as a JSON object."""
    return client.post("/c/study/api/ratings/", answer, content_type="application/json")


def token_of(html: str) -> str:
    return html.split('name="token" id="token" value="')[1].split('"')[0]


def test_rating_api_returns_next_item_without_labels(client, make_campaign):
    make_campaign()
    annotator = walk_to_rating(client)
    assert annotator.platform_params == {k: v for k, v in ids.prolific_params("PID1").items() if k != "PROLIFIC_PID"}
    page = client.get("/c/study/rate/").content.decode()
    assert "1 / 40" in page
    payload = {"token": token_of(page), "score": "2", "reason": "blurry mouth", "plays": "2", "seeks": "1", "played_to_end": "on"}
    first = post_answer(client, payload)
    again = post_answer(client, payload)
    assert first.status_code == again.status_code == 200
    data = first.json()
    assert data["saved"] == 1 and data["item"]["position"] == 2 and data["item"]["rated"] == 1
    assert set(data["item"]) == {"position", "total", "rated", "video_url", "poster_url", "token", "score", "reason"}
    rating = Rating.objects.get()
    assert (rating.plays, rating.seeks, rating.played_to_end, rating.fullscreen) == (2, 1, True, False)

    bad = post_answer(client, {**payload, "token": data["item"]["token"], "score": "9"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    short = post_answer(client, {**payload, "token": data["item"]["token"], "reason": "ok"})
    assert short.status_code == 400 and short.json()["code"] == "reason_too_short"
    assert Rating.objects.count() == 1


def test_rating_api_needs_the_annotator_cookie_and_their_own_token(make_campaign):
    """The API takes no CSRF token: the signed rating token of the annotator's own page stands in for it."""
    from django.test import Client

    make_campaign()
    response = post_answer(Client(), {"token": "x", "score": "3", "reason": "blurry"})
    assert response.status_code == 403 and response.json()["code"] == "no_annotator"
    victim, attacker = Client(enforce_csrf_checks=True), Client()
    walk = victim.get("/c/study/", {"PROLIFIC_PID": ids.prolific("Z")})
    assert walk.status_code == 302
    assert victim.post("/c/study/consent/", {"agree": "on", "version": "1"}).status_code == 403  # the pages' forms keep CSRF
    csrf = victim.get("/c/study/consent/").content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert victim.post("/c/study/consent/", {"agree": "on", "version": "1", "csrfmiddlewaretoken": csrf}).status_code == 302
    walk_to_rating(attacker, pid="ATTACKER")
    attackers_token = token_of(attacker.get("/c/study/rate/").content.decode())
    # A request forged in the victim's browser can only carry a token the attacker knows: refused.
    forged = post_answer(victim, {"token": attackers_token, "score": "1", "reason": "forged answer"})
    assert forged.status_code == 403 and forged.json()["code"] == "bad_token"
    post_answer(victim, {"token": "x" + attackers_token, "score": "1", "reason": "forged answer"})
    # What a form on another site can send: not JSON, so refused before the token is even read.
    form_post = victim.post("/c/study/api/ratings/", {"token": attackers_token, "score": "1", "reason": "forged answer"})
    assert form_post.status_code == 415 and form_post.json()["code"] == "not_json"
    assert not Rating.objects.exists()


def test_back_navigation_prefills_and_cannot_skip_ahead(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    page = client.get("/c/study/rate/").content.decode()
    post_answer(client, {"token": token_of(page), "score": "4", "reason": "eyes look odd"})
    back = client.get("/c/study/rate/", {"position": 1}).content.decode()
    assert 'value="4" checked' in back and "eyes look odd" in back
    ahead = client.get("/c/study/rate/", {"position": 30}).content.decode()
    assert "2 / 40" in ahead


def test_review_finish_and_thank_you_page(client, make_campaign):
    campaign = make_campaign(completion_redirect_url="https://example.org/done?cc=CODE-1234")
    annotator = walk_to_rating(client)
    attempt = Attempt.objects.get(session__annotator=annotator)
    videos = Video.objects.in_bulk(attempt.video_order)
    response = None
    for video_id in attempt.video_order:
        page = client.get("/c/study/rate/").content.decode()
        score = videos[video_id].gold_score or 3
        response = post_answer(client, {"token": token_of(page), "score": str(score), "reason": "some reason"})
    assert response.json()["redirect"] == "/c/study/review/"
    review = client.get("/c/study/review/").content.decode()
    assert review.count("Change") == 40
    done = client.post("/c/study/review/", {"attempt": "1"})
    assert done["Location"] == "/c/study/thank-you/"
    page = client.get("/c/study/thank-you/").content.decode()
    assert campaign.completion_code in page and "https://example.org/done?cc=CODE-1234" in page
    assert client.get("/c/study/", {"PROLIFIC_PID": ids.prolific("PID1")})["Location"].endswith("/thank-you/")


def test_mturk_preview_creates_nobody(client, make_campaign):
    make_campaign()
    response = client.get("/c/study/", {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "H"})
    assert response.status_code == 200 and b"Accept the task" in response.content
    assert not Annotator.objects.exists()
    bad = client.get("/c/study/", {"PROLIFIC_PID": "a b<c>"})
    assert bad.status_code == 400 and b"invalid participant id" in bad.content


def test_media_is_served_with_range_requests(client, make_campaign):
    campaign = make_campaign()
    video = campaign.videos.first()
    data = (Path(settings.MEDIA_ROOT) / video.file.name).read_bytes()
    whole = client.get(video.file.url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == data
    part = client.get(video.file.url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert b"".join(part.streaming_content) == data[100:200]
    tail = client.get(video.file.url, HTTP_RANGE="bytes=-50")
    assert b"".join(tail.streaming_content) == data[-50:]
    assert client.get(video.file.url, HTTP_RANGE=f"bytes={len(data)}-").status_code == 416
    assert client.get("/media/../config/settings.py").status_code == 404
    assert client.get(video.poster.url)["Content-Type"] == "image/jpeg"


def test_status_page_and_api_are_for_the_campaigns_members_only(client, make_campaign):
    from annotation.models import Campaign

    from ..roles import member, researcher

    campaign = make_campaign()
    walk_to_rating(client)
    assert client.get(f"/staff/campaigns/{campaign.slug}/").status_code == 302
    assert client.get(f"/api/campaigns/{campaign.slug}/status/").status_code == 401
    staff = researcher("res", campaign=Campaign.objects.create(slug="elsewhere", title="Elsewhere"))
    client.force_login(staff)
    # A staff flag and every permission, but no role in this campaign: it does not exist for them.
    assert client.get(f"/staff/campaigns/{campaign.slug}/").status_code == 404
    assert client.get(f"/api/campaigns/{campaign.slug}/status/").status_code == 404
    member(staff, campaign, "viewer")
    page = client.get(f"/staff/campaigns/{campaign.slug}/")
    assert page.status_code == 200 and b"sessions started" in page.content
    status = client.get(f"/api/campaigns/{campaign.slug}/status/").json()
    assert status["sessions_started"] == 1 and status["sessions_active"] == 1 and status["videos"] == 40
    assert status["annotators_redo"] == 0 and status["redo_share"] is None


def test_lab_annotator_binds_to_login(client, make_campaign):
    make_campaign()
    user = get_user_model().objects.create_user("lab1", password="pw")
    client.force_login(user)
    assert client.get("/c/study/")["Location"].endswith("/consent/")
    assert not Annotator.objects.exists()  # the row comes with consent
    client.post("/c/study/consent/", {"agree": "on", "version": "1"})
    annotator = Annotator.objects.get()
    assert annotator.source == Annotator.Source.LAB and annotator.user == user


def test_admin_lists_every_model(client, make_campaign):
    make_campaign()
    admin = get_user_model().objects.create_superuser("boss", password="pw")
    client.force_login(admin)
    walk_to_rating(client, pid="ADM")
    for name in ("campaign", "video", "annotator", "annotationsession", "rating"):
        response = client.get(reverse(f"admin:annotation_{name}_changelist"), {"q": "a"})
        assert response.status_code == 200, name
    assert client.get(reverse("admin:annotation_rating_add")).status_code == 403


def test_an_answer_that_is_not_a_json_object_is_refused_and_stores_nothing(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    token = token_of(client.get("/c/study/rate/").content.decode())
    url = "/c/study/api/ratings/"
    for body in (b"token=x&score=3", b'{"token": ', b"\xff\xfe", b'["token", "score"]'):
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400 and response.json()["code"] == "invalid", body
        assert "Reload the page" in response.json()["error"]
    wrong_type = post_answer(client, {"token": token, "score": "3", "reason": ["some", "reason"]})
    assert wrong_type.status_code == 400 and "'reason'" in wrong_type.json()["error"]
    assert not Rating.objects.exists()
    assert post_answer(client, {"token": token, "score": 3, "reason": "some reason", "plays": 1}).json()["saved"] == 1


def test_consent_records_the_version_the_page_showed(client, make_campaign):
    """A new consent version published while the page is open: the annotator is shown it and must
    agree again; what is stored is the version they agreed to."""
    from annotation.models import ConsentText

    campaign = make_campaign()
    client.get("/c/study/", {"PROLIFIC_PID": ids.prolific("READER")})
    page = client.get("/c/study/consent/").content.decode()
    assert 'name="version" value="1"' in page
    ConsentText.objects.create(campaign=campaign, version=2, text="Version two: your answers are kept for ten years.")
    stale = client.post("/c/study/consent/", {"agree": "on", "version": "1"})
    assert stale.status_code == 200 and "updated while this page was open" in stale.content.decode()
    assert "kept for ten years" in stale.content.decode() and 'name="version" value="2"' in stale.content.decode()
    assert not Annotator.objects.exists()  # nothing is written before the person agrees
    missing = client.post("/c/study/consent/", {"agree": "on"})
    assert missing.status_code == 200 and "out of date" in missing.content.decode()
    assert client.post("/c/study/consent/", {"agree": "on", "version": "2"})["Location"].endswith("/about-you/")
    annotator = Annotator.objects.get(external_id=ids.prolific("READER"))
    assert annotator.consent.version == 2 and annotator.consented_at is not None


def test_review_rows_show_each_answer_escaped_and_the_missing_ones(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    for reason in ('the <b>mouth</b> & "eyes" blur', "skin tone shifts"):
        page = client.get("/c/study/rate/").content.decode()
        assert post_answer(client, {"token": token_of(page), "score": "2", "reason": reason}).status_code == 200
    review = client.get("/c/study/review/", {"position": 3}).content.decode()
    rows = review.split("<tbody>")[1].split("</tbody>")[0]
    # Each row's thumbnail is its video's poster, named by content hash like every file an annotator sees.
    thumbs = re.findall(r'<td class="thumb-cell"><img class="thumb" src="(/media/posters/[0-9a-f]{64}\.jpg)" alt="" '
                        r'loading="lazy" width="64" height="36"></td>', rows)
    assert len(thumbs) == 40 and len(set(thumbs)) == 40
    rows = re.sub(r'<td class="thumb-cell">.*?</td>', "", rows)
    assert rows.count("<tr id=") == 40
    assert ('<tr id="row-1"><td>1</td><td><span class="grade-badge g2">2</span></td>'
            '<td class="reason-cell">the &lt;b&gt;mouth&lt;/b&gt; &amp; &quot;eyes&quot; blur</td>'
            '<td><a class="change-link" href="/c/study/rate/?position=1">Change</a></td></tr>') in rows
    assert ('<tr id="row-3"><td>3</td><td><em>missing</em></td><td class="reason-cell"></td>'
            '<td><a class="change-link" href="/c/study/rate/?position=3">Rate</a></td></tr>') in rows
    assert rows.count("<em>missing</em>") == 38 and rows.count(">Change<") == 2 and "<b>" not in rows
    assert "38 video(s) still need a grade" in review


def test_a_video_whose_file_went_missing_is_given_to_no_new_session_and_staff_are_told(client, make_campaign):
    """A stored file deleted (or a volume not mounted): the beat task takes the video out of
    assignment; a session that already held it still renders (no 500); the status page names it."""
    from django.test import Client

    from annotation import selectors, tasks

    from ..roles import researcher

    campaign = make_campaign()
    holder = walk_to_rating(client, pid="HOLDER")
    attempt = Attempt.objects.get(session__annotator=holder)
    gone = Video.objects.get(pk=attempt.video_order[0])
    Video.objects.filter(pk=gone.pk).update(file=f"videos/{'0' * 64}.mp4")  # its row names a file the storage lacks
    assert tasks.videos_missing_unlist_open() == 1
    assert tasks.videos_missing_unlist_open() == 0  # once
    gone.refresh_from_db()
    assert gone.file.name == "" and gone.poster.name == ""
    newcomer = walk_to_rating(Client(), pid="NEWCOMER")
    assert gone.pk not in Attempt.objects.get(session__annotator=newcomer).video_order
    selectors.video_media.cache_clear()
    page = client.get("/c/study/rate/")
    assert page.status_code == 200 and 'src=""' in page.content.decode()
    client.force_login(researcher("res", campaign=campaign, role="viewer"))
    status = client.get(f"/staff/campaigns/{campaign.slug}/").content.decode()
    assert 'id="videos-without-file"' in status and gone.source_name in status
