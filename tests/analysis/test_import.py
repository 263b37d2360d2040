"""Importing videos from the browser (analysis.ingest_views over analysis.ingest, the API's own job): an
upload with its metadata CSV, a server folder inside INGEST_FOLDERS and the refusal of any other, the per-file
size cap, each job's progress and per-row errors on the page, and every video listed with its role and poster;
then the same in real headless Chromium, with screenshots."""
from __future__ import annotations

import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Campaign, Video
from jobs.models import Job

from ..conftest import ARTIFACTS
from ..roles import researcher

# Two regular videos, a checker, a demo, and a bad row (row 6: is_real "maybe").
METADATA = (
    "file,identity_pair,method,is_real,gold_score,demo_grade,demo_reason\n"
    "regular_00.mp4,id0,fs0,false,,,\n"
    "regular_01.mp4,id1,fs1,false,,,\n"
    "checker_00.mp4,id0,real,true,5,,\n"
    "demo_1.mp4,demo,demo,false,,1,Blurry mouth.\n"
    "regular_02.mp4,id2,fs2,maybe,,,\n"
)
SENT = ("regular_00.mp4", "regular_01.mp4", "checker_00.mp4", "demo_1.mp4", "regular_02.mp4")
IMPORTED = {"regular_00.mp4": "regular", "regular_01.mp4": "regular", "checker_00.mp4": "checker", "demo_1.mp4": "demo"}


@pytest.fixture(autouse=True)
def job_folders(settings, tmp_path):
    settings.JOBS_ARTIFACT_ROOT = tmp_path / "jobs"


@pytest.fixture
def owner_client(client, db):
    campaign = Campaign.objects.create(slug="imp", title="Import study")
    client.force_login(researcher("owner", campaign=campaign))
    client.campaign = campaign
    return client


def _files(folder, names=SENT):
    return [SimpleUploadedFile(name, (folder / name).read_bytes(), "video/mp4") for name in names]


@pytest.mark.django_db
def test_an_upload_from_the_page_is_ingested_and_its_bad_row_listed(owner_client, video_library, django_capture_on_commit_callbacks):
    folder, _ = video_library
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/staff/campaigns/imp/videos/import/upload/", {
            "metadata": SimpleUploadedFile("labels.csv", METADATA.encode(), "text/csv"), "files": _files(folder)})
    assert response.status_code == 302 and response["Location"] == "/staff/campaigns/imp/videos/import/"
    job = Job.objects.get(kind="ingest")
    assert job.status == "completed" and job.summary["created"] == 4 and job.summary["failed"] == 1
    assert {v.source_name: v.role for v in owner_client.campaign.videos.all()} == IMPORTED
    page = owner_client.get(response["Location"]).content.decode()
    assert 'data-row="6"' in page and "maybe" in page  # the bad row, by its CSV row number
    assert "4 / 4 videos: 4 added, 0 updated, 1 row(s) refused" in page
    assert page.count('class="poster-thumb"') == 4 and "Lecture demo" in page and "Checker" in page


@pytest.mark.django_db
def test_an_upload_without_csv_or_files_is_refused_with_a_message(owner_client, video_library):
    folder, _ = video_library
    response = owner_client.post("/staff/campaigns/imp/videos/import/upload/", {"files": _files(folder, SENT[:1])}, follow=True)
    assert "Choose the metadata CSV" in response.content.decode() and not Job.objects.exists()
    response = owner_client.post("/staff/campaigns/imp/videos/import/upload/",
                                 {"metadata": SimpleUploadedFile("m.csv", b"no_file_column\nx\n")}, follow=True)
    assert "Choose the metadata CSV" in response.content.decode() and not Job.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_cap_is_refused_by_name_and_nothing_is_kept(owner_client, video_library, settings):
    folder, _ = video_library
    settings.INGEST_UPLOAD_MAX_BYTES = (folder / "regular_01.mp4").stat().st_size - 1
    response = owner_client.post("/staff/campaigns/imp/videos/import/upload/", {
        "metadata": SimpleUploadedFile("labels.csv", METADATA.encode(), "text/csv"), "files": _files(folder)}, follow=True)
    page = response.content.decode()
    assert "regular_01.mp4 is" in page and f"at most {settings.INGEST_UPLOAD_MAX_BYTES:,} bytes per file" in page
    assert not Job.objects.exists() and not owner_client.campaign.videos.exists()
    assert not (settings.JOBS_ARTIFACT_ROOT / "ingest").exists()


