"""False negative rates and Kruskal-Wallis tests against scipy.stats.kruskal and a hand computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats.groups import (
    annotator_fnr_table,
    false_negative_rates,
    fnr_group_tests,
    kruskal_wallis,
    time_groups,
)


def test_kruskal_hand_computed_example():
    # Three groups, no ties: ranks a = 1,2,3 (sum 6), b = 4,5,6 (15), c = 7,8,9 (24), n = 9.
    # H = 12 / (9 * 10) * (36/3 + 225/3 + 576/3) - 3 * 10 = 7.2; epsilon^2 = 7.2 / 8 = 0.9.
    result = kruskal_wallis([1, 2, 3, 4, 5, 6, 7, 8, 9], list("aaabbbccc"), attribute="x")
    assert result.h == pytest.approx(7.2)
    assert result.p == pytest.approx(stats.chi2.sf(7.2, 2))
    assert result.effect == pytest.approx(0.9)
    assert (result.groups, result.sizes, result.medians) == (("a", "b", "c"), (3, 3, 3), (2.0, 5.0, 8.0))


def test_kruskal_matches_scipy_with_ties_and_missing():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 6, 200) / 5.0
    groups = rng.choice(["18-25", "26-35", "36+", None], 200)
    values[:5] = np.nan
    result = kruskal_wallis(values, groups)
    keep = ~np.isnan(values) & (groups != None)  # noqa: E711  (object array)
    samples = [values[keep & (groups == g)] for g in ["18-25", "26-35", "36+"]]
    expected = stats.kruskal(*samples)
    assert result.h == pytest.approx(expected.statistic)
    assert result.p == pytest.approx(expected.pvalue)
    assert result.n == keep.sum() and result.effect == pytest.approx(expected.statistic / (keep.sum() - 1))


def test_kruskal_degenerate_cases_are_nan():
    assert np.isnan(kruskal_wallis([1, 2, 3], ["a", "a", "a"]).h)
    assert np.isnan(kruskal_wallis([1, 1, 1, 1], ["a", "a", "b", "b"]).p)


def synthetic_population(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for annotator in range(300):
        knows = rng.random() < 0.3
        fooled = 0.03 if knows else 0.12
        seconds = rng.uniform(5, 60)
        for video in rng.choice(400, 40, replace=False):
            fake = video >= 40
            score = 5 if (fake and rng.random() < fooled) or (not fake and rng.random() < 0.7) else int(rng.integers(1, 5))
            rows.append((video, annotator, score, fake, seconds + rng.normal(0, 2), "yes" if knows else "no",
                         ["f", "m"][annotator % 2]))
    return pd.DataFrame(rows, columns=["video", "annotator", "score", "is_fake", "seconds", "prior_knowledge", "gender"])


def test_false_negative_rates_by_hand():
    ratings = pd.DataFrame(
        {
            "video": [1, 2, 3, 4, 1, 2, 9],
            "annotator": ["x", "x", "x", "x", "y", "y", "z"],
            "score": [5, 4, 5, 5, 3, 2, 5],
            "is_fake": [True, True, True, False, True, True, False],
        }
    )
    table = false_negative_rates(ratings)
    assert table.index.tolist() == ["x", "y"]  # z rated no fake: undefined, not zero
    assert table["fnr"].tolist() == pytest.approx([2 / 3, 0.0])
    assert table["n_fake"].tolist() == [3, 2]


def test_group_tests_find_the_planted_effect():
    ratings = synthetic_population()
    results = fnr_group_tests(ratings, attributes=("gender", "prior_knowledge", "age"))
    assert set(results) == {"gender", "prior_knowledge", "seconds"}  # no age column: skipped
    assert results["prior_knowledge"].p < 1e-6
    assert results["gender"].p > 0.01
    assert sum(results["seconds"].sizes) == 300 and len(results["seconds"].sizes) == 4
    fnr = false_negative_rates(ratings)["fnr"]
    knows = ratings.groupby("annotator")["prior_knowledge"].first()
    expected = stats.kruskal(fnr[knows == "no"], fnr[knows == "yes"])
    assert results["prior_knowledge"].h == pytest.approx(expected.statistic)


def test_time_groups_are_equal_count_quantiles():
    groups = time_groups(synthetic_population(), quantiles=4)
    assert groups.value_counts().tolist() == [75, 75, 75, 75]


def test_annotator_table_feeds_the_box_plots():
    ratings = synthetic_population()
    table = annotator_fnr_table(ratings, attributes=("gender", "prior_knowledge"))
    assert table.columns.tolist() == ["n_fake", "n_fooled", "fnr", "gender", "prior_knowledge", "seconds"]
    assert len(table) == 300 and table["seconds"].notna().all()
