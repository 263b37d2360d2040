"""`manage.py analyze_ratings`: ratings from anywhere in, videos.csv / annotators.csv / summary.json / figures out."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from .conftest import DATASETS, SHARED

EXPECTED_A = {"nflx": 0.198, "vqeghd3": 0.194}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_dataset_with_renamed_columns(name, tmp_path):
    source = DATASETS / SHARED[name]
    if not source.exists():
        pytest.skip(f"{source} is not there")
    call_command("analyze_ratings", str(source), out=str(tmp_path), video_col="video_id", annotator_col="subject", verbosity=0)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert round(summary["sos_a_before"], 3) == EXPECTED_A[name]
    assert summary["split_half"] and set(summary["split_half"][0]) >= {"k", "mean_srcc", "std_srcc", "ratings_per_video"}
    raw = pd.read_csv(source)
    videos = pd.read_csv(tmp_path / "videos.csv").set_index("video")
    expected = raw.groupby("video_id")["score"].agg(["mean", "std", "count"])
    assert list(videos.columns) == ["mos", "sos", "n", "ci_low", "ci_high"]
    np.testing.assert_allclose(videos.loc[expected.index, "mos"], expected["mean"])
    np.testing.assert_allclose(videos.loc[expected.index, "sos"], expected["std"])
    annotators = pd.read_csv(tmp_path / "annotators.csv")
    assert {"annotator", "bias", "inconsistency", "rejected"} <= set(annotators.columns)
    assert len(annotators) == raw["subject"].nunique()
    html = (tmp_path / "figures.html").read_text()
    assert 'src="plotly.min.js"' in html and "cdn.plot.ly" not in html and (tmp_path / "plotly.min.js").exists()


def test_every_optional_column(tmp_path):
    rng = np.random.default_rng(1)
    n_videos, n_annotators = 12, 20
    rows = []
    for a in range(n_annotators):
        for v in range(n_videos):
            for attempt, qualified in ((1, a % 5 != 0), (2, True)) if a % 5 == 0 else ((1, True),):
                rows.append({"video": f"v{v}", "annotator": f"a{a}", "score": int(rng.integers(1, 6)), "attempt": attempt,
                             "qualified": "true" if qualified else "false", "is_checker": "false", "gold": "",
                             "is_fake": "false" if v == 0 else "true", "seconds": float(rng.uniform(2, 20)),
                             "age": ["<20", "20-29"][a % 2], "gender": ["female", "male"][a // 10],
                             "education": "master", "prior_knowledge": ["none", "expert"][a % 2],
                             "reason": "the mouth looks slightly blurry"})
    rows.append({**rows[0], "video": "checker", "is_checker": "true", "gold": 5})
    source = tmp_path / "ratings.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    call_command("analyze_ratings", str(source), out=str(tmp_path / "out"), verbosity=0)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ratings"] == len(rows) - 1  # the checker row is left out
    assert summary["sos_a_before"] is not None and summary["sos_a_after"] is not None
    assert set(summary["kruskal"]) == {"age", "gender", "education", "prior_knowledge", "seconds"}
    assert summary["category_shares"]["mouth"] == pytest.approx(1.0) and summary["category_shares"]["mild"] == pytest.approx(1.0)
    annotators = pd.read_csv(tmp_path / "out" / "annotators.csv")
    assert "fnr" in annotators.columns and annotators["fnr"].between(0, 1).all()
    videos = pd.read_csv(tmp_path / "out" / "videos.csv")
    assert len(videos) == n_videos and (videos["n"] == n_annotators).all()  # qualified attempts only


def test_missing_columns_are_named(tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("clip,rater,grade\n1,2,3\n")
    with pytest.raises(CommandError, match="no column"):
        call_command("analyze_ratings", str(source), out=str(tmp_path / "out"), verbosity=0)
    with pytest.raises(CommandError, match="is not a file"):
        call_command("analyze_ratings", str(tmp_path / "nope.csv"), out=str(tmp_path / "out"), verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_run_analysis_command_follows_the_run_to_the_end(capsys):
    from analysis.models import AnalysisRun

    from .factories import rated_campaign

    rated_campaign(n_annotators=8, n_videos=6)
    call_command("run_analysis", campaign="rated", verbosity=0)
    run = AnalysisRun.objects.get()
    assert run.status == AnalysisRun.Status.COMPLETED and run.trigger == AnalysisRun.Trigger.COMMAND
    assert "completed" in capsys.readouterr().out
    call_command("run_analysis", campaign="rated", if_needed=True, verbosity=0)
    assert AnalysisRun.objects.count() == 1 and "up to date" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No campaign"):
        call_command("run_analysis", campaign="missing", verbosity=0)


def _csv(tmp_path, text: str, name: str = "ratings.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("score, message", [
    ("7", "outside the scale 1 to 5 on line 3"), ("abc", "not a number on line 3"), ("inf", "infinite on line 3"),
    ("", "missing on line 3"),
])
def test_a_bad_score_names_its_line_and_nothing_is_written(tmp_path, score, message):
    source = _csv(tmp_path, f"video,annotator,score\nv1,a1,3\nv1,a2,{score}\nv2,a1,4\n")
    with pytest.raises(CommandError, match=message):
        call_command("analyze_ratings", str(source), out=str(tmp_path / "out"), verbosity=0)
    assert not (tmp_path / "out").exists()


def test_the_scale_can_be_set(tmp_path):
    source = _csv(tmp_path, "video,annotator,score\nv1,a1,7\nv1,a2,9\nv2,a1,0\nv2,a2,10\n")
    call_command("analyze_ratings", str(source), out=str(tmp_path / "out"), scale=(0, 10), verbosity=0)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["ratings"] == 4


def test_an_empty_file_and_an_out_that_is_a_file_are_refused(tmp_path):
    with pytest.raises(CommandError, match="is empty"):
        call_command("analyze_ratings", str(_csv(tmp_path, "")), out=str(tmp_path / "out"), verbosity=0)
    source = _csv(tmp_path, "video,annotator,score\nv1,a1,3\n", "fine.csv")
    (tmp_path / "taken").write_text("keep me")
    with pytest.raises(CommandError, match="is a file"):
        call_command("analyze_ratings", str(source), out=str(tmp_path / "taken"), verbosity=0)
    assert (tmp_path / "taken").read_text() == "keep me"


def test_too_few_annotators_reports_a_statistic_as_not_available(tmp_path, capsys):
    source = _csv(tmp_path, "video,annotator,score\nv1,a1,3\nv2,a1,4\nv1,a2,2\n")
    call_command("analyze_ratings", str(source), out=str(tmp_path / "out"), verbosity=1)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["split_half"] == [] and "cannot form two groups" in summary["not_available"]["consistency"]
    assert "consistency: not available" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "annotators.csv", "figures.html", "plotly.min.js", "summary.json", "videos.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out-")]  # the scratch folder is gone
