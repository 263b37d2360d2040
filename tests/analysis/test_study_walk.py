"""A researcher's walk from an empty database to a finished small study and its approval list, in real
headless Chromium (issue 12's last check). Only the login is made before the browser starts (`ensure_admin`,
as an installation does); everything else is clicked: the campaign is created in the admin, its videos
imported from the import page, its texts and completion code filled, the launch checklist seen to turn
ready, the campaign opened, three Prolific annotators (separate browser contexts) complete a session of four
videos (the smallest that has a checker), the analysis is run from the dashboard and the Prolific approval
list downloaded and read. Screenshots under tests/artifacts/walk_*.png."""
from __future__ import annotations

import csv
import io
import re
import shutil
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotation.models import Attempt, Video

from ..annotation.test_browser import take_lecture, wait_until
from ..conftest import ARTIFACTS
from ..ids import prolific

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A study of 4-video sessions (3 regular + 1 checker): 4 regular videos, 2 checkers, a demo per grade.
FILES = ["regular_00.mp4", "regular_01.mp4", "regular_02.mp4", "regular_03.mp4", "checker_00.mp4", "checker_01.mp4",
         *(f"demo_{grade}.mp4" for grade in range(1, 6))]
ANNOTATORS = tuple(prolific(f"walk{i}") for i in (1, 2, 3))  # Prolific PIDs, in Prolific's format
STUDY_ID = prolific("walk-study")


def _session_id(pid: str) -> str:
    return prolific(f"session-{pid}")


def _shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"walk_{name}.png"), full_page=True)


