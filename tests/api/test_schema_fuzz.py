"""schemathesis against /api/v1/'s own OpenAPI schema, on the test database (PostgreSQL in CI).

Every operation is called with generated valid and invalid input (at most MAX_EXAMPLES per
operation and phase, derandomized, so a run is repeatable and bounded) as the owner of a rated
campaign, by token; path parameters name that campaign's real records so the calls reach data,
not only 404s. Every response must be free of server errors and match the schema: its status
code is documented, its content type too, and its body has the documented shape.
"""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

MAX_EXAMPLES = 15
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, keeping the test's database connection (and its transaction)
    open across requests, as Django's test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(world, wsgi_app):

    token, _ = Token.objects.get_or_create(user=world.users["owner"])
    config = SchemathesisConfig.from_dict({
        "headers": {"Authorization": f"Token {token.key}"},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "parameters": {"path.slug": world.campaign.slug, "path.version": 1, "path.username": "viewer"},
        "operations": [
            {"include-path-regex": "/videos/\\{id\\}/$", "parameters": {"path.id": world.video_id}},
            {"include-path-regex": "/sessions/\\{id\\}/$", "parameters": {"path.id": world.session_id}},
            {"include-path-regex": "^/api/v1/jobs/\\{id\\}", "parameters": {"path.id": world.done_job.pk, "path.name": "report.json"}},
            {"include-path-regex": "^/api/v1/models/\\{id\\}", "parameters": {"path.id": world.model_id}},
        ],
    })
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")
# (method, path, status) of every call, printed at the end (pytest -s): what the run reached.
CALLS: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def calls_summary():
    yield
    if CALLS:
        by_status = Counter()
        for (_, _, status), n in CALLS.items():
            by_status[status] += n
        operations = {(method, path) for method, path, _ in CALLS}
        print(f"\nschemathesis: {sum(CALLS.values())} calls over {len(operations)} method/path pairs (undocumented methods are probed for 405); by status: {dict(sorted(by_status.items()))}")
        for (method, path) in sorted(operations):
            counts = {status: n for (m, p, status), n in sorted(CALLS.items()) if (m, p) == (method, path)}
            print(f"  {method:6} {path}: {counts}")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case):
    response = case.call_and_validate()
    CALLS[(case.method, case.path, response.status_code)] += 1
