"""The split protocol on a tiny export with a tiny real method: no leak, the paper's metrics, a resumable benchmark, the reports."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from annotation.errors import ApplicationError
from modeling import protocol
from modeling.data.export import ExportData
from modeling.methods.base import MethodUnavailable

from .tiny import NAME, tiny_config, tiny_export, tiny_method  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("tiny_method")


@pytest.fixture
def export(tmp_path) -> ExportData:
    return ExportData.read(tiny_export(tmp_path / "export"))


def test_training_reads_only_the_training_videos(export, tmp_path):
    """Every crop read while training belongs to a training video; the test sets' crops are read only to predict them."""
    touched: dict[str, set[str]] = {"fit": set(), "predict": set()}
    phase = ["fit"]

    def frames(video):
        touched[phase[0]].add(video)
        return export.frame_paths(video)

    def progress(stage, done, total):
        if stage == "predict":
            phase[0] = "predict"

    run = protocol.split_run(export, tiny_config(tmp_path), 0, work=tmp_path / "work", device="cpu", frames=frames,
                             progress=progress, explain=False)
    split = export.split(0)
    tests = set(split.sets["test1"]) | set(split.sets["test2"]) | set(split.sets["test3"])
    assert touched["fit"] == set(split.train) == run.method.touched and not touched["fit"] & tests
    assert touched["predict"] == tests
    assert set(run.method.train_reasons) == set(split.train)
    assert run.method.train_reasons[split.train[0]]  # the reasons arrived (read from ratings.csv)


def test_a_method_that_reads_a_test_video_while_training_is_stopped(export, tmp_path):
    test_video = export.split(0).sets["test3"][0]
    with pytest.raises(ApplicationError) as refused:
        protocol.split_run(export, tiny_config(tmp_path, peek=test_video), 0, work=tmp_path / "work", device="cpu")
    assert refused.value.code == "split_leak" and test_video in refused.value.message


def test_the_row_holds_the_papers_metrics_and_what_made_them(export, tmp_path):
    run = protocol.split_run(export, tiny_config(tmp_path), 1, work=tmp_path / "work", device="cpu", seed=7)
    row = run.row
    for name in ("test1", "test2", "test3"):
        ids = list(run.predictions[name])
        pred = np.array([run.predictions[name][v] for v in ids])
        truth = export.videos.loc[ids, "mos"].to_numpy()
        assert row["metrics"][f"plcc_{name}"] == pytest.approx(stats.pearsonr(pred, truth)[0])
        assert row["metrics"][f"srcc_{name}"] == pytest.approx(stats.spearmanr(pred, truth)[0])
    plcc_avr = np.mean([row["metrics"][f"plcc_test{i}"] for i in (1, 2, 3)])
    srcc_avr = np.mean([row["metrics"][f"srcc_test{i}"] for i in (1, 2, 3)])
    assert row["metrics"]["avr"] == pytest.approx((plcc_avr + srcc_avr) / 2)
    assert row["metrics"]["plcc_avr"] > 0.5  # brightness follows the MOS: the ridge learned it
    assert row["export_sha256"] == hashlib.sha256((export.folder / "manifest.json").read_bytes()).hexdigest()
    assert (row["config"], row["method"], row["split"], row["seed"], row["device"]) == (NAME, NAME, 1, 7, "cpu")
    assert row["torch"] and row["weights_used"] == [] and row["videos"] == {"train": 4, "test1": 4, "test2": 4, "test3": 4}
    assert row["info"]["videos"] == 4 and row["seconds"]["fit"] >= 0
    json.dumps(row, allow_nan=False)


def test_the_explanation_error_is_table_v(export, tmp_path):
    """top-1: the category vector of the training video nearest in brightness and contrast, computed here independently."""
    run = protocol.split_run(export, tiny_config(tmp_path), 0, work=tmp_path / "work", device="cpu")
    split = export.split(0)
    columns = list(export.category_columns)

    def features(video):
        import cv2

        pixels = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) / 255 for p in export.frame_paths(video)])
        return np.array([pixels.mean(), pixels.std()])

    train = list(split.train)
    train_features = np.array([features(v) for v in train])
    tests = [v for name in ("test1", "test2", "test3") for v in split.sets[name]]
    nearest = [train[int(np.argmin(np.linalg.norm(train_features - features(v), axis=1)))] for v in tests]
    # The mean over test videos of each one's RMSE over its 37 shares (modeling.explain.explanation_rmse).
    errors = export.videos.loc[nearest, columns].to_numpy() - export.videos.loc[tests, columns].to_numpy()
    expected = np.mean(np.sqrt(np.mean(errors ** 2, axis=1)))
    explanation = run.row["explanation"]
    assert explanation["1"] == pytest.approx(expected)
    assert set(explanation) == {"random-1", *map(str, range(1, 14))} and 0 < explanation["random-1"] < 1


def test_an_unavailable_method_says_so_instead_of_numbers(export, tmp_path):
    with pytest.raises(MethodUnavailable, match="no checkpoint"):
        protocol.split_run(export, tiny_config(tmp_path, unavailable_because="no checkpoint given"), 0, work=tmp_path / "w", device="cpu")


