"""Project-wide response headers that Django 5.2 does not set itself."""
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _


class ContentSecurityPolicyMiddleware:
    """Adds `settings.CONTENT_SECURITY_POLICY` to every response that has none: with no inline script
    allowed, an injected <script> (a reason rendered unescaped somewhere, say) cannot run."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


class DatabaseUnavailableMiddleware:
    """A request that meets a database that is down (restarting, failing over) gets a 503 that says so,
    in JSON for the APIs and a page otherwise, instead of a 500; nothing was stored by it, and the
    next request reconnects (CONN_HEALTH_CHECKS), so the web process needs no restart."""

    # In the language of the page that failed (annotation.language activated it before the view ran).
    MESSAGE = _("The study's database is briefly unavailable. Nothing was lost: the answers you saved are kept. "
                "Please try again in a minute.")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        for connection in connections.all(initialized_only=True):
            connection.close_if_unusable_or_obsolete()
        if "/api/" in request.path or request.content_type == "application/json":
            response = JsonResponse({"code": "database_unavailable", "error": str(self.MESSAGE)}, status=503)
        else:
            error = {"code": "database_unavailable", "message": str(self.MESSAGE), "status": 503}
            response = render(request, "annotation/error.html", {"error": error}, status=503)
        response["Retry-After"] = "30"
        return response
