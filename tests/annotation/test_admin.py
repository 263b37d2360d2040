"""The admin keeps the counters true: session state is read-only there, releases go through a service,
and `recount_video_counters` reports and fixes drift."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotation import selectors, services
from annotation.models import AnnotationSession, Annotator, Video

from .test_workflow import ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-123456")
    client.force_login(user)
    return client


def counters(campaign) -> dict[int, int]:
    return dict(campaign.videos.filter(role=Video.Role.REGULAR).values_list("id", "assigned_sessions"))


def test_sessions_and_annotators_cannot_be_edited_or_deleted_in_the_admin(staff, make_campaign):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    session = AnnotationSession.objects.get(pk=attempt.session_id)
    url = f"/admin/annotation/annotationsession/{session.pk}/change/"
    assert staff.get(url).status_code == 200  # viewable
    staff.post(url, {"status": "qualified", "campaign": campaign.pk, "annotator": annotator.pk})
    assert staff.post(f"/admin/annotation/annotationsession/{session.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff.post(f"/admin/annotation/annotator/{annotator.pk}/delete/", {"post": "yes"}).status_code == 403
    session.refresh_from_db()
    assert session.status == AnnotationSession.Status.ACTIVE and Annotator.objects.filter(pk=annotator.pk).exists()
    assert sum(counters(campaign).values()) == len(attempt.video_order) - campaign.checkers_per_session


def test_the_release_action_goes_through_the_service_and_keeps_the_counters(staff, make_campaign):
    campaign = make_campaign()
    one, two = ready(campaign, "P1"), ready(campaign, "P2")
    first = services.lecture_complete(annotator=one)
    services.lecture_complete(annotator=two)
    before = counters(campaign)
    response = staff.post("/admin/annotation/annotationsession/", {
        "action": "release_sessions", "_selected_action": [first.session_id],
    })
    assert response.status_code == 302
    assert AnnotationSession.objects.get(pk=first.session_id).status == AnnotationSession.Status.ABANDONED
    after = counters(campaign)
    released = set(first.video_order) & set(before)
    assert all(after[v] == before[v] - 1 for v in released) and sum(before.values()) - sum(after.values()) == len(released)
    assert selectors.video_counter_drift(campaign) == {}


def test_recount_reports_and_fixes_drift(make_campaign, capsys):
    campaign = make_campaign()
    annotator = ready(campaign)
    attempt = services.lecture_complete(annotator=annotator)
    regular = [v for v in attempt.video_order if Video.objects.get(pk=v).role == Video.Role.REGULAR]
    Video.objects.filter(pk=regular[0]).update(assigned_sessions=7)
    idle = Video.objects.filter(campaign=campaign, role=Video.Role.REGULAR).exclude(pk__in=regular).first()
    Video.objects.filter(pk=idle.pk).update(assigned_sessions=2)

    with pytest.raises(SystemExit) as failed:
        call_command("recount_video_counters", "--check")
    assert failed.value.code == 1
    out = capsys.readouterr().out
    assert f"video {regular[0]}: counter 7, recount 1" in out and f"video {idle.pk}: counter 2, recount 0" in out
    assert "2 counter(s) drifted." in out

    call_command("recount_video_counters", "--campaign", campaign.slug)
    assert "2 counter(s) fixed." in capsys.readouterr().out
    assert selectors.video_counter_drift(campaign) == {}
    call_command("recount_video_counters", "--check")
    assert "0 counter(s) drifted." in capsys.readouterr().out


def test_the_admin_shows_a_researcher_only_their_campaigns_and_its_roles_hold(client):
    """A staff researcher who is viewer of one campaign and owner of another: the admin lists both,
    lets them change only the second, and lists nothing of a third they are not in."""
    from annotation.models import Campaign, CampaignMembership

    from ..roles import member, permissions_grant, researcher

    viewed, owned, hidden = (Campaign.objects.create(slug=s, title=s.title()) for s in ("viewed", "owned", "hidden"))
    user = researcher("res", campaign=viewed, role="viewer")
    member(user, owned, "owner")
    permissions_grant(user, ["annotation.view_campaignmembership", "annotation.add_campaignmembership",
                             "annotation.delete_campaignmembership", "annotation.view_video"])
    client.force_login(user)
    listing = client.get("/admin/annotation/campaign/").content.decode()
    assert "Viewed" in listing and "Owned" in listing and "Hidden" not in listing
    assert client.get(f"/admin/annotation/campaign/{hidden.pk}/change/").status_code == 302  # "does not exist": back to the index
    viewed_page = client.get(f"/admin/annotation/campaign/{viewed.pk}/change/")
    assert viewed_page.status_code == 200 and 'name="title"' not in viewed_page.content.decode()  # read-only for a viewer
    owned_page = client.get(f"/admin/annotation/campaign/{owned.pk}/change/").content.decode()
    assert 'name="title"' in owned_page and "memberships-TOTAL_FORMS" in owned_page
    # Closing through the admin action: only the campaign they may change closes.
    client.post("/admin/annotation/campaign/", {"action": "close_campaigns", "_selected_action": [viewed.pk, owned.pk]})
    assert Campaign.objects.get(pk=viewed.pk).is_open and not Campaign.objects.get(pk=owned.pk).is_open
    assert CampaignMembership.objects.filter(campaign=owned, user=user, role="owner").exists()


def test_a_campaign_made_in_the_admin_belongs_to_its_maker(client):
    from annotation.models import CampaignMembership

    from ..roles import researcher

    user = researcher("maker")
    client.force_login(user)
    response = client.post("/admin/annotation/campaign/add/", {
        "title": "Made here", "slug": "made-here", "is_open": "on", "language": "en", "videos_per_session": 40, "checkers_per_session": 5,
        "checker_tolerance": 1, "target_ratings_per_video": 90, "sessions_per_annotator": 1, "session_timeout_minutes": 120,
        "lecture_text": "Lecture.", "min_reason_length": 10, "grade5_reason": "Real.",
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0, "consent_texts-TOTAL_FORMS": 0, "consent_texts-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CampaignMembership.objects.get(campaign__slug="made-here").user == user


def test_the_admin_cannot_add_a_video_without_its_file(staff, make_campaign):
    campaign = make_campaign()
    before = Video.objects.count()
    assert staff.get("/admin/annotation/video/add/").status_code == 403
    response = staff.post("/admin/annotation/video/add/", {"campaign": campaign.pk, "role": "regular", "source_name": "x.mp4"})
    assert response.status_code == 403 and Video.objects.count() == before


def _campaign_form(campaign, consent_rows: list[dict]) -> dict:
    """The campaign's change form as the admin posts it, with these consent text rows."""
    data = {
        "title": campaign.title, "slug": campaign.slug, "is_open": "on", "language": campaign.language,
        "videos_per_session": campaign.videos_per_session, "checkers_per_session": campaign.checkers_per_session,
        "checker_tolerance": campaign.checker_tolerance, "target_ratings_per_video": campaign.target_ratings_per_video,
        "sessions_per_annotator": campaign.sessions_per_annotator, "session_timeout_minutes": campaign.session_timeout_minutes,
        "lecture_text": campaign.lecture_text, "min_reason_length": campaign.min_reason_length,
        "grade5_reason": campaign.grade5_reason, "completion_code": campaign.completion_code, "max_attempts": 3,
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
        "consent_texts-TOTAL_FORMS": len(consent_rows),
        "consent_texts-INITIAL_FORMS": sum(1 for row in consent_rows if "id" in row),
    }
    for i, row in enumerate(consent_rows):
        for key, value in row.items():
            data[f"consent_texts-{i}-{key}"] = value
        data[f"consent_texts-{i}-campaign"] = campaign.pk
    return data


