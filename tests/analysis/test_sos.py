"""SOS hypothesis fit against scipy.optimize.least_squares and the figures of the shared datasets."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from analysis.stats.sos import sos_curve, sos_fit, sos_fit_ratings, sos_rectification, sos_scatter


def test_closed_form_matches_least_squares_and_its_standard_error():
    rng = np.random.default_rng(0)
    mos = rng.uniform(1, 5, 200)
    basis = (mos - 1) * (5 - mos)
    variance = 0.2 * basis + rng.normal(0, 0.05, mos.size)
    fit = sos_fit(mos, variance)

    solved = optimize.least_squares(lambda a: a[0] * basis - variance, x0=[1.0])
    jacobian = solved.jac
    sigma2 = np.sum(solved.fun**2) / (mos.size - 1)
    se = np.sqrt(sigma2 * np.linalg.inv(jacobian.T @ jacobian)[0, 0])
    assert fit.a == pytest.approx(solved.x[0], rel=1e-8)
    assert fit.a_se == pytest.approx(se, rel=1e-6)
    assert fit.n_videos == 200


@pytest.mark.parametrize("name,expected", [("nflx", 0.198), ("vqeghd3", 0.194)])
def test_shared_datasets_give_the_published_cross_check(name, expected):
    # README of the shared datasets: MOS and sample variance (ddof=1) per video, all ratings.
    from tests.analysis.conftest import load_shared

    fit = sos_fit_ratings(load_shared(name))
    assert round(fit.a, 3) == expected
    assert 0 < fit.a_se < 0.02


def test_rectification_splits_on_qualified():
    rng = np.random.default_rng(1)
    rows = []
    for video in range(60):
        quality = rng.uniform(1.5, 4.5)
        for annotator in range(20):
            rows.append((video, annotator, np.clip(round(quality + rng.normal(0, 0.6)), 1, 5), True))
        for annotator in range(20, 30):  # careless attempts later disqualified: uniform noise
            rows.append((video, annotator, float(rng.integers(1, 6)), False))
    ratings = pd.DataFrame(rows, columns=["video", "annotator", "score", "qualified"])
    result = sos_rectification(ratings)
    assert result.after == sos_fit_ratings(ratings[ratings["qualified"]])
    assert result.before == sos_fit_ratings(ratings)
    assert result.before.a > result.after.a


def test_curve_and_scatter():
    assert sos_curve([1, 3, 5], 0.25).tolist() == [0.0, 1.0, 0.0]
    scatter = sos_scatter({"video": [1, 1, 2, 2], "annotator": [1, 2, 1, 2], "score": [1, 3, 4, 4]})
    assert scatter.loc[1, "variance"] == pytest.approx(2.0)
    assert scatter.loc[2, "mos"] == 4.0


def test_single_rating_videos_are_left_out():
    fit = sos_fit([2.0, 3.0, 4.0], [np.nan, 0.8, 0.6])
    assert fit.n_videos == 2
