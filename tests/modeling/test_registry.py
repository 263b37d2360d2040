"""The model registry on PostgreSQL: training and benchmark jobs started from the API and the dashboard, on their own
queue, with live progress; the models' API (list, one, predict an uploaded video) and who may use it."""
from __future__ import annotations

import os
import shutil

import pytest
from celery import Celery
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Campaign, CampaignMembership
from jobs import registry
from jobs.artifacts import ArtifactStore
from jobs.models import Job
from jobs.selectors import campaign_subject, job_stage_seconds
from jobs.services import StageContext
from jobs.tasks import enqueue_job
from modeling import protocol, services
from modeling.data.export import ExportData
from modeling.job_stages import TRAIN, Progress
from modeling.models import TrainedModel
from tests.roles import researcher

from .tiny import NAME, pattern_clip, tiny_configs, tiny_export, tiny_method  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tiny_configs")]


class Lab:
    def __init__(self, tmp_path):
        self.campaign = Campaign.objects.create(slug="lab", title="Lab")
        other = Campaign.objects.create(slug="elsewhere", title="Elsewhere")
        self.users = {
            "viewer": researcher("viewer", campaign=self.campaign, role=CampaignMembership.Role.VIEWER),
            "analyst": researcher("analyst", campaign=self.campaign, role=CampaignMembership.Role.ANALYST),
            "outsider": researcher("outsider", campaign=other, role=CampaignMembership.Role.OWNER),
        }
        self.export_job = Job.objects.create(kind="export", subject=campaign_subject(self.campaign.pk), version=1, status=Job.Status.COMPLETED)
        self.export = ExportData.read(tiny_export(ArtifactStore.for_job(self.export_job).folder))

    def api(self, role: str) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=self.users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client


@pytest.fixture
def lab(settings, tmp_path) -> Lab:
    settings.JOBS_ARTIFACT_ROOT, settings.MODELS_ROOT = tmp_path / "jobs", tmp_path / "models"
    return Lab(tmp_path)


def _train(lab, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):  # queued (here: run in-process) once the job commits
        return lab.api("analyst").post("/api/v1/models/train", {"campaign": "lab", "config": NAME, **body}, format="json")


def test_an_analyst_trains_through_the_api_and_the_model_is_registered(lab, django_capture_on_commit_callbacks, tmp_path):
    started = _train(lab, django_capture_on_commit_callbacks, split=1, device="cpu", seed=4)
    assert started.status_code == 202, started.content
    job = Job.objects.get(pk=started.json()["id"])
    assert (job.kind, job.status, job.subject, registry.kind_named(TRAIN).queue) == (TRAIN, Job.Status.COMPLETED, campaign_subject(lab.campaign.pk), "training")
    assert list(job_stage_seconds(job)) == ["frames", "train", "register"]
    model = TrainedModel.objects.get(job=job)
    assert job.summary["model_id"] == model.pk and model.created_by == lab.users["analyst"] and model.campaign == lab.campaign
    # The same split trained here, outside the job runner, gives the same metrics.
    again = protocol.split_run(lab.export, NAME, 1, device="cpu", seed=4, work=tmp_path / "w", explain=False)
    assert model.metrics == pytest.approx(again.row["metrics"]) and (model.split, model.seed, model.export_job) == (1, 4, lab.export_job)

    listed = lab.api("viewer").get("/api/v1/models/", {"campaign": "lab"}).json()["results"]
    assert [(m["id"], m["config"], m["campaign"], m["export_version"]) for m in listed] == [(model.pk, NAME, "lab", 1)]
    one = lab.api("viewer").get(f"/api/v1/models/{model.pk}/").json()
    assert one["metrics"]["avr"] == pytest.approx(model.metrics["avr"]) and one["export_sha256"] == lab.export.manifest_sha256
    assert lab.api("outsider").get("/api/v1/models/").json()["results"] == []
    assert lab.api("outsider").get(f"/api/v1/models/{model.pk}/").status_code == 404


@pytest.mark.parametrize("body, status, code", [
    ({"config": "no_such"}, 400, "unknown_method"),
    ({"config": "tiny_off"}, 409, "method_unavailable"),
    ({"config": "../../etc/x.json"}, 400, "invalid"),
    ({"split": 5}, 400, "bad_split"),
    ({"export_version": 9}, 404, "not_found"),
    ({"device": "tpu"}, 400, "invalid"),
    ({"campaign": "elsewhere"}, 404, "not_found"),
])
def test_a_training_that_cannot_run_is_refused_before_it_is_queued(lab, django_capture_on_commit_callbacks, body, status, code):
    answer = _train(lab, django_capture_on_commit_callbacks, **body)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.content
    assert not Job.objects.filter(kind=TRAIN).exists()


