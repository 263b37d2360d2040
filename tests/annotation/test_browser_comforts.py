"""The annotator pages on a phone, and the comforts and checks of issue 12, in real headless Chromium:
every annotator page fits a 390 px screen, the rating page keeps its video in view, Ctrl+Enter
saves, the review page shows thumbnails and keeps its scroll position, and play to the end is
enforced by the server (ratings and the lecture's start)."""
from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from annotation import selectors, services
from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, Rating, Video

from .. import ids
from ..conftest import ARTIFACTS, LIBRARY_MEDIA_SECRET
from .test_browser import page, take_lecture, wait_until  # noqa: F401 (page: the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module", autouse=True)
def urls_imported():
    """The URLconf, imported before the browser's first request: it imports every app's views (the
    modeling pages pull in torch), which took 25-36 s on the shared two-core machine when this file
    ran first, past Playwright's 15 s navigation timeout. Free once another test imported it."""
    from django.urls import get_resolver

    get_resolver().url_patterns


def enter_to_lecture(page, pid: str, check=lambda name: None):
    page.goto(f"{page.base}/c/study/?{urlencode(ids.prolific_params(pid))}")
    page.wait_for_url("**/consent/")
    check("consent")
    page.check("input[name=agree]")
    page.click("#consent-submit")
    page.wait_for_url("**/about-you/")
    check("demographics")
    for name, value in (("age_group", "30-39"), ("gender", "female"), ("education", "bachelor"), ("prior_knowledge", "heard")):
        page.check(f"input[name={name}][value='{value}']")
    page.click("#demographics-form button[type=submit]")
    page.wait_for_url("**/lecture/")


def rate_rest(annotator: Annotator, number: int, *, miss_checker: bool) -> Attempt:
    """Every unrated position of the attempt answered at once through the service (the browser's own
    submits are tested in test_browser.py); one checker missed when asked."""
    attempt = Attempt.objects.get(session__annotator=annotator, number=number)
    videos = Video.objects.in_bulk(attempt.video_order)
    rated = selectors.attempt_rated_positions(attempt)
    items, missed = [], False
    for position, video_id in enumerate(attempt.video_order, start=1):
        if position in rated:
            continue
        video, score = videos[video_id], 3
        if video.role == Video.Role.CHECKER:
            score = video.gold_score
            if miss_checker and not missed:
                score, missed = (3 if video.gold_score == 5 else 4), True
        token = selectors.rating_token_make(attempt, position, timezone.now())
        items.append(services.RatingInput(token=token, score=score, typed_reason=f"the mouth is blurry, item {position}"))
    services.ratings_submit_batch(annotator_id=annotator.pk, items=items)
    return attempt


def in_view(page, selector: str) -> bool:
    """Whether the element is wholly inside the viewport and nothing covers its centre (the sticky video)."""
    return page.eval_on_selector(selector, """el => { const r = el.getBoundingClientRect();
        const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth
            && (top === el || el.contains(top)); }""")


def test_every_annotator_page_fits_a_phone(page, make_campaign):
    make_campaign(contact="team@example.org", title="A study of how real short face videos look to people")
    page.set_viewport_size(PHONE)
    widths, no_contact = {}, []

    def check(name: str) -> None:
        page.wait_for_load_state("load")
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / f"phone_{name}.png"), full_page=True)
        if name != "preview" and page.locator("#contact-link").get_attribute("href") != "mailto:team@example.org":
            no_contact.append(name)

    page.goto(f"{page.base}/c/study/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId={ids.mturk('hit')}")  # MTurk's preview
    check("preview")
    enter_to_lecture(page, "PH1", check)
    check("lecture")
    take_lecture(page)
    check("rate")
    # The top bar is one line: the progress bar keeps its width beside the (long) title.
    assert page.eval_on_selector(".topbar", "el => el.getBoundingClientRect().height") < 56
    assert page.eval_on_selector("#progress-bar", "el => el.getBoundingClientRect().width") >= 60
    # The video stays in view while a grade is chosen and while the reason is typed.
    page.locator("label[for=grade-5]").scroll_into_view_if_needed()
    page.click("label[for=grade-5]")
    assert in_view(page, "#player") and in_view(page, "label[for=grade-5]")
    page.eval_on_selector("#reason", "el => el.scrollIntoView({block: 'nearest'})")
    assert in_view(page, "#player") and in_view(page, "#reason")
    # Scrolled to the very end of the page (the save button), the video is still in view.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert page.evaluate("window.scrollY") > 0
    assert in_view(page, "#player") and in_view(page, "#submit-button")
    page.screenshot(path=str(ARTIFACTS / "phone_rate_reason.png"))

    annotator = Annotator.objects.get(external_id=ids.prolific("PH1"))
    rate_rest(annotator, 1, miss_checker=True)
    page.goto(f"{page.base}/c/study/review/")
    check("review")
    page.click("#finish-button")
    page.wait_for_url("**/not-accepted/")
    check("disqualified")
    page.click("#to-lecture")
    take_lecture(page)
    rate_rest(annotator, 2, miss_checker=False)
    page.goto(f"{page.base}/c/study/review/")
    page.click("#finish-button")
    page.wait_for_url("**/thank-you/")
    check("done")
    page.goto(f"{page.base}/c/study/declined/")
    check("declined")
    AnnotationSession.objects.filter(annotator=annotator).update(status=AnnotationSession.Status.EXHAUSTED)
    page.goto(f"{page.base}/c/study/screened-out/")
    assert page.inner_text("h1") == "Thank you for your time"
    check("screened_out")
    page.goto(f"{page.base}/c/study/closed/")
    check("error")

    assert len(widths) == 11
    assert {name: width for name, width in widths.items() if width > PHONE["width"]} == {}
    assert no_contact == []
    assert page.console_errors == []


