"""Split-half consistency against pandas group MOS and scipy.stats.spearmanr."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats.consistency import (
    default_group_sizes,
    draw_split_groups,
    spearman_rows,
    split_half_consistency,
)


def noisy_ratings(n_videos: int = 80, n_annotators: int = 60, per_annotator: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    quality = rng.uniform(1, 5, n_videos)
    videos = np.concatenate([rng.choice(n_videos, per_annotator, replace=False) for _ in range(n_annotators)])
    annotators = np.repeat(np.arange(n_annotators), per_annotator)
    score = np.clip(np.round(quality[videos] + rng.normal(0, 0.8, videos.size)), 1, 5)
    return pd.DataFrame({"video": videos, "annotator": annotators, "score": score})


def test_spearman_rows_matches_scipy_with_ties_and_masks():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, (4, 30)).astype(float)
    y = x + rng.integers(-2, 3, (4, 30))
    mask = rng.random((4, 30)) > 0.3
    rho = spearman_rows(x, y, mask)
    for row in range(4):
        expected = stats.spearmanr(x[row, mask[row]], y[row, mask[row]]).statistic
        assert rho[row] == pytest.approx(expected)
    assert np.isnan(spearman_rows(x[:1], y[:1], np.eye(1, 30, dtype=bool)))[0]


def test_draws_are_disjoint_groups_of_k():
    labels = draw_split_groups(50, 7, 10, np.random.default_rng(0))
    assert labels.shape == (10, 50)
    assert ((labels == 0).sum(axis=1) == 7).all() and ((labels == 1).sum(axis=1) == 7).all()


def test_each_draw_against_an_independent_group_mos():
    ratings = noisy_ratings()
    k, repetitions = 12, 10
    table = split_half_consistency(ratings, group_sizes=[k], repetitions=repetitions, seed=42)
    # Re-draw the same groups from the same seed, then compute the statistic with pandas and scipy.
    annotators = np.sort(ratings["annotator"].unique())
    labels = draw_split_groups(len(annotators), k, repetitions, np.random.default_rng(42))
    srcc = []
    for draw in labels:
        group = pd.Series(draw, index=annotators)
        g = ratings.assign(group=ratings["annotator"].map(group))
        mos = g[g["group"] < 2].groupby(["group", "video"])["score"].mean().unstack(0).dropna()
        srcc.append(stats.spearmanr(mos[0], mos[1]).statistic)
    row = table.iloc[0]
    assert row["k"] == k and row["valid_repetitions"] == repetitions
    assert row["mean_srcc"] == pytest.approx(np.mean(srcc))
    assert row["std_srcc"] == pytest.approx(np.std(srcc, ddof=1))


def test_ratings_per_video_is_half_the_pool_at_half_split(shared_ratings):
    # Complete designs: with k = half of the subjects every video gets exactly k ratings per group.
    _, ratings = shared_ratings
    n = ratings["annotator"].nunique()
    table = split_half_consistency(ratings, group_sizes=[n // 2], seed=0)
    assert table.loc[0, "ratings_per_video"] == n // 2
    assert 0.85 < table.loc[0, "mean_srcc"] <= 1.0


def test_consistency_grows_with_group_size_and_is_one_without_noise():
    table = split_half_consistency(noisy_ratings(), seed=0)
    assert table["k"].tolist() == default_group_sizes(60).tolist()
    assert table["mean_srcc"].iloc[-1] > table["mean_srcc"].iloc[1]
    perfect = noisy_ratings().assign(score=lambda f: f["video"].astype(float))
    assert split_half_consistency(perfect, group_sizes=[10], seed=0)["mean_srcc"].iloc[0] == pytest.approx(1.0)


def test_seeded_and_validated():
    ratings = noisy_ratings()
    a = split_half_consistency(ratings, group_sizes=[5, 20], seed=3)
    b = split_half_consistency(ratings, group_sizes=[5, 20], seed=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError):
        split_half_consistency(ratings, group_sizes=[31])
    assert default_group_sizes(3500)[[0, -1]].tolist() == [2, 1750]
