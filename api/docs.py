"""Swagger UI and ReDoc pages that nothing outside the site can feed or be fed by.

Both load their scripts from our static files (drf-spectacular-sidecar); a Content-Security-Policy
holds every other request to the site itself too: ReDoc's footer asks cdn.redoc.ly for a logo,
and with the policy the browser never sends that request.
"""
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# Inline scripts and styles: the pages' own settings block and the viewers' styles; blob: for ReDoc's worker.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)


class _SameSiteOnly:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = POLICY
        return response


class SwaggerView(_SameSiteOnly, SpectacularSwaggerView):
    """Swagger UI for /api/v1/, from local static files."""


class RedocView(_SameSiteOnly, SpectacularRedocView):
    """ReDoc for /api/v1/, from local static files."""
