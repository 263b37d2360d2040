"""Researchers for tests: users with a role in a campaign and the Django permissions of annotation.access."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from annotation import access
from annotation.models import CampaignMembership

# What a researcher's group would hold: every permission annotation.access asks for.
RESEARCHER_PERMISSIONS = (*access.PERMISSIONS.values(), access.CREATE_PERMISSION)


def permissions_grant(user, names=RESEARCHER_PERMISSIONS) -> None:
    """Give `user` the permissions named "app_label.codename"."""
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)


def researcher(username: str, *, campaign=None, role: str = CampaignMembership.Role.OWNER, is_staff: bool = True,
               permissions=RESEARCHER_PERMISSIONS, password: str | None = None):
    """A user with the researcher permissions and, given a campaign, that role in it; no password
    unless one is given (hashing one costs a quarter of a second: tests log in with force_login)."""
    user = get_user_model().objects.create_user(username, password=password, is_staff=is_staff)
    permissions_grant(user, permissions)
    if campaign is not None:
        member(user, campaign, role)
    return user


def member(user, campaign, role: str = CampaignMembership.Role.OWNER) -> CampaignMembership:
    """Make `user` a member of `campaign` with `role`."""
    membership, _ = CampaignMembership.objects.update_or_create(campaign=campaign, user=user, defaults={"role": role})
    return membership
