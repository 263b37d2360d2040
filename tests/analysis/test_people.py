"""The people pages: one annotator found by internal or platform id, exclusions by platform id, approval
lists for Prolific and MTurk, platform ids in the ratings export, and what a disqualified annotator is told."""
from __future__ import annotations

import csv
import io
import re

import pytest

from analysis.models import AnnotatorExclusion
from annotation import platforms, services
from annotation.models import Attempt, Campaign, Video

from ..annotation.test_views import walk_to_rating
from ..annotation.test_workflow import rate_attempt, ready, submit
from ..roles import researcher
from .. import ids

P1, P2, P3, S, X = (ids.prolific(tag) for tag in ("P1", "P2", "P3", "S", "X"))
W1, ASG1, HIT1 = ids.mturk_worker("W1"), ids.mturk("ASG1"), ids.mturk("HIT1")

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_campaign):
    """A study with an owner, an analyst, a viewer and an outsider, and annotators: P1 qualified,
    P2 disqualified (one checker 3 grades off), P3 rating, W1 (MTurk) qualified."""
    campaign = make_campaign()
    users = {role: researcher(role, campaign=campaign, role=role) for role in ("owner", "analyst", "viewer")}
    users["outsider"] = researcher("outsider")
    p1, p2, p3 = ready(campaign, "P1"), ready(campaign, "P2"), ready(campaign, "P3")
    for annotator, miss in ((p1, False), (p2, True)):
        attempt = services.lecture_complete(annotator=annotator)
        rate_attempt(annotator, attempt, miss_checker=miss)
        services.attempt_finish(annotator=annotator, attempt_number=1)
    in_progress = services.lecture_complete(annotator=p3)
    submit(p3, in_progress, 1, 3)
    identity = platforms.identity_from_request({"workerId": W1, "assignmentId": ASG1, "hitId": HIT1}, None)
    w1 = services.annotator_consent(campaign=campaign, identity=identity, consent=campaign.consent_texts.get(), entry_token="t-W1")
    services.demographics_save(annotator=w1, age_group="20-29", gender="male", education="master", prior_knowledge="heard")
    attempt = services.lecture_complete(annotator=w1)
    rate_attempt(w1, attempt)
    services.attempt_finish(annotator=w1, attempt_number=1)
    return campaign, users, {"P1": p1, "P2": p2, "P3": p3, "W1": w1}


