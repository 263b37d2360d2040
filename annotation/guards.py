"""The researchers' pages and APIs asking annotation.access: a decorator for HTML views, a DRF permission class.

Both load the campaign named by the URL's `slug` through `access.campaign_for`, so a page and an
endpoint refuse the same people in the same way: an anonymous visitor is sent to the login page
(HTML) or answered 401 (API); a campaign the user cannot view is 404; an action their role or
permissions do not allow is 403 with the reason.
"""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.permissions import SAFE_METHODS, BasePermission

from . import access
from .access import Action
from .errors import ApplicationError


def campaign_page(action: Action):
    """Decorate an HTML view `view(request, campaign, ...)` reached by a URL with `slug`: the campaign
    is loaded for `action`, or the visitor is sent to log in (anonymous), or gets 404 / 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                campaign = access.campaign_for(request.user, slug, action)
            except ApplicationError as error:
                if error.status == 404:
                    raise Http404(error.message)
                raise PermissionDenied(error.message)
            return view(request, campaign, *args, **kwargs)

        return wrapper

    return decorator


class CampaignAccess(BasePermission):
    """DRF permission for views under a campaign's `slug`: the action of each method comes from the
    view's `campaign_actions` ({"GET": Action.VIEW, "POST": Action.ANALYSE}; by default VIEW for
    reads and CHANGE for writes). The campaign is put on the view as `view.campaign`."""

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False  # DRF answers 401 (not_authenticated)
        if getattr(view, "swagger_fake_view", False):  # the OpenAPI schema is being generated
            return True
        action = method_action(view, request.method)
        view.campaign = access.campaign_for(request.user, view.kwargs["slug"], action)
        return True


def method_action(view, method: str) -> Action:
    """The action a request of `method` to `view` needs."""
    actions = getattr(view, "campaign_actions", {})
    if method in actions:
        return actions[method]
    return Action.VIEW if method in SAFE_METHODS else Action.CHANGE


class SuperuserOnly(BasePermission):
    """The default of every API view that names no guard of its own: active superusers only."""

    def has_permission(self, request, view) -> bool:
        return access.is_superuser(request.user)