def test_viewers_may_look_but_not_train(lab):
    answer = lab.api("viewer").post("/api/v1/models/train", {"campaign": "lab", "config": NAME}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden" and not Job.objects.filter(kind=TRAIN).exists()


def test_a_taken_name_is_refused(lab, django_capture_on_commit_callbacks):
    assert _train(lab, django_capture_on_commit_callbacks, name="mine", device="cpu").status_code == 202
    refused = _train(lab, django_capture_on_commit_callbacks, name="mine")
    assert (refused.status_code, refused.json()["code"]) == (409, "name_taken")


def test_a_benchmark_job_reports_table_ii(lab, django_capture_on_commit_callbacks, client):
    with django_capture_on_commit_callbacks(execute=True):
        started = lab.api("analyst").post("/api/v1/models/benchmark", {"campaign": "lab", "configs": [NAME, "tiny_off"], "splits": [0, 1],
                                                                       "device": "cpu"}, format="json")
    assert started.status_code == 202, started.content
    job = Job.objects.get(pk=started.json()["id"])
    assert job.status == Job.Status.COMPLETED, job.error
    assert job.summary["unavailable"] == {"tiny_off": "no checkpoint given"} and job.summary["computed"] == 2
    [row] = job.summary["table2"]
    rows = ArtifactStore.for_job(job).json_read("rows")
    assert row["config"] == NAME and row["splits"] == 2 and row["avr"] == pytest.approx((rows[0]["metrics"]["avr"] + rows[1]["metrics"]["avr"]) / 2)
    detail = lab.api("viewer").get(f"/api/v1/jobs/{job.pk}/").json()
    assert {"table2.json", "rows.json"} <= set(detail["artifacts"])
    table = lab.api("analyst").get(f"/api/v1/jobs/{job.pk}/artifacts/table2.json")
    assert table.status_code == 200 and b"avr_mean" in b"".join(table.streaming_content)
    assert (ArtifactStore.for_job(job).folder / "table2.html").is_file()
    client.force_login(lab.users["analyst"])
    page = client.get("/staff/campaigns/lab/models/")
    assert b"benchmark v1" in page.content and b"tiny_off" in page.content
    markdown = client.get(f"/staff/campaigns/lab/models/benchmarks/{job.pk}/table2.md")
    assert markdown.status_code == 200 and f"| {NAME} |".encode() in b"".join(markdown.streaming_content)
    assert client.get(f"/staff/campaigns/lab/models/benchmarks/{job.pk}/table2.html").status_code == 404  # not a report file
    assert client.get(f"/staff/campaigns/lab/models/benchmarks/{job.pk}/..%2Fmanifest.json").status_code == 404


def test_progress_reaches_the_jobs_summary_at_most_once_a_second(lab):
    job = Job.objects.create(kind=TRAIN, subject=campaign_subject(lab.campaign.pk), version=1)
    ctx = StageContext(job=job, params=None, artifacts=ArtifactStore.for_job(job))
    progress = Progress(ctx)
    progress("fit", 1, 100)
    progress("fit", 2, 100)  # within the second: not written
    job.refresh_from_db()
    assert job.summary == {"progress": {"stage": "fit", "done": 1, "total": 100}}
    progress("fit", 100, 100)  # the end is always written
    job.refresh_from_db()
    assert job.summary["progress"]["done"] == 100


def test_training_jobs_go_to_the_training_queue():
    """The web host's worker consumes the default queue only: a training's stages must not land there."""
    broker = os.environ.get("CELERY_TEST_BROKER_URL")
    if not broker:
        pytest.skip("needs CELERY_TEST_BROKER_URL (Redis), as `make test` sets")
    client = Celery("modeling-test-client", broker=broker, set_as_current=False)
    with client.connection_for_write() as conn:
        redis = conn.default_channel.client
        redis.delete("training")
        before = redis.llen("celery")
        job = Job.objects.create(kind=TRAIN, subject="campaign:1", version=1, parameters={"export_job": 1, "config": NAME})
        enqueue_job(job.pk, app=client)
        assert redis.llen("training") == 1 and redis.llen("celery") == before
        redis.delete("training")


def test_crops_missing_from_an_export_are_made_by_the_job(lab, django_capture_on_commit_callbacks, pattern_clip):
    folder = lab.export.folder
    shutil.rmtree(folder / "frames")
    (folder / "videos").mkdir()
    for video in lab.export.videos.index:
        shutil.copyfile(pattern_clip, folder / "videos" / f"{video}.mp4")
    assert _train(lab, django_capture_on_commit_callbacks, device="cpu").status_code == 202
    job = Job.objects.get(kind=TRAIN)
    assert job.status == Job.Status.COMPLETED, job.error
    assert all(len(lab.export.frame_paths(v)) == 3 for v in lab.export.videos.index)


def test_an_export_without_crops_or_videos_is_refused(lab, django_capture_on_commit_callbacks):
    shutil.rmtree(lab.export.folder / "frames")
    refused = _train(lab, django_capture_on_commit_callbacks)
    assert (refused.status_code, refused.json()["code"]) == (409, "no_frames")


# --- predicting an uploaded video -----------------------------------------------------------------


@pytest.fixture
def model(lab, tmp_path) -> TrainedModel:
    from modeling.serving import model_save

    run = protocol.split_run(lab.export, NAME, 0, device="cpu", work=tmp_path / "w", explain=False)
    folder = tmp_path / "models" / "m0"
    model_save(folder, run, lab.export, name="m0")
    return services.model_register(folder=folder, export=lab.export, export_job=lab.export_job)


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "video/mp4")


