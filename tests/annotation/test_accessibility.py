"""Every annotator page checked with axe-core (tests/vendor/axe.min.js) in headless Chromium: no
serious or critical violation of WCAG 2.1 A/AA; the report of each page is saved under
tests/artifacts/. Keyboard-only rating is part of tests/annotation/test_browser.py's journeys."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from annotation.models import Annotator

from ..conftest import ARTIFACTS
from .. import ids
from .test_browser import page, rate_attempt, take_lecture, wait_until  # noqa: F401 - the page fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js").read_text()
# The rules of WCAG 2.1 levels A and AA; "best-practice" findings are reported, not failed on.
RUN = """() => axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
  .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)})))"""


def violations(page, name: str) -> list[dict]:
    """axe's WCAG violations on the page as it is now (injected through the DevTools protocol: the
    site's Content-Security-Policy refuses any script of another origin or inline, as it should)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE + "\n;0")
    found = page.evaluate(RUN)
    (ARTIFACTS / f"axe_{name}.json").write_text(json.dumps(found, indent=2))
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_every_annotator_page_passes_axe(page, make_campaign):  # noqa: F811 - the fixture
    make_campaign()
    found = {}
    page.goto(f"{page.base}/c/study/?{urlencode(ids.prolific_params('AXE1'))}")
    found["consent"] = violations(page, "consent")
    page.check("input[name=agree]")
    page.click("#consent-submit")
    page.wait_for_url("**/about-you/")
    found["demographics"] = violations(page, "demographics")
    for name, value in (("age_group", "30-39"), ("gender", "female"), ("education", "bachelor"), ("prior_knowledge", "heard")):
        page.check(f"input[name={name}][value='{value}']")
    page.click("#demographics-form button[type=submit]")
    page.wait_for_url("**/lecture/")
    found["lecture"] = violations(page, "lecture")
    take_lecture(page)
    found["rate"] = violations(page, "rate")
    annotator = Annotator.objects.get(external_id=ids.prolific("AXE1"))
    rate_attempt(page, annotator, 1, miss_checker=False)
    found["review"] = violations(page, "review")
    page.click("#finish-button")
    page.wait_for_url("**/thank-you/")
    found["done"] = violations(page, "done")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{page.base}/c/study/lecture/")
    found["lecture_phone"] = violations(page, "lecture_phone")
    assert {name: v for name, v in found.items() if v} == {}
    # The check itself works: an image without a text alternative is a critical violation for axe.
    page.evaluate("() => { const img = document.createElement('img'); img.src = '/static/x.png'; document.body.append(img); }")
    assert "image-alt" in {v["id"] for v in violations(page, "sanity")}
