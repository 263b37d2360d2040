"""The crowd-platform registry: identity, preview and completion of each platform, and the thank-you page."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from annotation import platforms, rules
from annotation.errors import ApplicationError
from annotation.models import Annotator, Attempt, Campaign, Video

pytestmark = pytest.mark.django_db


def test_each_platform_reads_its_own_identity():
    prolific = platforms.identity_from_request({"PROLIFIC_PID": "5f1a", "STUDY_ID": "st", "SESSION_ID": "se", "x": "y"}, None)
    assert prolific == platforms.Identity("prolific", "5f1a", {"STUDY_ID": "st", "SESSION_ID": "se"})
    mturk = platforms.identity_from_request(
        {"workerId": "A1B2", "assignmentId": "AS", "hitId": "H", "turkSubmitTo": "https://www.mturk.com"}, None
    )
    assert (mturk.source, mturk.external_id) == ("mturk", "A1B2")
    assert mturk.platform_params == {"assignmentId": "AS", "hitId": "H", "turkSubmitTo": "https://www.mturk.com"}
    user = get_user_model().objects.create_user("lab1", password="pw-123456")
    lab = platforms.identity_from_request({}, user)
    assert lab == platforms.Identity("lab", str(user.pk), {"username": "lab1"})
    assert platforms.identity_from_request({}, AnonymousUser()) is None
    # Prolific is asked first: a link with both ids binds to Prolific.
    assert platforms.identity_from_request({"PROLIFIC_PID": "P", "workerId": "W"}, user).source == "prolific"


@pytest.mark.parametrize("bad", ["a b", "P1\n", "x" * 129, "<script>", "P1;DROP"])
def test_an_id_out_of_form_is_refused(bad):
    for params in ({"PROLIFIC_PID": bad}, {"workerId": bad}):
        with pytest.raises(ApplicationError) as refused:
            platforms.identity_from_request(params, None)
        assert refused.value.code == rules.BAD_EXTERNAL_ID.code


def test_only_mturk_previews_are_previews():
    assert platforms.is_preview({"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"})
    assert not platforms.is_preview({"assignmentId": "3X4Y"}) and not platforms.is_preview({})


def test_the_registry_refuses_a_source_twice_or_one_the_model_does_not_know():
    with pytest.raises(ValueError):
        platforms.register(platforms.Prolific())

    class Unknown(platforms.Platform):
        source = "unknown"

    with pytest.raises(ValueError):
        platforms.register(Unknown())
    assert list(platforms.PLATFORMS) == ["prolific", "mturk", "lab", "link"]


def make(source, params, **campaign_fields):
    campaign = Campaign.objects.create(slug=f"c-{source}", title="t", **campaign_fields)
    return Annotator.objects.create(campaign=campaign, source=source, external_id="W1", platform_params=params)


def test_prolific_completion_redirects_with_the_code_unless_the_campaign_names_a_link():
    annotator = make("prolific", {}, completion_code="C0DE")
    done = platforms.completion_for(annotator)
    assert (done.method, done.url, done.code) == ("get", "https://app.prolific.com/submissions/complete?cc=C0DE", "C0DE")
    annotator.campaign.completion_redirect_url = "https://example.org/back"
    assert platforms.completion_for(annotator).url == "https://example.org/back"


def test_mturk_completion_posts_the_assignment_to_external_submit_of_mturk_only():
    annotator = make("mturk", {"assignmentId": "AS1", "turkSubmitTo": "https://workersandbox.mturk.com"}, completion_code="C")
    done = platforms.completion_for(annotator)
    assert (done.method, done.url) == ("post", "https://workersandbox.mturk.com/mturk/externalSubmit")
    assert done.fields == {"assignmentId": "AS1", "completion_code": "C"}
    annotator.platform_params["turkSubmitTo"] = "https://evil.example.com"
    assert platforms.completion_for(annotator).url == "https://www.mturk.com/mturk/externalSubmit"
    annotator.platform_params = {}
    assert platforms.completion_for(annotator).method == "get"  # no assignment: the campaign's code and link


def test_lab_and_open_link_get_the_campaigns_code_and_link():
    for source in ("lab", "link"):
        annotator = make(source, {}, completion_code="K", completion_redirect_url="https://example.org/x")
        assert platforms.completion_for(annotator) == platforms.Completion(code="K", url="https://example.org/x")


def test_an_mturk_worker_finishes_with_a_form_posted_to_external_submit(client, make_campaign):
    campaign = make_campaign()
    params = {"workerId": "W42", "assignmentId": "ASG42", "hitId": "H", "turkSubmitTo": "https://www.mturk.com"}
    assert client.get("/c/study/", params)["Location"].endswith("/consent/")
    client.post("/c/study/consent/", {"agree": "on", "version": "1"})
    client.post("/c/study/about-you/", {"age_group": "20-29", "gender": "female", "education": "master", "prior_knowledge": "seen"})
    client.post("/c/study/lecture/")
    attempt = Attempt.objects.get(session__annotator__external_id="W42")
    videos = Video.objects.in_bulk(attempt.video_order)
    for video_id in attempt.video_order:
        page = client.get("/c/study/rate/").content.decode()
        token = page.split('name="token" id="token" value="')[1].split('"')[0]
        client.post("/c/study/api/ratings/", {"token": token, "score": str(videos[video_id].gold_score or 3),
                                              "reason": "some reason"}, content_type="application/json")
    assert client.post("/c/study/review/", {"attempt": "1"})["Location"].endswith("/thank-you/")
    page = client.get("/c/study/thank-you/").content.decode()
    assert 'action="https://www.mturk.com/mturk/externalSubmit"' in page and 'method="post"' in page
    assert 'name="assignmentId" value="ASG42"' in page and campaign.completion_code in page


def test_a_worker_id_alone_does_not_open_someone_elses_session(client, make_campaign, django_user_model):
    from django.test import Client

    make_campaign()
    params = {"PROLIFIC_PID": "VICTIM1", "STUDY_ID": "st", "SESSION_ID": "secret-session"}
    assert client.get("/c/study/", params)["Location"].endswith("/consent/")
    victim = Annotator.objects.get(external_id="VICTIM1")
    stranger = Client()
    for guess in ({"PROLIFIC_PID": "VICTIM1"}, {"PROLIFIC_PID": "VICTIM1", "SESSION_ID": "guess"}):
        response = stranger.get("/c/study/", guess)
        assert response.status_code == 403 and b"another browser" in response.content
        assert stranger.get("/c/study/consent/")["Location"].endswith("/c/study/")  # no cookie was bound
    # The victim resumes from the first browser, and with Prolific's own session id from a new one.
    assert client.get("/c/study/", {"PROLIFIC_PID": "VICTIM1"}).status_code == 302
    other_device = Client()
    assert other_device.get("/c/study/", params)["Location"].endswith("/consent/")
    mturk = {"workerId": "AW1", "assignmentId": "ASG1", "hitId": "H"}
    assert Client().get("/c/study/", mturk).status_code == 302
    assert Client().get("/c/study/", {**mturk, "assignmentId": "ASG2"}).status_code == 403
    assert Client().get("/c/study/", mturk).status_code == 302
    victim.refresh_from_db()
    assert victim.platform_params["SESSION_ID"] == "secret-session"