def test_an_uploaded_video_is_scored_and_explained(lab, model, pattern_clip):
    from modeling.selectors import model_loaded
    from modeling.serving import videos_predict

    answer = lab.api("analyst").post(f"/api/v1/models/{model.pk}/predict", {"video": _upload("clip.mp4", pattern_clip.read_bytes())},
                                     format="multipart")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    direct = videos_predict(model_loaded(model), [pattern_clip], device="cpu")[0]
    assert body["video"] == "clip.mp4" and body["model"] == "m0" and body["score"] == pytest.approx(direct["score"])
    assert body["frames"] == 3 and len(body["explanation"]["neighbours"]) == len(lab.export.split(0).train) == 4 and len(body["explanation"]["categories"]) == 37


@pytest.mark.parametrize("upload, status, code", [
    (("notes.mp4", b"plain text, not a video"), 400, "not_video"),
    (("empty.mp4", b""), 400, "invalid"),  # DRF: "The submitted file is empty."
    (None, 400, "invalid"),
])
def test_a_bad_upload_gets_a_clear_error(lab, model, upload, status, code):
    body = {"video": _upload(*upload)} if upload else {}
    answer = lab.api("analyst").post(f"/api/v1/models/{model.pk}/predict", body, format="multipart")
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.content
    assert "/tmp" not in answer.json()["error"]  # the server's temporary path is not shown


def test_uploads_over_the_cap_and_models_without_files_are_refused(lab, model, settings, pattern_clip):
    settings.PREDICT_UPLOAD_MAX_BYTES = 1000
    big = lab.api("analyst").post(f"/api/v1/models/{model.pk}/predict", {"video": _upload("clip.mp4", pattern_clip.read_bytes())}, format="multipart")
    assert (big.status_code, big.json()["code"]) == (413, "too_large") and "1,000" in big.json()["error"]
    settings.PREDICT_UPLOAD_MAX_BYTES = 10**8
    shutil.rmtree(model.weights_folder)
    gone = lab.api("analyst").post(f"/api/v1/models/{model.pk}/predict", {"video": _upload("clip.mp4", pattern_clip.read_bytes())}, format="multipart")
    assert (gone.status_code, gone.json()["code"]) == (409, "model_missing")


def test_only_analysts_and_owners_of_the_models_campaign_may_predict(lab, model):
    for role, status in (("viewer", 403), ("outsider", 404)):
        answer = lab.api(role).post(f"/api/v1/models/{model.pk}/predict", {"video": _upload("x.mp4", b"x")}, format="multipart")
        assert answer.status_code == status
    assert APIClient().post(f"/api/v1/models/{model.pk}/predict", {}, format="multipart").status_code == 401


# --- the dashboard -------------------------------------------------------------------------------


def test_the_dashboard_lists_models_starts_jobs_and_tries_a_video(lab, model, client, django_capture_on_commit_callbacks, pattern_clip):
    client.force_login(lab.users["analyst"])
    page = client.get("/staff/campaigns/lab/models/")
    assert page.status_code == 200 and b"m0" in page.content and b'id="train-form"' in page.content and NAME.encode() in page.content
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/staff/campaigns/lab/models/train/", {"config": NAME, "export_version": "1", "split": "1", "device": "cpu"})
    assert started.status_code == 302 and Job.objects.get(kind=TRAIN).status == Job.Status.COMPLETED
    listed = client.get("/staff/campaigns/lab/models/")
    assert b"train v1" in listed.content and TrainedModel.objects.count() == 2
    refused = client.post("/staff/campaigns/lab/models/train/", {"config": "tiny_off", "split": "0"}, follow=True)
    assert b"no checkpoint given" in refused.content
    tried = client.post(f"/staff/campaigns/lab/models/{model.pk}/", {"video": _upload("clip.mp4", pattern_clip.read_bytes())})
    assert tried.status_code == 200 and b'id="score"' in tried.content and b"Categories named most" in tried.content
    bad = client.post(f"/staff/campaigns/lab/models/{model.pk}/", {"video": _upload("clip.mp4", b"nope")})
    assert bad.status_code == 200 and b'id="predict-error"' in bad.content


def test_viewers_see_the_models_but_no_forms(lab, model, client):
    client.force_login(lab.users["viewer"])
    page = client.get("/staff/campaigns/lab/models/")
    assert page.status_code == 200 and b"m0" in page.content and b'id="train-form"' not in page.content
    assert client.post("/staff/campaigns/lab/models/train/", {"config": NAME}).status_code == 403
    assert client.get(f"/staff/campaigns/lab/models/{model.pk}/").status_code == 403
    client.force_login(lab.users["outsider"])
    assert client.get("/staff/campaigns/lab/models/").status_code == 404
