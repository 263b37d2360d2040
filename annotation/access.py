"""Who may do what with a campaign: the member's role (CampaignMembership) and Django's model permissions.

Every guard of the researchers' side asks here: the DRF permission class and the HTML views'
decorator (annotation.guards), the API's querysets (`campaigns_visible`), the jobs it lists.

| action    | covers                                                                 | roles                  | Django permission                     |
|-----------|------------------------------------------------------------------------|------------------------|---------------------------------------|
| `view`    | status, dashboards, chart data, videos, annotators, sessions, attempts, ratings, runs, jobs | viewer, analyst, owner | `annotation.view_campaign`            |
| `analyse` | start analyses and exports, exclude annotators, download exports and job files | analyst, owner         | `annotation.analyse_campaign`         |
| `change`  | edit the campaign, open and close it, upload videos, edit video labels | owner                  | `annotation.change_campaign`          |
| `manage`  | list, add, change and remove the campaign's members                    | owner                  | `annotation.change_campaignmembership` |

A user may do an action on a campaign when they are an active superuser, or when their role in it
allows the action AND they hold the action's permission (give researchers the permissions through
a group in the admin). `is_staff` alone grants nothing. Creating a campaign belongs to no campaign:
it needs `annotation.add_campaign`, and the creator becomes the campaign's owner
(annotation.services.campaigns).

A campaign the user may not view does not exist for them: `campaign_for` answers 404 (so a slug
does not tell whether the campaign exists); one they may view but not act on answers 403, naming
what is missing.
"""
from __future__ import annotations

from enum import StrEnum

from django.db.models import F, QuerySet

from .errors import ApplicationError
from .models import Campaign, CampaignMembership

Role = CampaignMembership.Role


class Action(StrEnum):
    VIEW = "view"
    ANALYSE = "analyse"
    CHANGE = "change"
    MANAGE = "manage"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.ANALYST: frozenset({Action.VIEW, Action.ANALYSE}),
    Role.OWNER: frozenset(Action),
}
PERMISSIONS: dict[Action, str] = {
    Action.VIEW: "annotation.view_campaign",
    Action.ANALYSE: "annotation.analyse_campaign",
    Action.CHANGE: "annotation.change_campaign",
    Action.MANAGE: "annotation.change_campaignmembership",
}
CREATE_PERMISSION = "annotation.add_campaign"
# What each action lets a person do, for the sentence of a refusal.
_DOING = {
    Action.VIEW: "view this campaign",
    Action.ANALYSE: "start analyses or exports of this campaign or download its exports",
    Action.CHANGE: "change this campaign, open or close it, or upload its videos",
    Action.MANAGE: "manage this campaign's members",
}


def is_superuser(user) -> bool:
    """Whether `user` is an active, signed-in superuser, who passes every campaign rule."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def role_allows(role: str | None, action: Action) -> bool:
    """Whether a member of that role may do the action (pure: the table above); False for no role."""
    return action in ROLE_ACTIONS.get(role, frozenset())


def refusal(user, role: str | None, action: Action) -> str | None:
    """Why `user` with `role` in a campaign may not do `action`, as a sentence; None when they may.

    Pure apart from `user.has_perm`, which Django caches on the user object.
    """
    if is_superuser(user):
        return None
    if not role_allows(role, action):
        if role is None:
            return f"You are not a member of this campaign, so you cannot {_DOING[action]}."
        return f"Your role in this campaign ({role}) does not allow you to {_DOING[action]}. Ask one of its owners."
    if not user.has_perm(PERMISSIONS[action]):
        return f"Your account lacks the permission {PERMISSIONS[action]} needed to {_DOING[action]}. Ask an administrator."
    return None


def allowed_actions(user, role: str | None) -> frozenset[Action]:
    """Every action `user` with `role` in a campaign may do (what a page shows buttons for)."""
    return frozenset(action for action in Action if refusal(user, role, action) is None)


def campaign_role(user, campaign: Campaign) -> str | None:
    """The user's role in the campaign, or None when they are not a member."""
    if not user.is_authenticated:
        return None
    return CampaignMembership.objects.filter(campaign=campaign, user=user).values_list("role", flat=True).first()


def can(user, campaign: Campaign, action: Action) -> bool:
    """Whether `user` may do `action` on `campaign` (see the module's table)."""
    if is_superuser(user):
        return True
    return refusal(user, campaign_role(user, campaign), action) is None


def campaigns_visible(user) -> QuerySet[Campaign]:
    """The campaigns `user` may view: every one for a superuser, their memberships' otherwise."""
    if is_superuser(user):
        return Campaign.objects.all()
    if not user.is_authenticated or not user.has_perm(PERMISSIONS[Action.VIEW]):
        return Campaign.objects.none()
    return Campaign.objects.filter(memberships__user=user)


def campaign_for(user, slug: str, action: Action) -> Campaign:
    """The campaign `slug` if `user` may do `action` on it, with `member_role` (None for a superuser
    who is not a member) and `allowed_actions` set.

    Raises ApplicationError 404 ("not_found") when the user may not view it, whether or not it
    exists, and 403 ("forbidden") when they may view it but not do the action.
    """
    if is_superuser(user):
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is not None:
            campaign.member_role = campaign_role(user, campaign)
    elif user.is_authenticated:
        campaign = (
            Campaign.objects.filter(slug=slug, memberships__user=user).annotate(member_role=F("memberships__role")).first()
        )
    else:
        campaign = None
    if campaign is None or refusal(user, campaign.member_role, Action.VIEW) is not None:
        raise ApplicationError("not_found", f"No campaign {slug!r} that you can see.", status=404)
    reason = refusal(user, campaign.member_role, action)
    if reason is not None:
        raise ApplicationError("forbidden", reason, status=403)
    campaign.allowed_actions = allowed_actions(user, campaign.member_role)
    return campaign


def can_create_campaign(user) -> bool:
    """Whether `user` may create campaigns (and so become their owner)."""
    return is_superuser(user) or bool(user.is_authenticated and user.has_perm(CREATE_PERMISSION))


def researcher_session_shorten(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver: a researcher's (staff) session expires after
    settings.RESEARCHER_SESSION_AGE, not the annotators' weeks."""
    from django.conf import settings

    if user.is_staff or user.is_superuser:
        request.session.set_expiry(settings.RESEARCHER_SESSION_AGE)
