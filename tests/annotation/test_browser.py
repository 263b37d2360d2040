"""Whole annotator journeys in real headless Chromium (Debian's package) driven by Playwright."""
from __future__ import annotations

import difflib
import json
import re
import time
from urllib.parse import urlencode

import pytest

from annotation.models import Annotator, Attempt, Rating, Video

from ..conftest import ARTIFACTS
from .. import ids


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Words that would tell an annotator which video is a checker, or what any video is.
FORBIDDEN = re.compile(r"checker|gold|regular_|is_real|identity_pair|source_name|content_hash", re.I)


def wait_until(page, expression: str, timeout: float = 5_000) -> None:
    """Poll `expression` in the page until it is true. Not page.wait_for_function: that evaluates a
    string with eval(), which the site's Content-Security-Policy (no unsafe-eval) refuses, as it
    should; page.evaluate runs through the DevTools protocol instead."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        time.sleep(0.05)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_errors = []
    page.received = []  # (url, text) of every non-media response the browser got
    page.answers = []  # (content type, body) of every answer the rating page sent
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))

    def record(route):
        if route.request.method == "POST" and "/api/ratings/" in route.request.url:
            page.answers.append((route.request.headers.get("content-type"), route.request.post_data))
        response = route.fetch(max_redirects=0)  # let the browser follow redirects itself
        body = response.body()
        page.received.append((route.request.url, body.decode("utf-8", "replace")))
        route.fulfill(response=response, body=body)

    page.route(re.compile(r"^(?!.*/media/).*$"), record)
    page.base = live_server.url
    yield page
    # A request still in flight when the test ends (a poster, a prefetch) must not fail its teardown.
    page.unroute_all(behavior="ignoreErrors")
    context.close()


def enter_and_take_lecture(page, pid: str):
    page.goto(f"{page.base}/c/study/?{urlencode(ids.prolific_params(pid))}")
    page.click("#consent-submit")  # not ticked: the browser refuses to send the form
    assert page.url.endswith("/consent/")
    assert page.eval_on_selector("input[name=agree]", "box => box.validity.valueMissing")
    page.check("input[name=agree]")
    page.click("#consent-submit")
    for name, value in (("age_group", "30-39"), ("gender", "female"), ("education", "bachelor"), ("prior_knowledge", "heard")):
        page.check(f"input[name={name}][value='{value}']")
    page.click("#demographics-form button[type=submit]")
    take_lecture(page)


def take_lecture(page):
    page.wait_for_url("**/lecture/")
    assert page.locator(".demo-video").count() == 5
    assert page.is_disabled("#start-button")
    page.eval_on_selector_all(".demo-video", "videos => videos.forEach(v => { v.muted = true; v.play(); })")
    wait_until(page, "!document.getElementById('start-button').disabled", timeout=20_000)
    page.click("#start-button")
    page.wait_for_url("**/rate/**")


def normalized(html: str) -> str:
    """The rating page with what legitimately differs per video (file, token, counts) blanked out."""
    html = re.sub(r'/media/[a-z]+/[0-9a-f]{64}\.(mp4|jpg)', "MEDIA", html)
    html = re.sub(r'name="(token|csrfmiddlewaretoken)" (id="token" )?value="[^"]*"', r'name="\1" value="V"', html)
    return re.sub(r"position=\d+", "position=N", html)


def rate_attempt(page, annotator: Annotator, number: int, *, miss_checker: bool, shapes: set[str] | None = None):
    attempt = Attempt.objects.get(session__annotator=annotator, number=number)
    videos = Video.objects.in_bulk(attempt.video_order)
    missed = False
    for position, video_id in enumerate(attempt.video_order, start=1):
        wait_until(page, f"document.getElementById('progress-text').textContent.trim() === '{position} / 40'")
        if shapes is not None and position > 1:  # the first page has no Back link
            shapes.add(normalized(page.inner_html("#rating-form")))
        video = videos[video_id]
        score = 3
        if video.role == Video.Role.CHECKER:
            score = video.gold_score
            if miss_checker and not missed:
                score, missed = (3 if video.gold_score == 5 else 4), True
        if position == 1:
            # Watch the first video to the end: the player's facts must reach the server.
            page.eval_on_selector("#player", "v => { v.muted = true; return v.play(); }")
            wait_until(page, "document.getElementById('player').ended", timeout=10_000)
        if position % 2:
            page.locator("body").click(position={"x": 5, "y": 5})
            page.keyboard.press(str(score))
        else:
            page.click(f"label[for=grade-{score}]")
        page.fill("#reason", "a young person talking" if score == 5 else f"the mouth is blurry, grade {score}")
        page.click("#submit-button")
    page.wait_for_url("**/review/")
    return attempt


def test_qualified_journey_with_screenshot_and_no_leak(page, make_campaign):
    make_campaign()
    enter_and_take_lecture(page, "PW1")
    page.screenshot(path=str(ARTIFACTS / "rating_page_laptop.png"))
    annotator = Annotator.objects.get(external_id=ids.prolific("PW1"))
    shapes: set[str] = set()
    attempt = rate_attempt(page, annotator, 1, miss_checker=False, shapes=shapes)
    # A checker's page is indistinguishable from any other once the file and token are blanked out.
    assert len(shapes) == 1, "\n".join(difflib.unified_diff(*[x.splitlines() for x in sorted(shapes)[:2]], lineterm=""))
    page.click("#finish-button")
    page.wait_for_url("**/thank-you/")
    assert page.inner_text("#completion-code") == "CODE-1234"

    attempt.refresh_from_db()
    assert attempt.outcome == Attempt.Outcome.QUALIFIED
    ratings = Rating.objects.filter(attempt=attempt)
    assert ratings.count() == 40
    first = ratings.get(position=1)
    assert first.played_to_end and first.plays >= 1 and first.seconds_spent > 0
    fives = ratings.filter(score=5)
    assert fives.exists() and all(r.reason == r.attempt.session.campaign.grade5_reason for r in fives)
    assert all(r.typed_reason == "a young person talking" for r in fives)

    assert page.console_errors == []
    assert len(page.received) > 40
    # The page sends each answer as a JSON object of its form's fields, not as multipart form data.
    assert len(page.answers) == 40 and {kind for kind, _ in page.answers} == {"application/json"}
    assert {"token", "score", "reason", "plays", "seeks", "played_to_end", "fullscreen"} <= set(json.loads(page.answers[0][1]))
    leaks = [(url, m.group(0)) for url, text in page.received for m in [FORBIDDEN.search(text)] if m]
    assert leaks == []


def test_disqualified_then_lecture_then_second_attempt(page, make_campaign):
    make_campaign()
    enter_and_take_lecture(page, "PW2")
    annotator = Annotator.objects.get(external_id=ids.prolific("PW2"))
    first = rate_attempt(page, annotator, 1, miss_checker=True)
    page.click("#finish-button")
    page.wait_for_url("**/not-accepted/")
    assert "could not be accepted" in page.inner_text("h1")
    page.click("#to-lecture")
    take_lecture(page)
    second = rate_attempt(page, annotator, 2, miss_checker=False)
    assert second.video_order != first.video_order and sorted(second.video_order) == sorted(first.video_order)
    page.click("#finish-button")
    page.wait_for_url("**/thank-you/")
    outcomes = dict(Attempt.objects.filter(session__annotator=annotator).values_list("number", "outcome"))
    assert outcomes == {1: Attempt.Outcome.DISQUALIFIED, 2: Attempt.Outcome.QUALIFIED}
    assert Rating.objects.filter(attempt__session__annotator=annotator).count() == 80
    leaks = [(url, m.group(0)) for url, text in page.received for m in [FORBIDDEN.search(text)] if m]
    assert leaks == []


def test_double_click_lost_connection_and_phone_layout(page, make_campaign):
    make_campaign()
    page.set_viewport_size({"width": 390, "height": 844})
    enter_and_take_lecture(page, "PW3")
    annotator = Annotator.objects.get(external_id=ids.prolific("PW3"))

    page.click("label[for=grade-2]")
    page.fill("#reason", "the seam around the face is visible")
    page.dblclick("#submit-button")
    wait_until(page, "document.getElementById('progress-text').textContent.trim() === '2 / 40'")
    page.wait_for_timeout(300)
    assert page.inner_text("#progress-text") == "2 / 40"
    assert Rating.objects.filter(attempt__session__annotator=annotator).count() == 1

    # The connection drops while the answer is on its way.
    drop = lambda route: route.abort("connectionreset")  # noqa: E731
    page.route("**/api/ratings/", drop)
    page.click("label[for=grade-4]")
    page.fill("#reason", "slight flicker on the cheeks")
    page.click("#submit-button")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "Connection lost" in page.inner_text("#form-error")
    assert page.input_value("#reason") == "slight flicker on the cheeks"  # nothing typed is lost
    page.unroute("**/api/ratings/", drop)
    page.click("#submit-button")
    wait_until(page, "document.getElementById('progress-text').textContent.trim() === '3 / 40'")
    assert Rating.objects.filter(attempt__session__annotator=annotator).count() == 2
    page.screenshot(path=str(ARTIFACTS / "rating_page_phone.png"), full_page=True)

    # Going back shows the stored answer; changing it keeps one rating per video.
    page.click("#back-link")
    wait_until(page, "document.getElementById('progress-text').textContent.trim() === '2 / 40'")
    assert page.is_checked("#grade-4")
    page.click("label[for=grade-3]")
    page.click("#submit-button")
    wait_until(page, "document.getElementById('progress-text').textContent.trim() === '3 / 40'")
    scores = dict(Rating.objects.filter(attempt__session__annotator=annotator).values_list("position", "score"))
    assert scores == {1: 2, 2: 3}
