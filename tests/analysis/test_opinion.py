"""Per-video MOS, SOS and Student-t interval against scipy and pandas computed independently."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats.opinion import opinion_scores


def test_matches_scipy_t_interval_per_video():
    ratings = pd.DataFrame(
        {
            "video": ["b", "b", "b", "b", "a", "a", "a", "c"],
            "annotator": [1, 2, 3, 4, 1, 2, 3, 1],
            "score": [5, 4, 4, 2, 1, 2, 2, 3],
        }
    )
    table = opinion_scores(ratings)
    assert table.index.tolist() == ["a", "b", "c"]
    for video, scores in ratings.groupby("video")["score"]:
        scores = scores.to_numpy(dtype=float)
        row = table.loc[video]
        assert row["mos"] == pytest.approx(scores.mean())
        assert row["n"] == len(scores)
        if len(scores) > 1:
            assert row["sos"] == pytest.approx(scores.std(ddof=1))
            low, high = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
        else:
            assert np.isnan(row["sos"]) and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])


def test_other_confidence_level_and_missing_scores_dropped():
    ratings = {"video": [1, 1, 1, 1], "annotator": [1, 2, 3, 4], "score": [3.0, 4.0, np.nan, 5.0]}
    row = opinion_scores(ratings, confidence=0.9).loc[1]
    assert row["n"] == 3
    low, high = stats.t.interval(0.9, 2, loc=4.0, scale=1.0 / np.sqrt(3))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_shared_datasets_against_pandas(shared_ratings):
    _, ratings = shared_ratings
    table = opinion_scores(ratings)
    grouped = ratings.groupby("video")["score"]
    np.testing.assert_allclose(table["mos"], grouped.mean(), atol=1e-12)
    np.testing.assert_allclose(table["sos"], grouped.std(ddof=1), atol=1e-12)
    assert (table["n"] == grouped.size()).all()


def test_rejects_bad_confidence_and_missing_columns():
    with pytest.raises(ValueError):
        opinion_scores({"video": [1], "annotator": [1], "score": [3]}, confidence=1.5)
    with pytest.raises(ValueError, match="score"):
        opinion_scores({"video": [1], "annotator": [1]})