def test_the_benchmark_resumes_and_reports(export, tmp_path):
    config, out = tiny_config(tmp_path), tmp_path / "bench"
    off = tiny_config(tmp_path, name="tiny_off", unavailable_because="no checkpoint given")
    heard = []
    first = protocol.benchmark(export, [config, off], [0, 1], out=out, device="cpu", progress=lambda s, d, t: heard.append((s, d, t)))
    assert first.computed == 2 and first.unavailable == {"tiny_off": "no checkpoint given"}
    assert ("benchmark", 4, 4) in heard
    stored = {k: json.loads((out / "rows" / NAME / f"split-{k}.json").read_text()) for k in (0, 1)}
    again = protocol.benchmark(export, [config], [0, 1], out=out, device="cpu")
    assert again.computed == 0 and again.rows == [stored[0], stored[1]]
    table = pd.read_csv(out / "table2.csv")
    avr = [stored[k]["metrics"]["avr"] for k in (0, 1)]
    assert table.loc[0, "avr_mean"] == pytest.approx(np.mean(avr)) and table.loc[0, "splits"] == 2
    # Another seed is another run: computed again.
    assert protocol.benchmark(export, [config], [1], out=out, device="cpu", seed=3).computed == 1
    markdown = (out / "table2.md").read_text()
    assert "| Method |" in markdown and NAME in markdown
    html = (out / "table2.html").read_text()
    assert '<script src="plotly.min.js">' in html and "cdn" not in html.lower() and (out / "plotly.min.js").stat().st_size > 1_000_000
    summary = json.loads((out / "benchmark.json").read_text())
    assert summary["export_sha256"] == export.manifest_sha256 and summary["seed"] == 3 and summary["torch"]
    assert (out / "table5.md").is_file() and "top-13" in (out / "table5.md").read_text()
    assert not list((out / "work").iterdir())  # each run's scratch folder went once its row was stored


def test_the_benchmark_table_has_mean_and_std_over_splits(export, tmp_path):
    from modeling import reports

    result = protocol.benchmark(export, [tiny_config(tmp_path)], [0, 1], out=tmp_path / "b", device="cpu", explain=False)
    table = reports.table2(result.rows)
    values = [r["metrics"]["plcc_test2"] for r in result.rows]
    assert table.loc[0, "plcc_test2_std"] == pytest.approx(np.std(values, ddof=1))
    assert f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}" in reports.table2_markdown(table)
    assert not (tmp_path / "b" / "table5.md").exists()


def test_unknown_configurations_are_refused_before_anything_runs(export, tmp_path):
    with pytest.raises(ApplicationError) as refused:
        protocol.benchmark(export, [tiny_config(tmp_path), "no_such_config"], [0], out=tmp_path / "b", device="cpu")
    assert refused.value.code == "unknown_method" and not (tmp_path / "b" / "rows").exists()


def test_splits_and_devices_are_read_strictly():
    assert protocol.splits_parse("0-9") == list(range(10))
    assert protocol.splits_parse("0-2,7, 1") == [0, 1, 2, 7]
    for bad in ("", "a", "3-1", "1-"):
        with pytest.raises(ApplicationError):
            protocol.splits_parse(bad)
    assert protocol.device_resolve("cpu") == "cpu"
    with pytest.raises(ApplicationError):
        protocol.device_resolve("tpu")
    import torch

    if not torch.cuda.is_available():
        assert protocol.device_resolve("auto") == "cpu"
        with pytest.raises(ApplicationError) as refused:
            protocol.device_resolve("cuda")
        assert refused.value.code == "no_cuda"



def test_a_run_that_fails_is_listed_and_the_others_go_on(export, tmp_path):
    out = tmp_path / "b"
    result = protocol.benchmark(export, [tiny_config(tmp_path, name="tiny_nan", diverge=True), tiny_config(tmp_path)], [0, 1], out=out,
                                device="cpu", explain=False)
    assert [r["config"] for r in result.rows] == [NAME, NAME] and set(result.failed) == {"tiny_nan split 0", "tiny_nan split 1"}
    assert "NaN" in result.failed["tiny_nan split 0"] and "Failed runs" in (out / "table2.md").read_text()
    with pytest.raises(ApplicationError, match="split_leak|only the split's training videos"):
        protocol.benchmark(export, [tiny_config(tmp_path, name="peek", peek=export.split(0).sets["test1"][0])], [0], out=out, device="cpu")


def test_daclip_text_row_scores_the_test_videos_reasons_after_training(export, tmp_path, daclip_tiny):
    """DA-CLIP-T: trained on the training videos only, then its text branch scores each test video's reasons."""
    run = protocol.split_run(export, "daclip_text", 0, overrides=daclip_tiny, work=tmp_path / "work", device="cpu",
                             cache_root=tmp_path / "cache")
    split = export.split(0)
    for name in ("test1", "test2", "test3"):
        ids = list(split.sets[name])
        expected = run.method.predict_text([export.reasons[v] for v in ids])
        assert np.allclose([run.predictions[name][v] for v in ids], expected)
    assert (tmp_path / "cache" / "text").is_dir()  # the test reasons' embeddings are cached like the training texts'
