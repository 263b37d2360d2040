"""The export's pure parts: chunked per-video sums against analysis.stats, sureal's buckets, typed parameters."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.export.parameters import ExportParameters
from analysis.export.sureal import SCORES_SCHEMA, sureal_dataset_write
from analysis.export.videostats import CATEGORY_COLUMNS, VideoSums
from analysis.stats import opinion, reasons
from analysis.stats.reasons import CATEGORIES

TEXTS = ("the mouth is slightly blurry", "obvious seam around the face", "looks real", "=cmd", "eyes flicker a bit",
         "The realism is very high, and there are no detectable signs of forgery", "")


def _ratings(n=6_000, videos=60, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"video": rng.integers(0, videos, n), "annotator": rng.integers(0, 400, n),
                         "score": rng.integers(1, 6, n), "reason": rng.choice(TEXTS, n)})


@pytest.mark.parametrize("chunk", [97, 2_000, 10_000])
def test_chunked_sums_equal_the_analysis_statistics_on_the_whole_frame(chunk):
    ratings = _ratings()
    sums = VideoSums(60)
    for start in range(0, len(ratings), chunk):
        part = ratings.iloc[start:start + chunk]
        texts = reasons.corpus(part["reason"])
        sums.add(part["video"].to_numpy(), part["score"].to_numpy(), texts.codes, texts.categories)
    ours, reference = sums.opinion(), opinion.opinion_scores(ratings)
    for column in ("mos", "sos", "ci_low", "ci_high"):
        assert np.allclose(ours[column].to_numpy(), reference[column].to_numpy(), rtol=0, atol=1e-12), column
    assert (ours["n"].to_numpy() == reference["n"].to_numpy()).all()
    shares = sums.category_shares()
    assert np.allclose(shares.to_numpy(), reasons.category_vectors(ratings).to_numpy(), rtol=0, atol=1e-12)
    # Handing the sums between stages loses nothing.
    again = VideoSums.from_frame(sums.frame())
    assert (again.hits == sums.hits).all() and (again.s2 == sums.s2).all()


def test_category_columns_follow_the_taxonomy_order():
    assert [c.split("_", 1)[1] for c in CATEGORY_COLUMNS] == list(CATEGORIES)
    assert [c.split("_", 1)[0] for c in CATEGORY_COLUMNS] == ["place"] * 14 + ["artifact"] * 19 + ["extent"] * 4


def test_a_single_rating_has_no_spread_and_an_unrated_video_no_numbers():
    sums = VideoSums(3)
    sums.add(np.array([0, 1, 1]), np.array([4, 2, 5]))
    frame = sums.opinion()
    assert frame.loc[0, "mos"] == 4 and np.isnan(frame.loc[0, "sos"]) and np.isnan(frame.loc[0, "ci_low"])
    assert frame.loc[1, "sos"] == pytest.approx(np.std([2, 5], ddof=1))
    assert np.isnan(frame.loc[2, "mos"]) and frame.loc[2, "n"] == 0
    with pytest.raises(ValueError, match="outside"):
        sums.add(np.array([3]), np.array([1]))


def test_sureal_buckets_give_the_same_file_as_one_pass(tmp_path):
    rng = np.random.default_rng(1)
    n, videos = 5_000, 40
    scores = tmp_path / "scores.parquet"
    position = np.r_[np.arange(videos), rng.integers(0, videos, n - videos)]  # every video graded
    pq.write_table(pa.table({
        "position": position.astype(np.int32), "annotator": rng.choice([f"a{i}" for i in range(30)], n).astype(object),
        "order": np.arange(n, dtype=np.int64), "score": rng.integers(1, 6, n).astype(np.int8),
    }, schema=SCORES_SCHEMA), scores)
    files = [f"v{i:03d}.mp4" for i in range(videos)]
    pairs = [f"p{i % 3}" if i % 7 else "" for i in range(videos)]
    written = {}
    for rows in (10_000_000, 333):
        out = tmp_path / f"dataset-{rows}.json"
        assert sureal_dataset_write(out, name="t", files=files, pairs=pairs, scores=scores, work=tmp_path / "w", bucket_rows=rows) == n
        written[rows] = out.read_text()
        assert not (tmp_path / "w").exists()
    assert written[333] == written[10_000_000]
    dataset = json.loads(written[333])
    assert [v["path"] for v in dataset["dis_videos"]] == files
    first = pd.read_parquet(scores).query("position == 0")
    means = np.mean([g for grades in dataset["dis_videos"][0]["os"].values() for g in (grades if isinstance(grades, list) else [grades])])
    assert means == pytest.approx(first["score"].mean())


def test_sureal_refuses_a_video_without_grades(tmp_path):
    scores = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"position": np.array([0, 2], dtype=np.int32), "annotator": ["a", "b"],
                             "order": np.array([0, 1]), "score": np.array([3, 4], dtype=np.int8)}, schema=SCORES_SCHEMA), scores)
    with pytest.raises(ValueError, match="no grade"):
        sureal_dataset_write(tmp_path / "d.json", name="t", files=["x", "y", "z"], pairs=["", "", ""], scores=scores, work=tmp_path / "w")


def test_parameters_are_typed_and_unknown_ones_refused():
    default = ExportParameters.from_dict(None)
    assert default.as_dict() == {"include": "qualified", "with_videos": False, "splits": 10, "train_pairs": None,
                                 "train_methods": None, "formats": ["csv", "parquet"], "seed": 0}
    assert ExportParameters.from_dict(default.as_dict()) == default
    assert ExportParameters.from_dict({"formats": ["parquet", "csv"]}) == default
    for bad, message in (({"includ": "all"}, "unknown"), ({"include": "some"}, "include"), ({"with_videos": "yes"}, "with_videos"),
                         ({"splits": True}, "splits"), ({"splits": -1}, "splits"), ({"splits": 2.5}, "splits"),
                         ({"train_pairs": 0}, "train_pairs"), ({"formats": []}, "formats"), ({"formats": "csv"}, "formats"),
                         ({"formats": ["xlsx"]}, "formats"), ({"seed": -3}, "seed")):
        with pytest.raises(ValueError, match=message):
            ExportParameters.from_dict(bad)
