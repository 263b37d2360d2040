"""The OpenAPI schema of /api/v1/: only its paths, and every operation's error answers in the one error shape."""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

PREFIX = "/api/v1/"


class ErrorSerializer(serializers.Serializer):
    """Every error of the API (annotation.errors.api_exception_handler)."""

    code = serializers.CharField(help_text="Stable, for programs: not_authenticated, forbidden, not_found, invalid, ...")
    error = serializers.CharField(help_text="A sentence for people: what went wrong and what to do.")
    fields = serializers.JSONField(required=False, help_text="For `invalid`: the refused fields and why.")


# What any operation may answer besides its success: a bad query or body, no credentials, a role that
# does not allow the action, a campaign (or page, or record) the user cannot see.
ERRORS = {
    "400": "The request is not valid (a filter, a page, a field).",
    "401": "No credentials, or a token that is not valid.",
    "403": "Your role or permissions in this campaign do not allow this.",
    "404": "No such campaign, record or page that you can see.",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema with the error answers of `ERRORS` added to every operation."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = description
        return responses


def only_api_v1(endpoints):
    """drf-spectacular preprocessing hook: the schema documents /api/v1/ only (the older staff
    endpoints under /api/campaigns/ are for the dashboards' own scripts)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PREFIX)]
