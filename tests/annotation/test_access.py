"""annotation.access: the role table, the permission each action needs, and what a user sees."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from annotation import access
from annotation.access import Action
from annotation.errors import ApplicationError
from annotation.models import Campaign

from ..roles import member, permissions_grant, researcher

# The table, written out by hand: which role may do which action.
EXPECTED = {
    "viewer": {"view"},
    "analyst": {"view", "analyse"},
    "owner": {"view", "analyse", "change", "manage"},
    None: set(),
    "stranger-role": set(),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_the_role_table(role):
    assert {a.value for a in Action if access.role_allows(role, a)} == EXPECTED[role]


def test_every_action_has_a_permission_of_its_own():
    assert set(access.PERMISSIONS) == set(Action) and len(set(access.PERMISSIONS.values())) == len(Action)


@pytest.mark.django_db
def test_a_member_needs_both_the_role_and_the_permission():
    campaign = Campaign.objects.create(slug="c", title="C")
    user = researcher("ana", campaign=campaign, role="analyst", permissions=("annotation.view_campaign",))
    assert access.can(user, campaign, Action.VIEW)
    assert not access.can(user, campaign, Action.ANALYSE)  # the role allows it, the permission is missing
    assert "annotation.analyse_campaign" in access.refusal(user, "analyst", Action.ANALYSE)
    permissions_grant(user, ["annotation.analyse_campaign", "annotation.change_campaign"])
    assert access.can(user, campaign, Action.ANALYSE)
    assert not access.can(user, campaign, Action.CHANGE)  # the permission is there, the role does not allow it
    assert "(analyst)" in access.refusal(user, "analyst", Action.CHANGE)


@pytest.mark.django_db
def test_what_each_user_sees():
    mine, theirs = Campaign.objects.create(slug="mine", title="M"), Campaign.objects.create(slug="theirs", title="T")
    user = researcher("res", campaign=mine, role="viewer")
    staff_only = get_user_model().objects.create_user("staff", is_staff=True)
    member(staff_only, mine, "owner")  # a role but no permission at all
    root = get_user_model().objects.create_superuser("root", password=None)
    assert list(access.campaigns_visible(user)) == [mine]
    assert list(access.campaigns_visible(staff_only)) == []
    assert set(access.campaigns_visible(root)) == {mine, theirs}
    assert list(access.campaigns_visible(AnonymousUser())) == []
    loaded = access.campaign_for(root, "theirs", Action.MANAGE)
    assert loaded == theirs and loaded.member_role is None and loaded.allowed_actions == set(Action)


@pytest.mark.django_db
def test_campaign_for_answers_404_for_what_one_cannot_see_and_403_for_what_one_cannot_do():
    campaign = Campaign.objects.create(slug="c", title="C")
    viewer = researcher("v", campaign=campaign, role="viewer")
    outsider = researcher("o")
    for user, slug in ((outsider, "c"), (outsider, "missing"), (viewer, "missing"), (AnonymousUser(), "c")):
        with pytest.raises(ApplicationError) as refused:
            access.campaign_for(user, slug, Action.VIEW)
        assert (refused.value.status, refused.value.code) == (404, "not_found")
        assert refused.value.message == f"No campaign {slug!r} that you can see."  # the same words whether it exists or not
    with pytest.raises(ApplicationError) as refused:
        access.campaign_for(viewer, "c", Action.ANALYSE)
    assert (refused.value.status, refused.value.code) == (403, "forbidden") and "(viewer)" in refused.value.message
    loaded = access.campaign_for(viewer, "c", Action.VIEW)
    assert loaded.member_role == "viewer" and loaded.allowed_actions == {Action.VIEW}


@pytest.mark.django_db
def test_inactive_superusers_and_inactive_members_get_nothing():
    campaign = Campaign.objects.create(slug="c", title="C")
    root = get_user_model().objects.create_superuser("root", password=None, is_active=False)
    res = researcher("res", campaign=campaign, role="owner")
    res.is_active = False
    assert not access.can(root, campaign, Action.VIEW) and not access.can(res, campaign, Action.VIEW)
