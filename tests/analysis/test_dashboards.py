"""Dashboards, chart CSVs, exclusions and exports: for the campaign's members as their role allows; rendered in
real Chromium without errors."""
from __future__ import annotations

import csv
import io

import pytest

from analysis.models import AnalysisRun, AnnotatorExclusion
from analysis.figures import CHARTS
from annotation.models import Annotator, Rating

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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboards_render_in_chromium_without_console_errors(browser, live_server, django_capture_on_commit_callbacks):
    from analysis import services

    campaign = rated_campaign(n_annotators=40, n_videos=30)
    services.analysis_run_start(campaign=campaign)  # transactional test: committed at once, runs in-process
    researcher("staff", campaign=campaign, role="viewer", password="pw")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next=/staff/campaigns/rated/analysis/")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/analysis/")
    page.wait_for_selector("#chart-sos .main-svg")
    assert page.locator(".chart .main-svg").count() >= 6
    # The vendored bundle has every trace type the charts use: the SOS scatter draws its points.
    assert page.locator("#chart-sos .scatterlayer .point").count() >= 2 * 30
    page.screenshot(path=str(ARTIFACTS / "analysis_dashboard.png"), full_page=True)
    with page.expect_download() as download:
        page.click("button[data-chart=chart-consistency]")
    assert download.value.suggested_filename.endswith(".png")
    page.goto(f"{live_server.url}/staff/campaigns/rated/monitor/")
    page.wait_for_selector("#chart-progress .main-svg")
    page.wait_for_selector("#chart-subjects .scatterlayer .point")
    page.screenshot(path=str(ARTIFACTS / "analysis_monitor.png"), full_page=True)
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
