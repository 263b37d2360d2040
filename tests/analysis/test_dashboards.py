"""Dashboards, chart CSVs, exclusions and exports: for the campaign's members as their role allows; rendered in
real Chromium without errors."""
from __future__ import annotations

import csv
import io
import re

import pytest

from analysis.models import AnalysisRun, AnnotatorExclusion
from analysis.figures import CHARTS
from annotation.models import Annotator, Rating, Video

from ..conftest import ARTIFACTS
from ..roles import member, researcher
from .factories import rated_campaign


@pytest.fixture
def staff_client(client):
    """A researcher's browser; `staff_client.researcher` joins a campaign with `member(...)`."""
    client.researcher = researcher("researcher")
    client.force_login(client.researcher)
    return client


@pytest.mark.django_db
def test_dashboards_are_for_signed_in_researchers_only(client):
    rated_campaign(n_annotators=6, n_videos=6)
    for url in ("/staff/campaigns/rated/analysis/", "/staff/campaigns/rated/monitor/", "/staff/campaigns/rated/export/ratings.csv",
                "/staff/campaigns/rated/charts/sos.csv"):
        assert client.get(url).status_code == 302, url
    assert client.post("/staff/campaigns/rated/analysis/run/").status_code == 302
    assert not AnalysisRun.objects.exists()
    assert client.get("/api/campaigns/rated/analysis/").status_code == 401


@pytest.mark.django_db
def test_run_from_dashboard_then_charts_and_exports(staff_client, django_capture_on_commit_callbacks):
    campaign = rated_campaign(n_annotators=12, n_videos=10)
    member(staff_client.researcher, campaign, "analyst")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/staff/campaigns/rated/analysis/run/")
    assert response.status_code == 302
    run = AnalysisRun.objects.get()
    assert run.status == AnalysisRun.Status.COMPLETED and run.trigger == AnalysisRun.Trigger.DASHBOARD
    page = staff_client.get("/staff/campaigns/rated/analysis/").content.decode()
    assert "v1" in page and "kruskal-table" in page and "vendor/plotly.min.js" in page and "cdn." not in page
    for chart in CHARTS:
        table = staff_client.get(f"/staff/campaigns/rated/charts/{chart.name}.csv")
        assert table.status_code == 200 and table["Content-Type"] == "text/csv", chart.name
    sos_rows = list(csv.DictReader(io.StringIO(staff_client.get("/staff/campaigns/rated/charts/histograms.csv").content.decode())))
    assert len(sos_rows) == 10 and {"video", "mos", "sos", "n", "ci_low", "ci_high"} <= set(sos_rows[0])

    videos = list(csv.DictReader(io.StringIO(b"".join(staff_client.get("/staff/campaigns/rated/export/videos.csv").streaming_content).decode())))
    assert len(videos) == 10 and all(v["mos"] for v in videos)
    assert {v["analysis_version"] for v in videos} == {str(run.version)}  # the run the MOS comes from
    ratings = list(csv.DictReader(io.StringIO(b"".join(staff_client.get("/staff/campaigns/rated/export/ratings.csv").streaming_content).decode())))
    assert len(ratings) == Rating.objects.filter(video__campaign=campaign).count()
    assert {r["outcome"] for r in ratings} == {"qualified", "disqualified"}
    assert all((r["qualified"] == "True") == (r["outcome"] == "qualified") for r in ratings)
    status = staff_client.get("/api/campaigns/rated/analysis/").json()
    assert status["status"] == "completed" and status["done"] == status["total"]


@pytest.mark.django_db
def test_exclude_and_include_again(staff_client):
    campaign = rated_campaign(n_annotators=5, n_videos=5)
    member(staff_client.researcher, campaign, "analyst")
    annotator = Annotator.objects.filter(campaign=campaign).first()
    staff_client.post("/staff/campaigns/rated/exclusions/", {"annotator": annotator.pk, "reason": "careless"})
    assert AnnotatorExclusion.objects.get().reason == "careless"
    staff_client.post("/staff/campaigns/rated/exclusions/", {"annotator": annotator.pk, "action": "include"})
    assert not AnnotatorExclusion.objects.exists()
    response = staff_client.post("/staff/campaigns/rated/exclusions/", {"annotator": 999999}, follow=True)
    assert b"No annotator with that id" in response.content


