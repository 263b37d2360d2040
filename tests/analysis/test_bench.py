"""The analysis benchmark still runs (tiny scale, without sureal) and its synthetic data is well-formed."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "analysis_stats.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("analysis_stats_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_ratings_have_the_dream_shape(bench):
    ratings = bench.synthesize(scale=0.1, seed=1)
    assert ratings["video"].nunique() == 152 and ratings["annotator"].nunique() == 350
    assert len(ratings) == 15_000
    assert set(ratings["score"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    per_session = ratings[ratings["qualified"]].groupby("annotator")["video"].nunique()
    assert (per_session == 40).all()


def test_bench_runs(bench, capsys):
    bench.main(["--scale", "0.02", "--repeat", "1", "--no-sureal"])
    out = capsys.readouterr().out
    assert "split_half_consistency" in out and "mle_model content-aware" in out
