"""The OpenAPI schema, Swagger UI and ReDoc: served from the platform's own static files, nothing from a CDN."""
from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

SOURCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_docs_pages_load_only_local_static_files(client, url):
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    sources = SOURCES.findall(html)
    assert sources, "the page loads its viewer from somewhere"
    assert [s for s in sources if re.match(r"^(https?:)?//", s)] == []
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source  # shipped by drf-spectacular-sidecar
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script (the policy allows none)"
    assert "'unsafe-inline'" not in page["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    if url == "/api/v1/docs/":  # the split view: Swagger's settings come as a script of their own
        script = next(s for s in sources if "script=" in s)
        html = client.get(script).content.decode()
        assert '"validatorUrl": null' in html  # Swagger UI would otherwise send the schema to validator.swagger.io
    assert "/api/v1/schema/" in html


def test_the_schema_documents_the_api_only_with_its_error_answers(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.") and all(path.startswith("/api/v1/") for path in schema["paths"])
    ratings = schema["paths"]["/api/v1/campaigns/{slug}/ratings/"]["get"]
    names = {p["name"] for p in ratings["parameters"]}
    assert {"method", "identity_pair", "role", "attempt", "outcome", "qualified", "ordering", "page", "page_size"} <= names
    assert set(ratings["responses"]) >= {"200", "400", "401", "403", "404"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "error"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    annotator = schema["components"]["schemas"]["Annotator"]["properties"]
    assert "external_id" not in annotator and "name" in annotator


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url, ready", [("/api/v1/docs/", ".opblock-tag"), ("/api/v1/redoc/", "[role=menuitem], .menu-content")])
def test_the_docs_render_in_chromium_and_the_browser_itself_blocks_any_other_site(browser, live_server, url, ready):
    """ReDoc's footer asks cdn.redoc.ly for a logo: the page's Content-Security-Policy stops it in the
    browser (failure "csp"), which this machine's lack of internet would otherwise hide."""
    context = browser.new_context()
    page = context.new_page()
    local = (live_server.url, "data:", f"blob:{live_server.url}")
    elsewhere, failed, errors = [], {}, []
    page.on("request", lambda request: request.url.startswith(local) or elsewhere.append(request.url))
    page.on("requestfailed", lambda request: failed.__setitem__(request.url, request.failure))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + url)
    page.wait_for_selector(ready, timeout=20000)
    assert "campaigns" in page.content()
    context.close()
    assert {u: failed.get(u) for u in elsewhere} == {u: "csp" for u in elsewhere}
    assert errors == []