def as_user(client, user):
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_annotator_page_by_internal_and_platform_id_for_members_only(client, people):
    campaign, users, annotators = people
    p2 = annotators["P2"]
    page = as_user(client, users["owner"]).get(f"/staff/campaigns/study/annotators/{p2.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    # The missed checker, with its gold score and how far off: computed here from the stored rating.
    attempt = Attempt.objects.get(session__annotator=p2, number=1)
    missed = [r for r in attempt.ratings.select_related("video") if r.video.role == Video.Role.CHECKER and r.score != r.video.gold_score]
    assert len(missed) == 1
    off = abs(missed[0].score - missed[0].video.gold_score)
    assert f"video {missed[0].video_id} (gold {missed[0].video.gold_score}, rated {missed[0].score}: {off} grades off)" in html
    assert "Attempt 1: disqualified" in html and "Attempt 2: in progress" in html and html.count("<tr><td>") == 40
    assert f'<code id="platform-id">{P2}</code>' in html and "SESSION_ID" in html and "Exclude" in html

    by_pid = as_user(client, users["viewer"]).get(f"/staff/campaigns/study/annotators/{P2}/")
    assert by_pid.status_code == 200 and f"Annotator {p2.pk} of" in by_pid.content.decode()
    viewer_html = by_pid.content.decode()
    assert "platform-id" not in viewer_html and "SESSION_ID" not in viewer_html and 'name="next"' not in viewer_html
    assert client.get("/staff/campaigns/study/annotators/NOBODY/").status_code == 404
    assert as_user(client, users["outsider"]).get(f"/staff/campaigns/study/annotators/{p2.pk}/").status_code == 404


def test_the_search_box_finds_by_platform_id_and_says_why_not(client, people):
    campaign, users, annotators = people
    as_user(client, users["viewer"])
    response = client.get("/staff/campaigns/study/annotators/", {"q": W1})
    assert response.status_code == 302 and response["Location"] == f"/staff/campaigns/study/annotators/{annotators['W1'].pk}/"
    unknown = client.get("/staff/campaigns/study/annotators/", {"q": "abc"}).content.decode()
    assert "No annotator with that id or platform id" in unknown
    malformed = client.get("/staff/campaigns/study/annotators/", {"q": "a b;c"}).content.decode()
    assert "letters, digits" in malformed
    assert 'id="annotator-search"' in client.get("/staff/campaigns/study/monitor/").content.decode()


def test_the_exclusion_form_takes_a_platform_id_and_refuses_unknown_and_malformed_ones(client, people):
    campaign, users, annotators = people
    as_user(client, users["analyst"])
    response = client.post("/staff/campaigns/study/exclusions/", {"annotator": P1, "reason": "careless"}, follow=True)
    assert response.status_code == 200
    assert AnnotatorExclusion.objects.get().annotator == annotators["P1"]
    for value, message in (("abc", "No annotator with that id"), ("999999", "No annotator with that id"),
                           ("a b;c", "letters, digits"), ("", "letters, digits")):
        response = client.post("/staff/campaigns/study/exclusions/", {"annotator": value}, follow=True)
        assert response.status_code == 200 and message in response.content.decode(), value
    assert AnnotatorExclusion.objects.count() == 1
    # From the annotator's page, back to it; included again.
    response = client.post("/staff/campaigns/study/exclusions/", {"annotator": P1, "action": "include", "next": "annotator"})
    assert response["Location"] == f"/staff/campaigns/study/annotators/{annotators['P1'].pk}/"
    assert not AnnotatorExclusion.objects.exists()
    assert as_user(client, users["viewer"]).post("/staff/campaigns/study/exclusions/", {"annotator": P1}).status_code == 403


def test_approval_lists_per_platform(client, people):
    campaign, users, annotators = people
    as_user(client, users["analyst"])
    prolific = csv_rows(client.get("/staff/campaigns/study/approvals.csv", {"platform": "prolific"}))
    assert [(r["participant_id"], r["study_id"], r["session_id"], r["decision"], r["reason"], r["bonus"]) for r in prolific] == [
        (P1, S, X, "APPROVE", "", ""),
        (P2, S, X, "REJECT", "failed the attention checks", ""),
        (P3, S, X, "", "", ""),
    ]
    mturk = csv_rows(client.get("/staff/campaigns/study/approvals.csv", {"platform": "mturk"}))
    assert mturk == [{"HITId": HIT1, "AssignmentId": ASG1, "WorkerId": W1, "Approve": "x", "Reject": "", "Bonus": ""}]

    # P2 takes the lecture again: a redo being rated has no decision yet.
    services.lecture_complete(annotator=annotators["P2"])
    AnnotatorExclusion.objects.create(campaign=campaign, annotator=annotators["P1"], reason="=copied reasons")
    prolific = csv_rows(client.get("/staff/campaigns/study/approvals.csv", {"platform": "prolific"}))
    assert (prolific[0]["decision"], prolific[0]["reason"]) == ("REJECT", "excluded: =copied reasons")
    assert (prolific[1]["participant_id"], prolific[1]["decision"], prolific[1]["reason"]) == (P2, "", "")
    assert client.get("/staff/campaigns/study/approvals.csv", {"platform": "lab"}).status_code == 400
    assert as_user(client, users["viewer"]).get("/staff/campaigns/study/approvals.csv").status_code == 403
    assert as_user(client, users["outsider"]).get("/staff/campaigns/study/approvals.csv").status_code == 404


def test_attempts_exhausted_when_the_campaign_caps_them(people):
    from analysis import approvals

    campaign, users, annotators = people
    campaign.max_attempts = 1  # the cap another change adds; read with getattr
    decisions = {a.annotator.external_id: (a.decision, a.reason) for a in approvals.campaign_approvals(campaign, "prolific")}
    assert decisions[P2] == ("reject", approvals.ATTEMPTS_EXHAUSTED) and decisions[P1] == ("approve", "")


def test_a_lab_member_is_found_by_username_and_a_number_is_the_internal_id_first(people):
    from django.contrib.auth import get_user_model

    from annotation import selectors
    from annotation.errors import ApplicationError

    campaign, users, annotators = people
    member = get_user_model().objects.create_user("lab.member")
    lab = services.annotator_consent(campaign=campaign, identity=platforms.identity_from_request({}, member),
                                     consent=campaign.consent_texts.get(), entry_token="t-lab", user=member)
    assert selectors.annotator_by_ref(campaign, "lab.member") == lab
    assert selectors.annotator_by_ref(campaign, str(annotators["P1"].pk)) == annotators["P1"]
    with pytest.raises(ApplicationError) as error:
        selectors.annotator_by_ref(campaign, "x" * 151)
    assert error.value.code == "bad_annotator_ref"


def test_platform_ids_in_the_ratings_export_for_owners_only(client, people):
    campaign, users, annotators = people
    rows = csv_rows(as_user(client, users["owner"]).get("/staff/campaigns/study/export/ratings.csv"))
    by_annotator = {int(r["annotator"]): r for r in rows}
    assert by_annotator[annotators["P1"].pk]["PROLIFIC_PID"] == P1 and by_annotator[annotators["P1"].pk]["SESSION_ID"] == X
    assert by_annotator[annotators["P1"].pk]["workerId"] == ""
    w1 = by_annotator[annotators["W1"].pk]
    assert (w1["workerId"], w1["assignmentId"], w1["PROLIFIC_PID"]) == (W1, ASG1, "")
    rows = csv_rows(as_user(client, users["analyst"]).get("/staff/campaigns/study/export/ratings.csv"))
    assert rows and not {"PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId"} & set(rows[0])
    videos = csv_rows(client.get("/staff/campaigns/study/export/videos.csv"))
    assert videos and all(v["analysis_version"] == "" and v["mos"] == "" for v in videos)  # no analysis yet


def test_the_disqualified_page_counts_missed_checks_without_naming_them(client, make_campaign):
    campaign = make_campaign(max_attempts=None)
    annotator = walk_to_rating(client)
    attempt = Attempt.objects.get(session__annotator=annotator)
    rate_attempt(annotator, attempt, miss_checker=True)  # one checker missed
    services.attempt_finish(annotator=annotator, attempt_number=1)
    page = client.get("/c/study/not-accepted/").content.decode()
    assert "1 of the hidden quality checks in your answers was not passed" in page
    assert "checker" not in page.lower()
    # The only numbers the page's text holds are the count and the minutes of a redo: no video id.
    main = re.sub(r"<[^>]+>", " ", page.split("<main", 1)[1].split("</main>", 1)[0])
    assert set(re.findall(r"\d+", main)) == {"1"}
    # Every rating was submitted within the test, so the median is well under a second: 40 items take
    # under a minute, and a redo reads "about 1 minute" (the least it says); no cap, so no attempts left.
    assert "A new attempt takes about 1 minute." in page and 'id="attempts-left"' not in page
    assert 'href="https://app.prolific.com/"' in page and "leave the study" in page
    assert "CODE-1234" not in page
    # With a cap of 3 attempts, one failed: two are left.
    Campaign.objects.filter(pk=campaign.pk).update(max_attempts=3)
    page = client.get("/c/study/not-accepted/").content.decode()
    assert 'id="attempts-left">You may try 2 more times.' in page
