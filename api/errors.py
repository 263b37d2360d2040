"""The site's 404 page: a path under /api/ that no route matches answers in the API's JSON error shape."""
from django.http import JsonResponse
from django.views.defaults import page_not_found as html_page_not_found


def page_not_found(request, exception):
    """Django's handler404: `{"code": "not_found", "error": ...}` under /api/, the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "error": f"No endpoint at {request.path}; see /api/v1/docs/."}, status=404)
    return html_page_not_found(request, exception)