def test_ctrl_enter_saves_and_the_review_keeps_its_place_with_thumbnails(page, make_campaign):
    make_campaign(expected_minutes=20)
    enter_to_lecture(page, "PH2")
    take_lecture(page)
    # Before any rating: the campaign's 20 minutes spread over 40 videos, for the 40 left.
    assert page.is_visible("#time-left") and page.inner_text("#minutes-left") == "20"
    page.click("label[for=grade-2]")
    page.fill("#reason", "the seam around the face shows")
    page.press("#reason", "Control+Enter")
    wait_until(page, "document.getElementById('progress-text').textContent.trim() === '2 / 40'")
    page.click("label[for=grade-3]")
    page.fill("#reason", "slight flicker on the cheeks")
    page.keyboard.press("Meta+Enter")
    wait_until(page, "document.getElementById('progress-text').textContent.trim() === '3 / 40'")
    annotator = Annotator.objects.get(external_id=ids.prolific("PH2"))
    assert dict(Rating.objects.filter(attempt__session__annotator=annotator).values_list("position", "score")) == {1: 2, 2: 3}
    # Two answers in a few seconds: the page's own pace now sets the estimate (about a minute for 38).
    assert page.is_visible("#time-left") and int(page.inner_text("#minutes-left")) <= 5

    rate_rest(annotator, 1, miss_checker=False)
    page.goto(f"{page.base}/c/study/review/")
    assert page.locator("img.thumb").count() == 40
    page.locator("#row-34").scroll_into_view_if_needed()
    wait_until(page, "document.querySelector('#row-34 img.thumb').complete")
    assert page.eval_on_selector("#row-34 img.thumb", "img => img.naturalWidth") > 0
    before = page.evaluate("window.scrollY")
    assert before > 300
    page.click("#row-34 a.change-link")
    page.wait_for_url("**/rate/?position=34")
    page.click("label[for=grade-1]")
    page.press("#reason", "Control+Enter")
    page.wait_for_url("**/review/")
    wait_until(page, f"Math.abs(window.scrollY - {before}) < 5")
    assert Rating.objects.get(attempt__session__annotator=annotator, position=34).score == 1
    page.screenshot(path=str(ARTIFACTS / "review_after_change.png"))
    assert page.console_errors == []


@pytest.fixture(scope="module")
def long_clip(prepared_videos):
    """A 3-second clip, prepared by the ingest: an end reported at once must be told from a play-through
    by seconds, not tenths, on a loaded machine (with the library's 1-second clips a play-through and
    an early end were both under a second apart on the server's clock)."""
    from annotation import media
    from annotation.ingest import prepare_file

    from ..conftest import TEST_VAR

    folder = TEST_VAR / "sources-long"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "long_3s.mp4"
    if not path.exists():
        media.make_test_pattern(path, seed=4242, seconds=3.0, size=(160, 96), fps=25)
    library = Campaign(slug="library", media_secret=LIBRARY_MEDIA_SECRET)  # never saved: the test campaigns' key
    return prepare_file(dataclasses.replace(prepared_videos[0].spec, file=path.name), folder, library)


# Started from the beginning (the page reports the start), then an "ended" at once: what a seek to the
# end gives on a real video, or a script probing the page. (The test clips are not seekable in this
# headless Chromium: `seekable` stayed empty, so a real seek played them through.)
SEEK_TO_END = """async v => { v.muted = true; await v.play(); v.pause(); v.dispatchEvent(new Event("ended")); }"""


def test_play_to_end_is_enforced_by_the_server(page, make_campaign, long_clip):
    campaign = make_campaign(require_play_to_end=True)
    # Every video of this campaign plays the 3-second clip.
    campaign.videos.update(file=long_clip.video_name, poster=long_clip.poster_name, duration_s=long_clip.source.duration_s)
    assert long_clip.source.duration_s > 2.5
    enter_to_lecture(page, "PH3")
    # The start, forced past the page's own lock, is refused by the server.
    page.evaluate("document.getElementById('start-button').disabled = false")
    page.click("#start-button")
    assert page.get_attribute("[data-code]", "data-code") == "demos_not_played"
    assert not AnnotationSession.objects.exists()
    page.goto(f"{page.base}/c/study/lecture/")
    # Each demo started and at once reported ended: the server refuses the ends and nothing unlocks.
    page.eval_on_selector_all(".demo-video", f"videos => videos.forEach({SEEK_TO_END})")
    wait_until(page, "[...document.querySelectorAll('.demo-status')].every(s => s.textContent.includes('sooner'))")
    assert page.is_disabled("#start-button")
    take_lecture(page)  # played through: the server accepts the ends and the start

    page.click("label[for=grade-4]")
    page.fill("#reason", "the mouth looks blurry")
    page.click("#submit-button")  # never played
    page.wait_for_selector("#form-error:not([hidden])")
    assert "watch the video to the end" in page.inner_text("#form-error")
    page.eval_on_selector("#player", SEEK_TO_END)
    wait_until(page, "document.getElementById('form-error').textContent.includes('sooner')")
    page.click("#submit-button")
    wait_until(page, "document.getElementById('form-error').textContent.includes('watch the video to the end')")
    assert not Rating.objects.exists()
    page.click("#replay-button")  # played through this time
    wait_until(page, "document.getElementById('form-error').hidden", timeout=10_000)
    page.click("#submit-button")
    wait_until(page, "document.getElementById('progress-text').textContent.trim() === '2 / 40'")
    assert Rating.objects.get().played_to_end