@pytest.mark.django_db
def test_the_api_upload_has_the_same_cap(owner_client, video_library, settings):
    from rest_framework.test import APIClient

    folder, _ = video_library
    settings.INGEST_UPLOAD_MAX_BYTES = 10
    api = APIClient()
    api.force_authenticate(owner_client.campaign.memberships.get().user)
    response = api.post("/api/v1/campaigns/imp/videos/upload/", {
        "metadata": SimpleUploadedFile("labels.csv", b"file\nregular_00.mp4\n"), "files": _files(folder, SENT[:1])}, format="multipart")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


@pytest.fixture
def server_folder(video_library, tmp_path, settings):
    """A study folder under an allowed root (its metadata.csv beside the videos) and a folder outside it."""
    source, _ = video_library
    root, study, outside = tmp_path / "incoming", tmp_path / "incoming" / "study1", tmp_path / "elsewhere"
    for folder in (study, outside):
        folder.mkdir(parents=True)
        for name in SENT:
            shutil.copyfile(source / name, folder / name)
        (folder / "metadata.csv").write_text(METADATA)
    (root / "escape").symlink_to(outside)  # a link inside the root that leads out of it
    settings.INGEST_FOLDERS = [str(root)]
    return root, study, outside


@pytest.mark.django_db
def test_a_server_folder_inside_the_roots_is_imported_and_read_only(owner_client, server_folder, django_capture_on_commit_callbacks):
    root, study, _ = server_folder
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post("/staff/campaigns/imp/videos/import/folder/", {"folder": str(study)})
    job = Job.objects.get(kind="ingest")
    assert job.status == "completed" and job.parameters == {"folder": str(study.resolve())}
    assert job.summary["created"] == 4 and job.summary["failed"] == 1 and job.summary["unlisted"] == 0
    assert {v.source_name: v.role for v in owner_client.campaign.videos.all()} == IMPORTED
    assert sorted(p.name for p in study.iterdir()) == sorted([*SENT, "metadata.csv"])  # the server folder is only read


@pytest.mark.django_db
@pytest.mark.parametrize("where, code", [("outside", "outside the folders"), ("escape", "outside the folders"),
                                         ("dotdot", "outside the folders"), ("missing", "is not a folder")])
def test_a_folder_outside_the_roots_is_refused_with_a_clear_message(owner_client, server_folder, where, code):
    root, _, outside = server_folder
    folder = {"outside": str(outside), "escape": str(root / "escape"), "dotdot": f"{root}/study1/../../elsewhere",
              "missing": str(root / "nope")}[where]
    page = owner_client.post("/staff/campaigns/imp/videos/import/folder/", {"folder": folder}, follow=True).content.decode()
    assert code in page and not Job.objects.exists() and not Video.objects.exists()


@pytest.mark.django_db
def test_no_server_folder_is_allowed_by_default(owner_client, settings):
    settings.INGEST_FOLDERS = []
    page = owner_client.post("/staff/campaigns/imp/videos/import/folder/", {"folder": "/"}, follow=True).content.decode()
    assert "imports from no server folder" in page and not Job.objects.exists()


@pytest.mark.django_db
def test_the_import_page_is_for_owners(client, video_library):
    campaign = Campaign.objects.create(slug="imp", title="Import study")
    assert client.get("/staff/campaigns/imp/videos/import/").status_code == 302  # to the login page
    client.force_login(researcher("analyst", campaign=campaign, role="analyst"))
    assert client.get("/staff/campaigns/imp/videos/import/").status_code == 403
    assert client.post("/staff/campaigns/imp/videos/import/folder/", {"folder": "/"}).status_code == 403
    assert "nav-import" not in client.get("/staff/campaigns/imp/").content.decode()


@pytest.mark.django_db
def test_a_running_import_shows_its_count_and_refreshes_until_done(owner_client):
    from jobs import services as job_services

    job = job_services.job_create(kind="ingest", subject=f"campaign:{owner_client.campaign.pk}", enqueue=lambda job_id: None)
    page = owner_client.get("/staff/campaigns/imp/videos/import/").content.decode()
    assert 'http-equiv="refresh"' in page and "waiting for a worker" in page
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, stage="import", summary={"videos_total": 10, "videos_done": 4})
    page = owner_client.get("/staff/campaigns/imp/videos/import/").content.decode()
    assert 'http-equiv="refresh"' in page and "4 / 10 videos" in page and 'value="4"' in page
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="ffmpeg is not installed")
    page = owner_client.get("/staff/campaigns/imp/videos/import/").content.decode()
    assert 'http-equiv="refresh"' not in page and "The import failed: ffmpeg is not installed" in page


