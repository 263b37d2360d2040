"""manage.py train, benchmark and predict on the tiny export: saved models reload to the same scores, a new video is
cropped as the export's were, a benchmark resumes, and unusable videos are named."""
from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from safetensors.numpy import load_file

from modeling import metrics
from modeling.data.export import TEST_SETS, ExportData
from modeling.serving import MODEL_FILE, model_load

from .tiny import CROP, NAME, pattern_clip, tiny_config, tiny_export, tiny_method  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("tiny_method")


@pytest.fixture
def trained(tmp_path, settings):
    """A tiny model trained on split 0 with `manage.py train`, its folder and the export."""
    settings.MODELS_ROOT, settings.VAR_DIR = tmp_path / "models", tmp_path / "var"
    export = tiny_export(tmp_path / "export")
    out = io.StringIO()
    call_command("train", tiny_config(tmp_path), "--export", str(export), "--split", "0", "--device", "cpu", "--name", "m1",
                 stdout=out, verbosity=0)
    return tmp_path / "models" / "m1", ExportData.read(export), out.getvalue()


def test_a_saved_model_reloads_to_the_same_scores(trained):
    folder, export, printed = trained
    record = json.loads((folder / MODEL_FILE).read_text())
    assert f"avr {record['row']['metrics']['avr']:.3f}" in printed and f"Model saved in {folder}" in printed
    loaded = model_load(folder)
    split = export.split(0)
    scored = {name: (loaded.method.predict(export.frame_paths, list(split.sets[name])), export.mos(split.sets[name])) for name in TEST_SETS}
    assert metrics.split_metrics(scored) == pytest.approx(record["row"]["metrics"])
    assert record["frames"]["size"] == CROP and record["row"]["export_sha256"] == export.manifest_sha256


def _expected_score(video, folder) -> float:
    """The tiny model's score computed here: frames 0, 6, 12 decoded by OpenCV, centre squares resized to CROP, gray brightness and contrast."""
    capture = cv2.VideoCapture(str(video))
    crops, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % 6 == 0:
            height, width = frame.shape[:2]
            side = min(height, width)
            square = frame[(height - side) // 2:(height - side) // 2 + side, (width - side) // 2:(width - side) // 2 + side]
            crops.append(cv2.cvtColor(cv2.resize(square, (CROP, CROP), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY) / 255)
        index += 1
    pixels = np.stack(crops)
    coef = load_file(str(folder / "method" / "weights.safetensors"))["coef"]
    return float(coef @ [1, pixels.mean(), pixels.std()]), len(crops)


def test_predict_crops_a_new_video_as_the_export_was_and_explains(trained, pattern_clip, tmp_path):
    folder, export, _ = trained
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is not a video")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 video"):
        call_command("predict", str(folder), str(pattern_clip), str(not_video), "--device", "cpu", "--k", "3", stdout=out, verbosity=0)
    scored, refused = json.loads(out.getvalue())
    expected, crops = _expected_score(pattern_clip, folder)
    assert scored["video"] == str(pattern_clip) and scored["frames"] == crops == 3 and scored["faces_detected"] == 0
    assert scored["score"] == pytest.approx(expected, abs=0.02)
    neighbours = scored["explanation"]["neighbours"]
    assert len(neighbours) == 3 and {n["video"] for n in neighbours} <= set(export.split(0).train)
    assert all(n["reasons"] for n in neighbours) and len(scored["explanation"]["categories"]) == 37
    assert refused["code"] == "not_video" and str(not_video) in refused["error"] and "score" not in refused


def test_the_benchmark_command_prints_table_ii_and_resumes(tmp_path, settings):
    export, config, out_dir = tiny_export(tmp_path / "export"), tiny_config(tmp_path), tmp_path / "bench"
    first, again = io.StringIO(), io.StringIO()
    call_command("benchmark", "--export", str(export), "--methods", config, "--splits", "0-1", "--out", str(out_dir),
                 "--device", "cpu", stdout=first, verbosity=0)
    assert f"| {NAME} |" in first.getvalue() and "2 run(s) computed, 0 reused" in first.getvalue() and "top-13" in first.getvalue()
    call_command("benchmark", "--export", str(export), "--methods", config, "--splits", "0-1", "--out", str(out_dir),
                 "--device", "cpu", stdout=again, verbosity=0)
    assert "0 run(s) computed, 2 reused" in again.getvalue()
    with pytest.raises(CommandError, match="no split 5"):
        call_command("benchmark", "--export", str(export), "--methods", config, "--splits", "5", "--out", str(out_dir), verbosity=0)


def test_the_commands_explain_themselves(capsys):
    for command, words in (("train", "--register"), ("benchmark", "mean ± std"), ("predict", "category vector")):
        with pytest.raises(SystemExit):
            call_command(command, "--help")
        assert words in " ".join(capsys.readouterr().out.split())


@pytest.mark.django_db
def test_train_register_adds_the_model_to_the_registry(tmp_path, settings, pattern_clip):
    from modeling.models import TrainedModel

    settings.MODELS_ROOT, settings.VAR_DIR = tmp_path / "models", tmp_path / "var"
    export = tiny_export(tmp_path / "export")
    out = io.StringIO()
    call_command("train", tiny_config(tmp_path), "--export", str(export), "--split", "1", "--device", "cpu", "--register",
                 "--set", "alpha=0.01", stdout=out, verbosity=0)
    model = TrainedModel.objects.get()
    record = json.loads((tmp_path / "models" / model.name / MODEL_FILE).read_text())
    assert f"Registered as model {model.pk}" in out.getvalue()
    assert (model.config, model.method, model.split, model.campaign) == (NAME, NAME, 1, None)
    assert model.metrics == record["row"]["metrics"] and model.config_values["alpha"] == 0.01
    assert model.export_sha256 == ExportData.read(export).manifest_sha256 and model.torch_version
    by_id = io.StringIO()
    call_command("predict", str(model.pk), str(pattern_clip), "--device", "cpu", stdout=by_id, verbosity=0)
    assert json.loads(by_id.getvalue())[0]["model"] == model.name
