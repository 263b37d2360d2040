"""Swagger UI and ReDoc pages that nothing outside the site can feed or be fed by.

Both load their scripts from our static files (drf-spectacular-sidecar); a Content-Security-Policy
holds every other request to the site itself too: ReDoc's footer asks cdn.redoc.ly for a logo,
and with the policy the browser never sends that request.
"""
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# No inline script: Swagger's settings come as a script of their own (the split view's ?script), and
# ReDoc reads its schema URL from an element (templates/drf_spectacular/redoc.html). Inline styles:
# the viewers' own; blob: for ReDoc's worker.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)


class _SameSiteOnly:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = POLICY
        return response


class SwaggerView(_SameSiteOnly, SpectacularSwaggerSplitView):
    """Swagger UI for /api/v1/, from local static files."""


class RedocView(_SameSiteOnly, SpectacularRedocView):
    """ReDoc for /api/v1/, from local static files."""
