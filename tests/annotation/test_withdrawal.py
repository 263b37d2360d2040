"""Consent withdrawal: the annotator's data deleted in one service, the counters kept true, a record without personal data, the admin action."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Min
from django.utils import timezone

from annotation import pseudonyms, selectors, services
from annotation.models import AnnotationSession, Annotator, Attempt, Rating, SessionItem, Video, Withdrawal

from .. import ids
from ..roles import member
from .test_workflow import rate_attempt, ready, submit

pytestmark = pytest.mark.django_db


def counters(campaign) -> dict[int, int]:
    return dict(campaign.videos.filter(role=Video.Role.REGULAR).values_list("id", "assigned_sessions"))


def footprint(annotator) -> dict[str, set[int]]:
    """The ids of every row that belongs to the annotator, by table."""
    sessions = set(AnnotationSession.objects.filter(annotator=annotator).values_list("id", flat=True))
    attempts = set(Attempt.objects.filter(session__in=sessions).values_list("id", flat=True))
    return {
        "annotator": {annotator.pk}, "sessions": sessions, "attempts": attempts,
        "items": set(SessionItem.objects.filter(session__in=sessions).values_list("id", flat=True)),
        "ratings": set(Rating.objects.filter(attempt__in=attempts).values_list("id", flat=True)),
    }


def left_of(rows: dict[str, set[int]]) -> dict[str, int]:
    return {
        "annotator": Annotator.objects.filter(pk__in=rows["annotator"]).count(),
        "sessions": AnnotationSession.objects.filter(pk__in=rows["sessions"]).count(),
        "attempts": Attempt.objects.filter(pk__in=rows["attempts"]).count(),
        "items": SessionItem.objects.filter(pk__in=rows["items"]).count(),
        "ratings": Rating.objects.filter(pk__in=rows["ratings"]).count(),
    }


@pytest.fixture
def study(make_campaign):
    """Three annotators: one disqualified then qualified (two attempts), one half way through a
    session, one who has only consented."""
    campaign = make_campaign(sessions_per_annotator=1)
    redone, halfway, idle = ready(campaign, "P-REDONE"), ready(campaign, "P-HALF"), ready(campaign, "P-IDLE")
    Annotator.objects.filter(pk=redone.pk).update(platform_params={"STUDY_ID": "S-secret", "SESSION_ID": "X-secret"})
    attempt = services.lecture_complete(annotator=redone)
    rate_attempt(redone, attempt, miss_checker=True)
    services.attempt_finish(annotator=redone, attempt_number=1)
    again = services.lecture_complete(annotator=redone)
    rate_attempt(redone, again)
    services.attempt_finish(annotator=redone, attempt_number=2)
    other = services.lecture_complete(annotator=halfway)
    for position in range(1, 6):
        submit(halfway, other, position, 3)
    assert selectors.video_counter_drift(campaign) == {}
    return campaign, redone, halfway, idle


def test_withdrawal_deletes_everything_of_the_annotator_and_keeps_the_counters_true(study):
    campaign, redone, halfway, _ = study
    staff = get_user_model().objects.create_user("researcher", is_staff=True)
    mine, theirs = footprint(redone), footprint(halfway)
    held = set(SessionItem.objects.filter(session__annotator=redone, video__role=Video.Role.REGULAR).values_list("video_id", flat=True))
    before = counters(campaign)
    first = Rating.objects.filter(pk__in=mine["ratings"]).aggregate(first=Min("created_at"))["first"]
    old_pk = redone.pk
    now = timezone.now()

    withdrawal = services.annotator_withdraw(annotator=redone, requested_by=staff, now=now)

    assert left_of(mine) == {"annotator": 0, "sessions": 0, "attempts": 0, "items": 0, "ratings": 0}
    assert left_of(theirs) == {k: len(v) for k, v in theirs.items()}, "another annotator's data is untouched"
    # One qualified session (two attempts of 40 ratings each) went; its 35 regular videos lose one holder.
    assert (withdrawal.ratings_deleted, withdrawal.attempts_deleted, withdrawal.sessions_deleted) == (80, 2, 1)
    assert len(mine["ratings"]) == 80 and len(held) == campaign.regular_per_session
    after = counters(campaign)
    assert {v: before[v] - after[v] for v in before if before[v] != after[v]} == {v: 1 for v in held}
    assert selectors.video_counter_drift(campaign) == {}
    assert withdrawal.annotator == pseudonyms.annotator_name(campaign.pk, old_pk)
    assert (withdrawal.campaign, withdrawal.withdrawn_at, withdrawal.first_rating_at, withdrawal.requested_by) == (campaign, now, first, staff)


def test_the_withdrawal_record_holds_no_personal_data(study):
    campaign, redone, _, _ = study
    personal = [redone.external_id, "S-secret", "X-secret", redone.age_group, redone.gender, redone.education, redone.prior_knowledge]
    typed = set(Rating.objects.filter(attempt__session__annotator=redone).values_list("typed_reason", flat=True))
    withdrawal = services.annotator_withdraw(annotator=redone)
    fields = {f.name for f in Withdrawal._meta.get_fields()}
    assert fields == {"id", "campaign", "annotator", "withdrawn_at", "first_rating_at", "ratings_deleted", "attempts_deleted",
                      "sessions_deleted", "requested_by"}
    stored = " ".join(str(getattr(withdrawal, f.attname)) for f in Withdrawal._meta.concrete_fields)
    assert not [value for value in [*personal, *typed] if value and value in stored]
    assert withdrawal.requested_by is None and withdrawal.annotator.startswith("a") and len(withdrawal.annotator) == 13


def test_withdrawing_an_annotator_half_way_through_a_session_frees_its_videos(study):
    campaign, _, halfway, idle = study
    held = set(SessionItem.objects.filter(session__annotator=halfway, video__role=Video.Role.REGULAR).values_list("video_id", flat=True))
    before = counters(campaign)
    withdrawal = services.annotator_withdraw(annotator=halfway)
    assert (withdrawal.ratings_deleted, withdrawal.attempts_deleted, withdrawal.sessions_deleted) == (5, 1, 1)
    assert all(counters(campaign)[v] == before[v] - 1 for v in held)
    assert selectors.video_counter_drift(campaign) == {}
    # The freed videos are assignable again: the next session starts and the counters stay true.
    services.lecture_complete(annotator=idle)
    assert selectors.video_counter_drift(campaign) == {}


def test_an_annotator_without_ratings_is_recorded_with_no_first_rating(study):
    campaign, _, _, idle = study
    withdrawal = services.annotator_withdraw(annotator=idle)
    assert (withdrawal.ratings_deleted, withdrawal.attempts_deleted, withdrawal.sessions_deleted) == (0, 0, 0)
    assert withdrawal.first_rating_at is None and not Annotator.objects.filter(pk=idle.pk).exists()


def test_a_drifted_counter_is_set_true_not_pushed_below_zero(study):
    campaign, redone, _, _ = study
    held = SessionItem.objects.filter(session__annotator=redone, video__role=Video.Role.REGULAR).values_list("video_id", flat=True)
    Video.objects.filter(pk__in=list(held)[:3]).update(assigned_sessions=0)  # drifted low: a decrement would go to -1
    services.annotator_withdraw(annotator=redone)
    assert selectors.video_counter_drift(campaign) == {}


# --- the admin action ------------------------------------------------------------------------


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-123456")
    client.force_login(user)
    return user


CHANGELIST = "/admin/annotation/annotator/"


def test_the_admin_action_asks_first_then_withdraws_through_the_service(client, superuser, study):
    campaign, redone, halfway, _ = study
    chosen = [redone.pk, halfway.pk]
    page = client.post(CHANGELIST, {"action": "withdraw_consent", "_selected_action": chosen})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Withdraw consent" in text and str(redone) in text and "80 ratings" in text and "5 ratings" in text
    assert Annotator.objects.filter(pk__in=chosen).count() == 2, "nothing is deleted before the confirmation"

    done = client.post(CHANGELIST, {"action": "withdraw_consent", "_selected_action": chosen, "post": "yes"}, follow=True)
    assert done.status_code == 200 and "Data of 2 annotator(s) deleted (85 ratings)" in done.content.decode()
    assert not Annotator.objects.filter(pk__in=chosen).exists()
    withdrawals = Withdrawal.objects.filter(campaign=campaign)
    assert {w.annotator for w in withdrawals} == {pseudonyms.annotator_name(campaign.pk, pk) for pk in chosen}
    assert {w.requested_by for w in withdrawals} == {superuser}
    assert selectors.video_counter_drift(campaign) == {}
    # The plain delete stays closed: the action is the only way, and it records what it did.
    idle = Annotator.objects.get(campaign=campaign, external_id=ids.prolific("P-IDLE"))
    assert client.post(f"/admin/annotation/annotator/{idle.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_action_needs_the_delete_permission(client, study):
    _, redone, _, _ = study
    viewer = get_user_model().objects.create_user("viewer", password="pw-123456", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_annotator"))
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_campaign", "change_campaign"]))
    member(viewer, redone.campaign, "owner")  # the admin lists the campaigns one is a member of
    client.force_login(viewer)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200 and "withdraw_consent" not in listing.content.decode()
    client.post(CHANGELIST, {"action": "withdraw_consent", "_selected_action": [redone.pk], "post": "yes"})
    assert Annotator.objects.filter(pk=redone.pk).exists() and not Withdrawal.objects.exists()

    viewer.user_permissions.add(Permission.objects.get(codename="delete_annotator"))
    viewer = get_user_model().objects.get(pk=viewer.pk)  # permissions are cached on the instance
    client.force_login(viewer)
    assert "withdraw_consent" in client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "withdraw_consent", "_selected_action": [redone.pk], "post": "yes"})
    assert not Annotator.objects.filter(pk=redone.pk).exists()
    assert Withdrawal.objects.get().requested_by == viewer
