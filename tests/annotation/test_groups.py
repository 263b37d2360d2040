"""The Researchers / Analysts / Viewers groups (annotation.groups): made by migrate with exactly their
permissions, kept so by every migrate, and enough for a researcher's work with an owner's membership."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from analysis.models import AnalysisRun
from annotation.groups import GROUPS, groups_sync
from jobs.models import Job

from ..analysis.factories import rated_campaign
from ..roles import member

pytestmark = pytest.mark.django_db


def held(name: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.select_related("content_type")}


def test_migrate_made_the_groups_with_exactly_their_permissions_and_keeps_them_so():
    assert {name: held(name) for name in GROUPS} == {name: set(perms) for name, perms in GROUPS.items()}
    assert "annotation.delete_campaign" not in held("Researchers")  # deleting a study's data: superusers only
    assert held("Viewers") < held("Analysts") < held("Researchers")
    researchers = Group.objects.get(name="Researchers")
    researchers.permissions.remove(Permission.objects.get(codename="analyse_campaign"))
    researchers.permissions.add(Permission.objects.get(codename="delete_rating"))
    groups_sync()  # what the next migrate does (post_migrate)
    groups_sync()
    assert held("Researchers") == set(GROUPS["Researchers"]) and Group.objects.filter(name="Researchers").count() == 1


def test_a_researcher_in_the_group_with_an_owners_membership_can_work_and_one_without_the_group_cannot(client):
    campaign = rated_campaign(slug="grp", n_annotators=4, n_videos=4)
    users = get_user_model().objects
    with_group, without = users.create_user("with-group"), users.create_user("without-group")
    with_group.groups.add(Group.objects.get(name="Researchers"))
    member(with_group, campaign, "owner")
    member(without, campaign, "owner")

    client.force_login(with_group)
    assert client.get(f"/staff/campaigns/{campaign.slug}/").status_code == 200
    assert client.post(f"/staff/campaigns/{campaign.slug}/analysis/run/").status_code == 302
    assert client.post(f"/staff/campaigns/{campaign.slug}/exports/build/", {"splits": "2"}).status_code == 302
    assert AnalysisRun.objects.filter(campaign=campaign).count() == 1
    assert Job.objects.filter(kind="export", subject=f"campaign:{campaign.pk}").count() == 1

    client.force_login(without)
    assert client.get(f"/staff/campaigns/{campaign.slug}/").status_code == 404  # cannot view: it does not exist for them
    assert client.post(f"/staff/campaigns/{campaign.slug}/analysis/run/").status_code == 404
    assert client.post(f"/staff/campaigns/{campaign.slug}/exports/build/", {"splits": "2"}).status_code == 404
    assert AnalysisRun.objects.filter(campaign=campaign).count() == 1
    assert Job.objects.filter(kind="export").count() == 1

    # A Viewer with an owner's membership sees the campaign but may not analyse it.
    viewer = users.create_user("viewer")
    viewer.groups.add(Group.objects.get(name="Viewers"))
    member(viewer, campaign, "owner")
    client.force_login(viewer)
    assert client.get(f"/staff/campaigns/{campaign.slug}/").status_code == 200
    assert client.post(f"/staff/campaigns/{campaign.slug}/analysis/run/").status_code == 403