@pytest.mark.django_db
def test_the_status_page_and_the_admin_list_videos_with_role_and_poster(client, admin_client, make_campaign):
    campaign = make_campaign()
    client.force_login(researcher("owner", campaign=campaign, is_staff=True))
    status = client.get(f"/staff/campaigns/{campaign.slug}/").content.decode()
    regular = campaign.videos.filter(role=Video.Role.REGULAR)
    assert status.count('class="poster-thumb"') == regular.count() and f'src="/media/{regular.first().poster}"' in status
    assert 'id="import-link"' in status and 'id="nav-import"' in status
    admin = admin_client.get("/admin/annotation/video/").content.decode()
    assert admin.count('class="poster-thumb"') == campaign.videos.count()
    assert "Lecture demo" in admin and "Checker (hidden, gold score)" in admin
    assert admin_client.get("/admin/annotation/video/add/").status_code == 403  # no video without its file


# --- In Chromium ---------------------------------------------------------------------------------


def _signed_in(browser, live_server, username="owner"):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.errors = []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next=/staff/campaigns/imp/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/campaigns/imp/")
    return context, page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_import_in_chromium_upload_then_folder_and_its_refusal(browser, live_server, video_library, tmp_path, settings):
    source, _ = video_library
    campaign = Campaign.objects.create(slug="imp", title="Import study")
    researcher("owner", campaign=campaign, password="pw")
    root, outside = tmp_path / "incoming", tmp_path / "elsewhere"
    (root / "study1").mkdir(parents=True)
    outside.mkdir()
    for name in ("regular_03.mp4", "demo_2.mp4"):
        shutil.copyfile(source / name, root / "study1" / name)
    (root / "study1" / "metadata.csv").write_text("file,demo_grade,demo_reason\nregular_03.mp4,,\ndemo_2.mp4,2,Odd teeth.\n")
    settings.INGEST_FOLDERS = [str(root)]
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text(METADATA)
    context, page = _signed_in(browser, live_server)

    limit = settings.INGEST_UPLOAD_MAX_BYTES
    settings.INGEST_UPLOAD_MAX_BYTES = 1000  # the library's clips are larger: the page names them before sending anything
    page.click("#import-link")  # from the status page
    page.wait_for_url("**/videos/import/")
    assert page.locator("#nav-import").count() == 1
    page.set_input_files("#upload-metadata", str(csv_path))
    page.set_input_files("#upload-files", [str(source / name) for name in SENT])
    page.click("#upload-button")
    assert "Too large to import (at most 1000 bytes per file): regular_00.mp4" in page.inner_text("#upload-too-large")
    assert not Job.objects.exists()
    settings.INGEST_UPLOAD_MAX_BYTES = limit
    page.reload()
    page.set_input_files("#upload-metadata", str(csv_path))
    page.set_input_files("#upload-files", [str(source / name) for name in SENT])
    page.click("#upload-button")
    page.wait_for_selector("#ingest-v1[data-status=completed]")
    card = page.locator("#ingest-v1")
    assert "completed" in card.locator(".ingest-status").inner_text()
    assert card.locator("progress").evaluate("p => p.value === p.max && p.max === 4")
    error = card.locator(".ingest-errors tr[data-row='6']")
    assert "maybe" in error.inner_text()
    rows = page.locator("#videos tbody tr")
    assert rows.count() == 4
    assert sorted(page.locator("#videos tbody tr").evaluate_all("rows => rows.map(r => r.dataset.role)")) == sorted(IMPORTED.values())
    # Every poster is a real JPEG the browser decoded.
    page.locator("#videos").scroll_into_view_if_needed()
    for img in page.locator("#videos img.poster-thumb").all():
        img.scroll_into_view_if_needed()
    assert page.locator("#videos img.poster-thumb").evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(ARTIFACTS / "import_upload.png"), full_page=True)

    page.fill("#folder-path", str(outside))
    page.click("#folder-button")
    page.wait_for_url("**/videos/import/")
    assert "outside the folders this site imports from" in page.inner_text("main")
    assert page.locator("#ingest-v2").count() == 0
    page.screenshot(path=str(ARTIFACTS / "import_folder_refused.png"), full_page=True)

    page.fill("#folder-path", str(root / "study1"))
    page.click("#folder-button")
    page.wait_for_selector("#ingest-v2[data-status=completed]")
    assert "folder" in page.locator("#ingest-v2").inner_text() and page.locator("#ingest-v2 .ingest-errors").count() == 0
    assert page.locator("#videos tbody tr").count() == 6
    page.screenshot(path=str(ARTIFACTS / "import_folder.png"), full_page=True)
    context.close()
    assert page.errors == []
