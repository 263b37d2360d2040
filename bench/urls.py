"""The project's URLs plus /bench/bare-insert/: the cheapest useful Django request on this stack.

The bare view goes through the same WSGI server, middleware stack and database connection
settings as the annotation pages and does one INSERT (autocommit) into a table the benchmark
creates itself (bench_bare), so its throughput is the ceiling a rating submit can be compared to.
"""
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

BARE_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_bare ("
    " id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)


@csrf_exempt
@require_POST
def bare_insert(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare (payload) VALUES (%s)", [request.POST.get("payload", "")])
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare-insert/", bare_insert, name="bench_bare_insert"),
    path("", include("config.urls")),
]
