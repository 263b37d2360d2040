"""The models pages in real headless Chromium (Debian's package, driven by Playwright): an analyst signs in, finds a
model and its metrics, scores a real clip uploaded through the file input, is told clearly when the file is no video;
the pages fit a phone and load nothing the Content-Security-Policy refuses, from no host but the site."""
from __future__ import annotations

import logging
import re

import pytest

from annotation.models import Campaign, CampaignMembership
from jobs.artifacts import ArtifactStore
from jobs.models import Job
from jobs.selectors import campaign_subject
from modeling import protocol, services
from modeling.data.export import ExportData
from modeling.job_stages import TRAIN
from modeling.selectors import model_loaded
from modeling.serving import model_save, videos_predict
from tests.annotation.test_accessibility import violations
from tests.conftest import ARTIFACTS
from tests.roles import researcher

from .tiny import NAME, pattern_clip, tiny_configs, tiny_export, tiny_method  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tiny_configs")]

PHONE = {"width": 390, "height": 844}
# What a page must never show a researcher: a stack trace, Django's debug page, a path on the server.
LEAKS = re.compile(r"Traceback|File \"|Exception|/tmp/|dream-upload|dream-predict|/work/|site-packages|Server Error", re.I)
# One long unbreakable word, as a failed stage's error can hold (a path, a checksum): it must not widen the page.
LONG_ERROR = "ffmpeg could not read /data/exports/" + "x" * 120 + ".mp4"


@pytest.fixture
def lab(settings, tmp_path):
    """The "lab" campaign: an analyst (with a password, to sign in), a completed tiny export, a model trained on its
    split 0 and registered, and a failed training job with a long error."""
    settings.JOBS_ARTIFACT_ROOT, settings.MODELS_ROOT = tmp_path / "jobs", tmp_path / "models"
    campaign = Campaign.objects.create(slug="lab", title="Lab")
    researcher("analyst", campaign=campaign, role=CampaignMembership.Role.ANALYST, password="pw")
    export_job = Job.objects.create(kind="export", subject=campaign_subject(campaign.pk), version=1, status=Job.Status.COMPLETED)
    export = ExportData.read(tiny_export(ArtifactStore.for_job(export_job).folder))
    run = protocol.split_run(export, NAME, 0, device="cpu", work=tmp_path / "w", explain=False)
    model_save(tmp_path / "models" / "m0", run, export, name="m0")
    model = services.model_register(folder=tmp_path / "models" / "m0", export=export, export_job=export_job)
    Job.objects.create(kind=TRAIN, subject=campaign_subject(campaign.pk), version=1, status=Job.Status.FAILED, stage="frames",
                       parameters={"config": NAME, "split": 1, "export_job": export_job.pk}, error=LONG_ERROR)
    return model


class Watch:
    """Everything a page did that the site's policy forbids: console errors, uncaught exceptions, CSP violations,
    requests to another host, answers of 500 or more; and the POSTs it sent. The violations are heard in the page by
    a listener injected before its scripts (through the DevTools protocol, which the policy does not govern)."""

    def __init__(self, page, origin: str):
        self.errors, self.foreign, self.failed, self.posts = [], [], [], []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", lambda request: request.url.startswith((origin + "/", "data:")) or self.foreign.append(request.url))
        page.on("request", lambda request: request.method == "POST" and self.posts.append(request.url))
        page.on("response", lambda response: response.status >= 500 and self.failed.append((response.status, response.url)))
        page.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation',"
                             " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")

    def check(self, page):
        assert page.evaluate("window.__violations") == [], page.url
        assert (self.errors, self.foreign, self.failed) == ([], [], [])


def signed_in(browser, live_server, viewport: dict, **options):
    """A new browser context and page, the analyst signed in through the login form, on the models page."""
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.watch = Watch(page, live_server.url)
    page.goto(f"{live_server.url}/accounts/login/?next=/staff/campaigns/lab/models/")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/staff/campaigns/lab/models/")
    return context, page


def server_errors(caplog) -> list[str]:
    """What the server logged at ERROR or above (an exception in a view, a 500) while the browser used it."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


def fits(page) -> None:
    """Nothing is wider than the viewport (a wide table may scroll inside its own box)."""
    viewport = page.viewport_size["width"]
    width = page.evaluate("document.documentElement.scrollWidth")
    # The culprits, for the message: elements whose box or text runs past the right edge, no scrolling box around them.
    wide = page.evaluate(f"""[...document.querySelectorAll('body *')].filter(e => {{
        const box = e.getBoundingClientRect();
        if (box.left + Math.max(box.width, e.scrollWidth) <= {viewport} + 1) return false;
        for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
            if (getComputedStyle(p).overflowX !== 'visible') return false;
        return true; }}).slice(-6).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 40))""")
    assert width <= viewport, (page.url, width, wide)


def within_reach(page, selector: str) -> None:
    """The element is shown, and wholly inside the viewport's width."""
    box = page.locator(selector).bounding_box()
    assert page.locator(selector).is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], (selector, box)