def test_a_consent_version_anyone_agreed_to_cannot_be_changed_or_deleted(staff, make_campaign):
    from annotation.models import ConsentText

    campaign = make_campaign()
    agreed = ConsentText.objects.get(campaign=campaign)
    url = f"/admin/annotation/campaign/{campaign.pk}/change/"
    # Before anyone agreed, the text may still be corrected.
    response = staff.post(url, _campaign_form(campaign, [{"id": agreed.pk, "version": 1, "text": "Corrected."}]))
    assert response.status_code == 302, response.content.decode()[:3000]
    agreed.refresh_from_db()
    assert agreed.text == "Corrected."
    ready(campaign)  # someone agrees to version 1
    page = staff.get(url).content.decode()
    text_input = page.split('name="consent_texts-0-text"')[0].rsplit("<textarea", 1)[1] + page.split('name="consent_texts-0-text"')[1].split(">")[0]
    assert "disabled" in text_input
    response = staff.post(url, _campaign_form(campaign, [
        {"id": agreed.pk, "version": 1, "text": "Rewritten after the fact."},
        {"version": 2, "text": "A new version."},
    ]))
    assert response.status_code == 302, response.content.decode()[:3000]
    agreed.refresh_from_db()
    assert agreed.text == "Corrected." and agreed.version == 1
    assert ConsentText.objects.get(campaign=campaign, version=2).text == "A new version."
    response = staff.post(url, _campaign_form(campaign, [
        {"id": agreed.pk, "version": 1, "text": "Corrected.", "DELETE": "on"},
        {"id": ConsentText.objects.get(campaign=campaign, version=2).pk, "version": 2, "text": "A new version."},
    ]))
    assert response.status_code == 200  # the form comes back with the refusal
    assert ConsentText.objects.filter(pk=agreed.pk).exists()