def _metadata(library_csv, folder):
    """The library's rows for FILES, as the researcher's CSV."""
    with open(library_csv, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["file"] in FILES]
    path = folder / "walk.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _annotate(browser, base, pid):
    """One Prolific participant's session, start to completion code, in a browser context of their own."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{base}/c/walk/?PROLIFIC_PID={pid}&STUDY_ID={STUDY_ID}&SESSION_ID={_session_id(pid)}")
    page.check("input[name=agree]")
    page.click("#consent-submit")
    for name, value in (("age_group", "30-39"), ("gender", "female"), ("education", "bachelor"), ("prior_knowledge", "heard")):
        page.check(f"input[name={name}][value='{value}']")
    page.click("#demographics-form button[type=submit]")
    take_lecture(page)
    # The checker's grade is the one a careful person gives; the page never says which video it is, the test's database does.
    attempt = Attempt.objects.get(session__annotator__external_id=pid, number=1)
    videos = Video.objects.in_bulk(attempt.video_order)
    for position, video_id in enumerate(attempt.video_order, start=1):
        wait_until(page, f"document.getElementById('progress-text').textContent.trim() === '{position} / 4'")
        score = videos[video_id].gold_score or 3
        # A campaign made in the admin requires each video played to the end once (ticked by default
        # there): play it through and let the page's end report reach the server before saving.
        with page.expect_response(lambda r: r.url.endswith("/api/plays/") and '"end"' in (r.request.post_data or "")):
            page.eval_on_selector("#player", "v => { v.muted = true; v.currentTime = 0; v.play(); }")
        page.click(f"label[for=grade-{score}]")
        page.fill("#reason", "a young person talking" if score == 5 else f"the mouth is blurry, grade {score}")
        page.click("#submit-button")
    page.wait_for_url("**/review/")
    page.click("#finish-button")
    page.wait_for_url("**/thank-you/")
    code = page.inner_text("#completion-code")
    if pid == ANNOTATORS[0]:
        _shot(page, "annotator_done")
    context.close()
    return code


def test_a_researcher_runs_a_small_study_from_an_empty_database_in_the_browser(browser, live_server, video_library, tmp_path,
                                                                            settings):
    started = time.monotonic()
    settings.JOBS_ARTIFACT_ROOT = tmp_path / "jobs"
    out = io.StringIO()
    call_command("ensure_admin", "--username", "researcher", stdout=out)
    password = re.search(r"password '([^']+)'", out.getvalue()).group(1)
    assert get_user_model().objects.count() == 1 and not Video.objects.exists()
    source, library_csv = video_library
    upload = tmp_path / "upload"
    upload.mkdir()
    for name in FILES:
        shutil.copyfile(source / name, upload / name)
    metadata = _metadata(library_csv, tmp_path)
    base = live_server.url

    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Log in; no campaign yet.
    page.goto(f"{base}/staff/")
    page.fill("input[name=username]", "researcher")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")

    # Create the campaign in the admin: closed, 4-video sessions with one checker, 3 ratings per video wanted.
    page.goto(f"{base}/admin/annotation/campaign/add/")
    page.fill("#id_title", "Walk study")
    page.uncheck("#id_is_open")  # leaves the title: the admin's script has prepopulated the slug by now
    page.fill("#id_slug", "walk")
    assert page.input_value("#id_slug") == "walk"
    page.fill("#id_videos_per_session", "4")
    page.fill("#id_checkers_per_session", "1")
    page.fill("#id_target_ratings_per_video", "3")
    page.fill("#id_min_reason_length", "5")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    _shot(page, "campaign_created")

    # Its status page: not ready; from there to the import page.
    page.goto(f"{base}/staff/campaigns/walk/")
    assert page.get_attribute("#checklist [data-item=regular_videos]", "data-ok") == "false"
    page.click("#import-link")
    page.wait_for_url("**/videos/import/")
    page.set_input_files("#upload-metadata", str(metadata))
    page.set_input_files("#upload-files", [str(upload / name) for name in FILES])
    page.click("#upload-button")
    page.wait_for_selector("#ingest-v1[data-status=completed]")
    assert page.locator("#ingest-v1 .ingest-errors").count() == 0
    roles = page.locator("#videos tbody tr").evaluate_all("rows => rows.map(r => r.dataset.role)")
    assert sorted(roles) == ["checker"] * 2 + ["demo"] * 5 + ["regular"] * 4
    _shot(page, "imported")

    # Texts and completion code in the admin (the consent text is a new inline row), then the checklist.
    page.goto(f"{base}/admin/annotation/campaign/")
    page.click("text=Walk study")
    page.fill("#id_lecture_text", "Watch each example and read why it got its grade.")
    page.fill("#id_completion_code", "WALK-DONE-7")
    page.click(".inline-group#consent_texts-group .add-row a")
    page.fill("#id_consent_texts-0-version", "1")
    page.fill("#id_consent_texts-0-text", "We keep your ratings for research. Do you agree?")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.goto(f"{base}/staff/campaigns/walk/")
    assert page.locator("#checklist [data-ok=false]").count() == 0
    assert "once the campaign is opened" in page.inner_text("#readiness")
    _shot(page, "ready")

    # Open it in the admin, then the annotators come.
    page.goto(f"{base}/admin/annotation/campaign/")
    page.click("text=Walk study")
    page.check("#id_is_open")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.goto(f"{base}/staff/campaigns/walk/")
    assert page.inner_text("#readiness").startswith("Ready: the study link takes annotators.")
    codes = [_annotate(browser, base, pid) for pid in ANNOTATORS]
    assert codes == ["WALK-DONE-7"] * 3

    # The status page counts them; the analysis runs from the dashboard.
    page.goto(f"{base}/staff/campaigns/walk/")
    assert "3 qualified" in page.inner_text(".cards")
    page.click(".staff-nav >> text=Analysis")
    page.wait_for_url("**/analysis/")
    page.click("#run-button")
    page.wait_for_url("**/analysis/")
    page.wait_for_selector("#chart-sos .main-svg")
    _shot(page, "dashboard")

    # The approval list for Prolific: every participant approved, with their study and session ids.
    with page.expect_download() as download:
        page.click(".staff-nav >> text=Approvals (Prolific)")
    body = open(download.value.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted((r["participant_id"], r["study_id"], r["session_id"], r["decision"]) for r in rows) == sorted(
        (pid, STUDY_ID, _session_id(pid), "APPROVE") for pid in ANNOTATORS)
    context.close()
    assert errors == []
    print(f"walk: {time.monotonic() - started:.1f} s")