def test_an_analyst_scores_a_clip_and_is_told_when_a_file_is_no_video(browser, live_server, lab, pattern_clip, tmp_path, caplog):
    context, page = signed_in(browser, live_server, {"width": 1366, "height": 768})
    csp = page.evaluate("fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    row = page.locator("#models tbody tr", has_text="m0")
    cells = row.locator("td").all_inner_texts()
    assert cells[:2] == ["m0", NAME] and cells[4:7] == [f"{lab.metrics[k]:.3f}" for k in ("plcc_avr", "srcc_avr", "avr")], cells
    assert page.locator("#train-form").is_visible() and "Failed in stage frames" in page.inner_text(".model-job .error")
    row.locator("a", has_text="m0").click()
    page.wait_for_url(f"{live_server.url}/staff/campaigns/lab/models/{lab.pk}/")
    assert f"{lab.metrics['plcc_test1']:.3f}" in page.inner_text("#metrics")

    # No file chosen: the browser itself refuses to send the form.
    page.click("#predict-button")
    assert page.eval_on_selector("#predict-form input[type=file]", "input => input.validity.valueMissing") and not page.watch.posts[1:]

    # A real clip through the file input, Score clicked twice before the answer comes: it is sent once.
    page.set_input_files("#predict-form input[type=file]", str(pattern_clip))
    box = page.locator("#predict-button").bounding_box()
    for _ in range(2):  # the mouse, not page.click: that one waits for the page the first click opens
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(50)
    page.wait_for_selector("#score")
    assert len(page.watch.posts) == 2  # the login, and one prediction
    direct = videos_predict(model_loaded(lab), [pattern_clip], device="cpu")[0]  # the same clip, scored here
    assert page.inner_text("#score") == f"{direct['score']:.2f}"
    neighbours = page.locator("#neighbours tbody tr")
    assert neighbours.count() == 4  # the tiny split's training videos, each with what its raters wrote
    assert [neighbours.nth(i).locator("td").first.inner_text() for i in range(4)] == [n["video"] for n in direct["explanation"]["neighbours"]]
    assert "reason 0 of" in page.inner_text("#prediction") and page.is_enabled("#predict-button")
    page.screenshot(path=str(ARTIFACTS / "modeling_predict.png"), full_page=True)

    # Not a video: a text file under a video's name, one under its own, an empty one, the clip cut in half (its index
    # is at the end). A clear sentence, no trace, no path of the server.
    bad = {"notes.mp4": b"plain text, not a video\n", "notes.txt": b"plain text\n", "empty.mp4": b"",
           "cut.mp4": pattern_clip.read_bytes()[:pattern_clip.stat().st_size // 2]}
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        page.set_input_files("#predict-form input[type=file]", str(tmp_path / name))
        with page.expect_navigation() as navigation:
            page.click("#predict-button")
        assert navigation.value.status == 200
        message = page.inner_text("#predict-error")
        assert "video" in message and message.endswith(".") and not LEAKS.search(page.inner_text("body")), message
        assert page.locator("#prediction").count() == 0
    page.watch.check(page)
    context.close()
    assert server_errors(caplog) == []


def test_the_models_pages_fit_a_phone(browser, live_server, lab, pattern_clip, caplog):
    context, page = signed_in(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    fits(page)
    for selector in ("#train-button", "#benchmark-button", "#models a"):
        within_reach(page, selector)
    page.screenshot(path=str(ARTIFACTS / "modeling_models_phone.png"), full_page=True)
    found = {"models": violations(page, "modeling_models_phone")}
    page.click("#models a")
    page.wait_for_url(f"**/models/{lab.pk}/")
    fits(page)
    for selector in ("#predict-form input[type=file]", "#predict-button"):
        within_reach(page, selector)
    page.set_input_files("#predict-form input[type=file]", str(pattern_clip))
    page.click("#predict-button")
    page.wait_for_selector("#score")
    fits(page)  # with the result's tables
    within_reach(page, "#predict-button")
    within_reach(page, "#neighbours tbody tr:first-child td:last-child")  # what people wrote, not scrolled out of sight
    page.screenshot(path=str(ARTIFACTS / "modeling_predict_phone.png"), full_page=True)
    found["predict"] = violations(page, "modeling_predict_phone")
    assert {name: v for name, v in found.items() if v} == {}  # no serious or critical WCAG 2.1 A/AA finding
    page.watch.check(page)
    context.close()
    assert server_errors(caplog) == []
