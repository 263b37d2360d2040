"""The one error type the workflow raises for things a person can meet and act on."""


class ApplicationError(Exception):
    """A refusal with a stable `code` (for tests and clients) and a sentence that says what to do."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_dict(self) -> dict:
        return {"code": self.code, "error": self.message}


def api_exception_handler(exc, context):
    """DRF's exception handler for every API of the project: one JSON shape, `{"code", "error"}`
    (plus `"fields"` for a validation error naming fields), for an ApplicationError, anything DRF
    raises (authentication, permission, not found, throttling, validation) and Django's Http404 and
    PermissionDenied. Returns the Response, or None for an unexpected exception (a 500, logged)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404
    from rest_framework import exceptions
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        response.data = {"code": "invalid", "error": _first_message(detail) or "The request is not valid."}
        if isinstance(detail, dict):
            response.data["fields"] = exc.get_full_details()
        return response
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    response.data = {"code": codes if isinstance(codes, str) else "error", "error": str(getattr(exc, "detail", exc))}
    return response


def _first_message(detail) -> str | None:
    """The first message of a validation error's detail, however deeply nested (a field of an item of a list)."""
    if isinstance(detail, dict):
        detail = list(detail.values())
    if isinstance(detail, list):
        for item in detail:
            message = _first_message(item)
            if message:
                return message
        return None
    return str(detail)