# Every text of a rendered Plotly figure (tick labels, subplot and axis titles) with its box on the page.
TEXT_BOXES_JS = """(chart) => Array.from(document.querySelectorAll(`#${chart} svg text`))
  .filter((t) => t.textContent.trim() && getComputedStyle(t).display !== "none" && getComputedStyle(t).visibility !== "hidden")
  .map((t) => { const r = t.getBoundingClientRect(); return {text: t.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })
  .filter((b) => b.x1 > b.x0 && b.y1 > b.y0)"""


def overlapping_texts(boxes: list[dict], slack: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than `slack` pixels both ways."""
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > slack and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > slack]


def test_overlap_measure_finds_overlaps():
    """The measure the browser test relies on can fail."""
    boxes = [{"text": "a", "x0": 0, "y0": 0, "x1": 10, "y1": 10}, {"text": "b", "x0": 5, "y0": 5, "x1": 20, "y1": 20},
             {"text": "c", "x0": 20, "y0": 0, "x1": 30, "y1": 10}]
    assert overlapping_texts(boxes) == [("a", "b")]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboards_render_in_chromium_without_console_errors(browser, live_server, prepared_videos):
    """The dashboards draw every chart; Fig. 2's texts do not collide; a click on a SOS point opens that
    video's page, playable, with its ratings and reasons; an exclusion is confirmed in the success style."""
    from analysis import services

    campaign = rated_campaign(n_annotators=40, n_videos=30)
    # Real files behind the rated videos, so that the video page plays one.
    Video.objects.filter(campaign=campaign).update(file=prepared_videos[0].video_name, poster=prepared_videos[0].poster_name)
    services.analysis_run_start(campaign=campaign)  # transactional test: committed at once, runs in-process
    researcher("staff", campaign=campaign, role="analyst", password="pw")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The live server's first request imports every app's views: 22-26 s measured with the machine's
    # two cores shared by eight test runs, past Playwright's default 30 s once the page's assets load.
    page.goto(f"{live_server.url}/accounts/login/?next=/staff/campaigns/rated/analysis/", timeout=120_000)
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/analysis/")
    page.wait_for_selector("#chart-sos .main-svg")
    assert page.locator(".chart .main-svg").count() >= 6
    # The vendored bundle has every trace type the charts use: the SOS scatter draws its points.
    assert page.locator("#chart-sos .scatterlayer .point").count() >= 2 * 30
    page.screenshot(path=str(ARTIFACTS / "analysis_dashboard.png"), full_page=True)

    # Fig. 2: every text measured in the rendered SVG, none overlapping another; groups in the form's words.
    page.wait_for_selector("#chart-annotators .boxlayer path")
    boxes = page.evaluate(TEXT_BOXES_JS, "chart-annotators")
    texts = [b["text"] for b in boxes]
    # Every group shows, named with the demographics form's words (rated_campaign's answers), none with a code.
    assert {"under 20", "20-29", "30-39", "Female", "Male", "Bachelor or equivalent", "Master or equivalent",
            "I had never heard of deepfakes", "I have heard of deepfakes", "I work with or study deepfakes"} <= set(texts)
    assert not {"<20", "female", "bachelor", "none", "expert"} & set(texts)
    assert sum(t.endswith(" s") for t in texts) >= 2, "time groups carry their unit"
    assert len(boxes) > 30 and overlapping_texts(boxes) == []
    page.locator("#chart-annotators").screenshot(path=str(ARTIFACTS / "analysis_fig2.png"))
    with page.expect_download() as download:
        page.click("button[data-chart=chart-consistency]")
    assert download.value.suggested_filename.endswith(".png")

    # A click on a point of the SOS scatter opens its video's page.
    point = page.locator("#chart-sos .scatterlayer .trace").nth(1).locator(".point").first
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#chart-sos .hoverlayer .hovertext")
    video_id = int(re.search(r"video (\d+)", page.locator("#chart-sos .hoverlayer .hovertext").text_content()).group(1))
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"**/staff/campaigns/rated/videos/{video_id}/")
    rows = page.locator("#video-ratings tbody tr")
    assert rows.count() == Rating.objects.filter(video_id=video_id).count() > 0
    assert "the mouth is slightly blurry" in page.locator("#video-ratings").inner_text() or "seam" in page.locator("#video-ratings").inner_text()
    page.wait_for_function("document.getElementById('video-player').readyState >= 1")  # its metadata loaded: playable
    page.screenshot(path=str(ARTIFACTS / "analysis_video_page.png"), full_page=True)

    page.goto(f"{live_server.url}/staff/campaigns/rated/monitor/")
    page.wait_for_selector("#chart-progress .main-svg")
    page.wait_for_selector("#chart-subjects .scatterlayer .point")
    page.wait_for_selector("#chart-sessions .main-svg")
    page.screenshot(path=str(ARTIFACTS / "analysis_monitor.png"), full_page=True)
    # Success in green with role=status; an error stays red with role=alert.
    annotator = Annotator.objects.filter(campaign=campaign).first()
    exclude = "form.inline-form:has(input[name=annotator])"
    page.fill(f"{exclude} input[name=annotator]", str(annotator.pk))
    page.click(f"{exclude} button[type=submit]")
    success = page.locator(".messages .message-success[role=status]")
    assert "is excluded" in success.inner_text()
    assert success.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(230, 244, 231)"
    success.screenshot(path=str(ARTIFACTS / "analysis_message_success.png"))
    page.fill(f"{exclude} input[name=annotator]", "nobody-by-that-id")
    page.click(f"{exclude} button[type=submit]")
    error = page.locator(".messages .error[role=alert]")
    assert error.count() == 1 and page.locator(".messages .message-success").count() == 0
    assert error.evaluate("el => getComputedStyle(el).backgroundColor") != "rgb(230, 244, 231)"
    error.screenshot(path=str(ARTIFACTS / "analysis_message_error.png"))
    context.close()
    assert errors == []


