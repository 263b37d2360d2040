"""The crowd-platform registry: identity, preview and completion of each platform, and the thank-you page."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from annotation import platforms, rules
from annotation.errors import ApplicationError
from annotation.models import Annotator, Attempt, Campaign, Video
from tests import ids

pytestmark = pytest.mark.django_db


PID, STUDY, SESSION = ids.prolific("P"), ids.prolific("S"), ids.prolific("X")
WORKER, ASSIGNMENT, HIT = "A1Y0ZGGQFE7B2Y", "3PMBY0YE272GIWPNWIF8IH5RBHVC9V", "3ZICQFRS31L2XAMPLE0HIT0000000A"


def test_each_platform_reads_its_own_identity():
    prolific = platforms.identity_from_request({"PROLIFIC_PID": PID, "STUDY_ID": STUDY, "SESSION_ID": SESSION, "x": "y"}, None)
    assert prolific == platforms.Identity("prolific", PID, {"STUDY_ID": STUDY, "SESSION_ID": SESSION})
    mturk = platforms.identity_from_request(
        {"workerId": WORKER, "assignmentId": ASSIGNMENT, "hitId": HIT, "turkSubmitTo": "https://www.mturk.com"}, None
    )
    assert (mturk.source, mturk.external_id) == ("mturk", WORKER)
    assert mturk.platform_params == {"assignmentId": ASSIGNMENT, "hitId": HIT, "turkSubmitTo": "https://www.mturk.com"}
    user = get_user_model().objects.create_user("lab1", password="pw-123456")
    lab = platforms.identity_from_request({}, user)
    assert lab == platforms.Identity("lab", str(user.pk), {"username": "lab1"})
    assert platforms.identity_from_request({}, AnonymousUser()) is None
    # Prolific is asked first: a link with both ids binds to Prolific.
    assert platforms.identity_from_request({"PROLIFIC_PID": PID, "workerId": WORKER}, user).source == "prolific"
    link = platforms.OPEN_LINK.identity_new()
    assert link.source == "link" and link != platforms.OPEN_LINK.identity_new()


# Each platform's parameters with a value of their form, and values each must refuse: the other
# platforms' forms, near misses, and the right form followed by a newline (Python's `$` lets one through).
VALID = {
    "PROLIFIC_PID": PID, "STUDY_ID": STUDY, "SESSION_ID": SESSION,
    "workerId": WORKER, "assignmentId": ASSIGNMENT, "hitId": HIT,
}
BAD = {
    "PROLIFIC_PID": [PID.upper(), PID[:-1], PID + "0", WORKER, "5f1a", "<script>"],
    "STUDY_ID": [STUDY[:-1], "st", STUDY.upper()],
    "SESSION_ID": [SESSION + "g", "se"],
    "workerId": [WORKER.lower(), "B" + WORKER[1:], "A", "A" + "1" * 64, PID, "A1B2;DROP"],
    "assignmentId": [ASSIGNMENT.lower(), "AS-1", "A" * 65],
    "hitId": ["h", "H I"],
}
BASE = {"PROLIFIC_PID": {"PROLIFIC_PID": PID}, "STUDY_ID": {"PROLIFIC_PID": PID}, "SESSION_ID": {"PROLIFIC_PID": PID},
        "workerId": {"workerId": WORKER}, "assignmentId": {"workerId": WORKER}, "hitId": {"workerId": WORKER}}


@pytest.mark.parametrize("name,bad", [(name, value) for name, values in BAD.items() for value in values]
                         + [(name, VALID[name] + "\n") for name in VALID]
                         + [(name, value) for name in VALID for value in (" " + VALID[name], VALID[name] + "\x00", "\ud800")])
def test_an_id_out_of_its_platforms_form_is_refused_naming_it(name, bad):
    with pytest.raises(ApplicationError) as refused:
        platforms.identity_from_request({**BASE[name], name: bad}, None)
    assert refused.value.code == rules.BAD_EXTERNAL_ID.code and name in refused.value.message


@pytest.mark.parametrize("name", list(VALID))
def test_an_id_of_its_platforms_form_is_accepted(name):
    identity = platforms.identity_from_request({**BASE[name], name: VALID[name]}, None)
    assert VALID[name] in {identity.external_id, *identity.platform_params.values()}


def test_lab_and_open_link_ids_are_checked_against_their_own_forms():
    assert platforms.PLATFORMS["lab"].checked({"id": "42"}).external_id == "42"
    for platform, bad in (("lab", "42\n"), ("lab", "x"), ("link", "short"), ("link", "a" * 22 + "\n"), ("link", "a/b" * 8)):
        with pytest.raises(ApplicationError):
            platforms.PLATFORMS[platform].checked({"id": bad})
    assert platforms.PLATFORMS["link"].checked({"id": "a" * 22}).external_id == "a" * 22


def test_mturk_submit_to_must_be_an_https_origin():
    for bad in ("javascript:alert(1)", "https://www.mturk.com/\n", "https://x.com/a?b"):
        with pytest.raises(ApplicationError):
            platforms.identity_from_request({"workerId": WORKER, "turkSubmitTo": bad}, None)


def test_a_bad_id_on_the_link_is_a_clear_page_and_writes_nothing(client, make_campaign):
    make_campaign()
    for params in ({"PROLIFIC_PID": PID + "\n"}, {"workerId": WORKER.lower()}, {"PROLIFIC_PID": PID, "SESSION_ID": "x\x00"}):
        response = client.get("/c/study/", params)
        assert response.status_code == 400 and b"invalid participant id" in response.content
    assert not Annotator.objects.exists()


def test_only_mturk_previews_are_previews():
    assert platforms.is_preview({"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"})
    assert not platforms.is_preview({"assignmentId": ASSIGNMENT}) and not platforms.is_preview({})


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
    params = {"workerId": WORKER, "assignmentId": ASSIGNMENT, "hitId": HIT, "turkSubmitTo": "https://www.mturk.com"}
    assert client.get("/c/study/", params)["Location"].endswith("/consent/")
    client.post("/c/study/consent/", {"agree": "on", "version": "1"})
    client.post("/c/study/about-you/", {"age_group": "20-29", "gender": "female", "education": "master", "prior_knowledge": "seen"})
    client.post("/c/study/lecture/")
    attempt = Attempt.objects.get(session__annotator__external_id=WORKER)
    videos = Video.objects.in_bulk(attempt.video_order)
    for video_id in attempt.video_order:
        page = client.get("/c/study/rate/").content.decode()
        token = page.split('name="token" id="token" value="')[1].split('"')[0]
        client.post("/c/study/api/ratings/", {"token": token, "score": str(videos[video_id].gold_score or 3),
                                              "reason": "some reason"}, content_type="application/json")
    assert client.post("/c/study/review/", {"attempt": "1"})["Location"].endswith("/thank-you/")
    page = client.get("/c/study/thank-you/").content.decode()
    assert 'action="https://www.mturk.com/mturk/externalSubmit"' in page and 'method="post"' in page
    assert f'name="assignmentId" value="{ASSIGNMENT}"' in page and campaign.completion_code in page


def agree(client):
    return client.post("/c/study/consent/", {"agree": "on", "version": "1"})


def test_a_worker_id_alone_does_not_open_someone_elses_session(client, make_campaign):
    from django.test import Client

    make_campaign()
    params = ids.prolific_params("VICTIM")
    assert client.get("/c/study/", params)["Location"].endswith("/consent/")
    assert agree(client)["Location"].endswith("/about-you/")
    victim = Annotator.objects.get(external_id=params["PROLIFIC_PID"])
    stranger = Client()
    for guess in ({"PROLIFIC_PID": params["PROLIFIC_PID"]}, {**params, "SESSION_ID": ids.prolific("guess")}):
        response = stranger.get("/c/study/", guess)
        assert response.status_code == 403 and b"another browser" in response.content
        assert stranger.get("/c/study/consent/")["Location"].endswith("/c/study/")  # no cookie was bound
    # The victim resumes from the first browser, and with Prolific's own session id from a new one.
    assert client.get("/c/study/", {"PROLIFIC_PID": params["PROLIFIC_PID"]})["Location"].endswith("/about-you/")
    assert Client().get("/c/study/", params)["Location"].endswith("/about-you/")
    mturk = {"workerId": WORKER, "assignmentId": ASSIGNMENT, "hitId": HIT}
    first = Client()
    first.get("/c/study/", mturk)
    agree(first)
    assert Client().get("/c/study/", mturk)["Location"].endswith("/about-you/")
    assert Client().get("/c/study/", {**mturk, "assignmentId": ids.mturk("other")}).status_code == 403
    victim.refresh_from_db()
    assert victim.platform_params["SESSION_ID"] == params["SESSION_ID"]


@pytest.mark.parametrize("params", [{}, ids.prolific_params("NEW"), {"workerId": WORKER, "assignmentId": ASSIGNMENT}],
                         ids=["link", "prolific", "mturk"])
def test_the_row_is_created_at_consent_once_not_on_visits(make_campaign, params):
    """N cookie-less visits write no annotator; agreeing writes one; agreeing twice still one."""
    from django.test import Client

    make_campaign()
    for _ in range(5):
        assert Client().get("/c/study/", params)["Location"].endswith("/consent/")
    browser = Client()
    browser.get("/c/study/", params)
    browser.get("/c/study/", params)  # a reload before agreeing
    assert browser.get("/c/study/consent/").status_code == 200
    assert not Annotator.objects.exists()
    assert agree(browser)["Location"].endswith("/about-you/")
    assert agree(browser)["Location"].endswith("/about-you/")  # the second click lands where the first did
    annotator = Annotator.objects.get()
    assert annotator.consented_at is not None and annotator.entry_token
    assert browser.get("/c/study/", params)["Location"].endswith("/about-you/")
    assert Annotator.objects.count() == 1


def test_a_double_submitted_consent_gets_the_one_row_and_another_browser_needs_proof(make_campaign):
    """Two submissions racing past the session (both read it before either wrote it) reach the
    service with the same identity and entry token: one row. Another browser's token, without the
    platform's proof, is refused."""
    from annotation import services

    campaign = make_campaign()
    consent = campaign.consent_texts.get()
    identity = platforms.identity_from_request({"PROLIFIC_PID": PID}, None)
    first = services.annotator_consent(campaign=campaign, identity=identity, consent=consent, entry_token="t" * 22)
    again = services.annotator_consent(campaign=campaign, identity=identity, consent=consent, entry_token="t" * 22)
    assert again.pk == first.pk and Annotator.objects.count() == 1
    with pytest.raises(ApplicationError) as refused:
        services.annotator_consent(campaign=campaign, identity=identity, consent=consent, entry_token="u" * 22)
    assert refused.value.code == rules.IDENTITY_UNPROVEN.code


def test_declining_writes_nothing_and_the_browser_forgets(client, make_campaign):
    make_campaign(no_consent_code="NOPE-1")
    client.get("/c/study/", ids.prolific_params("SHY"))
    response = client.post("/c/study/consent/decline/")
    assert response["Location"].endswith("/declined/") and b"NOPE-1" in client.get(response["Location"]).content
    assert client.get("/c/study/consent/")["Location"].endswith("/c/study/")
    assert client.post("/c/study/consent/", {"agree": "on", "version": "1"})["Location"].endswith("/c/study/")
    assert not Annotator.objects.exists()


def test_a_closed_campaign_takes_no_new_consent(client, make_campaign):
    campaign = make_campaign()
    client.get("/c/study/", ids.prolific_params("LATE"))
    Campaign.objects.filter(pk=campaign.pk).update(is_open=False)
    response = agree(client)
    assert response.status_code == 400 and b"closed" in response.content
    assert not Annotator.objects.exists()
