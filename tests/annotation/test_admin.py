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