def test_vendored_plotly_names_no_server():
    """static/vendor/plotly.min.js is the cartesian bundle with its server defaults replaced (README.txt)."""
    from django.contrib.staticfiles import finders

    bundle = open(finders.find("vendor/plotly.min.js"), encoding="utf-8").read()
    for server in ("cdn.plot.ly", "cloud.plotly.com", "tile.openstreetmap.org", "arcgisonline", "maplibre.org", 'href="https://plotly.com/"'):
        assert server not in bundle


@pytest.mark.django_db
def test_a_reason_written_as_a_formula_leaves_as_text_in_the_exported_csv(staff_client):
    campaign = rated_campaign(n_annotators=4, n_videos=4)
    member(staff_client.researcher, campaign, "owner")
    hostile = Rating.objects.filter(video__campaign=campaign).first()
    Rating.objects.filter(pk=hostile.pk).update(typed_reason='=HYPERLINK("http://evil.example","x")', reason="-2+3")
    body = b"".join(staff_client.get("/staff/campaigns/rated/export/ratings.csv").streaming_content).decode()
    row = next(r for r in csv.DictReader(io.StringIO(body)) if r["rating"] == str(hostile.pk))
    assert row["typed_reason"] == '\'=HYPERLINK("http://evil.example","x")' and row["reason"] == "'-2+3"


DASHBOARD_PAGES = ("/staff/campaigns/rated/analysis/", "/staff/campaigns/rated/monitor/", "/staff/campaigns/rated/charts/sos.csv")
ANALYST_PAGES = ("/staff/campaigns/rated/export/ratings.csv", "/staff/campaigns/rated/export/videos.csv")


@pytest.mark.django_db
def test_a_staff_user_of_another_campaign_finds_no_page_and_starts_nothing(client):
    """404, not 403: a slug does not say whether a campaign exists to those who cannot see it."""
    from annotation.models import Campaign

    campaign = rated_campaign(n_annotators=4, n_videos=4)
    client.force_login(researcher("outsider", campaign=Campaign.objects.create(slug="other", title="Other")))
    for url in (*DASHBOARD_PAGES, *ANALYST_PAGES, "/staff/campaigns/rated/", "/staff/campaigns/nonexistent/analysis/"):
        assert client.get(url).status_code == 404, url
    assert client.post("/staff/campaigns/rated/analysis/run/").status_code == 404
    annotator = Annotator.objects.filter(campaign=campaign).first()
    assert client.post("/staff/campaigns/rated/exclusions/", {"annotator": annotator.pk}).status_code == 404
    for url in ("/api/campaigns/rated/analysis/", "/api/campaigns/rated/status/"):
        assert client.get(url).status_code == 404 and client.get(url).json()["code"] == "not_found", url
    assert not AnalysisRun.objects.exists() and not AnnotatorExclusion.objects.exists()


@pytest.mark.django_db
def test_a_member_without_the_permissions_sees_nothing(client):
    """The role alone is not enough: Django's model permissions are honoured too."""
    campaign = rated_campaign(n_annotators=4, n_videos=4)
    client.force_login(researcher("bare", campaign=campaign, role="owner", permissions=()))
    for url in (*DASHBOARD_PAGES, *ANALYST_PAGES):
        assert client.get(url).status_code == 404, url
    assert client.post("/staff/campaigns/rated/analysis/run/").status_code == 404
    assert not AnalysisRun.objects.exists()


@pytest.mark.django_db
def test_a_viewer_reads_the_dashboards_but_cannot_run_exclude_or_export(client):
    campaign = rated_campaign(n_annotators=4, n_videos=4)
    client.force_login(researcher("viewer", campaign=campaign, role="viewer"))
    for url in DASHBOARD_PAGES:
        assert client.get(url).status_code == 200, url
    page = client.get("/staff/campaigns/rated/analysis/").content.decode()
    assert "run-button" not in page and "export/ratings.csv" not in page
    assert "/exclusions/" not in client.get("/staff/campaigns/rated/monitor/").content.decode()
    for url in ANALYST_PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post("/staff/campaigns/rated/analysis/run/").status_code == 403
    annotator = Annotator.objects.filter(campaign=campaign).first()
    assert client.post("/staff/campaigns/rated/exclusions/", {"annotator": annotator.pk}).status_code == 403
    assert not AnalysisRun.objects.exists() and not AnnotatorExclusion.objects.exists()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in_with_the_page_to_come_back_to(client):
    rated_campaign(n_annotators=2, n_videos=2)
    response = client.get("/staff/campaigns/rated/monitor/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/staff/campaigns/rated/monitor/"


@pytest.mark.django_db
def test_a_video_page_shows_its_ratings_and_reasons_to_the_campaigns_members_only(client):
    from annotation.models import Campaign

    campaign = rated_campaign(n_annotators=5, n_videos=3)
    video = Video.objects.filter(campaign=campaign, role=Video.Role.REGULAR).first()
    ratings = Rating.objects.filter(video=video).select_related("attempt")
    url = f"/staff/campaigns/rated/videos/{video.pk}/"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(researcher("outsider", campaign=Campaign.objects.create(slug="other", title="Other")))
    assert client.get(url).status_code == 404
    client.force_login(researcher("viewer", campaign=campaign, role="viewer"))
    page = client.get(url).content.decode()
    assert page.count("<tr") - 1 == len(ratings) == 7  # 5 annotators, 2 of them redid their attempt
    assert all(r.typed_reason in page for r in ratings) and f'src="/media/{video.file.name}"' in page
    qualified = [r.score for r in ratings if r.attempt.outcome == "qualified"]
    assert f"{sum(qualified) / len(qualified):.2f}" in page  # the MOS of the qualified attempts
    assert "disqualified" in page
    other = Video.objects.create(campaign=Campaign.objects.get(slug="other"), content_hash="o" * 64, source_name="o.mp4")
    for missing in (f"/staff/campaigns/rated/videos/{other.pk}/", "/staff/campaigns/rated/videos/999999/"):
        assert client.get(missing).status_code == 404, missing


def test_fig2_names_groups_as_the_form_did_in_natural_order_with_seconds():
    from analysis import figures, selectors

    fnr = {"annotator": list(range(8)), "fnr": [0.1] * 8,
           "age": ["50+", "<20", "30-39", "20-29", "50+", "<20", "30-39", ""],
           "prior_knowledge": ["expert", "none", "heard", "seen"] * 2,
           "time_group": ["(10.2, 15.5]", "(2.999, 10.2]", "(15.5, 81.3]", "(2.999, 10.2]"] * 2}
    ctx = figures.Context(results={"groups": {"fnr": fnr, "tests": {"age": {"p": 0.25}}}}, monitor={}, labels=selectors.demographic_labels())
    figure, _ = figures.annotators_chart(ctx)
    # Top to bottom (the category arrays run bottom-up).
    assert list(figure.layout.yaxis.categoryarray)[::-1] == ["under 20", "20-29", "30-39", "50 or older", "not answered"]
    assert list(figure.layout.yaxis3.categoryarray)[::-1] == [
        "I had never heard of deepfakes", "I have heard of deepfakes", "I have knowingly watched deepfakes", "I work with or study deepfakes"]
    assert list(figure.layout.yaxis5.categoryarray)[::-1] == ["3\u201310.2 s", "10.2\u201315.5 s", "15.5\u201381.3 s"]
    titles = [a.text for a in figure.layout.annotations]
    assert titles == ["<b>Age (Kruskal-Wallis p = 0.25)</b>", "<b>Prior knowledge</b>", "<b>Mean time per video</b>"]
    bars = [t for t in figure.data if t.type == "bar"]
    assert list(bars[0].x) == [2, 1, 2, 2, 1] and sum(bars[0].x) == 8
