"""Who gets fooled: false negative rate per annotator and Kruskal-Wallis tests of it across annotator groups.

An annotator's false negative rate (FNR) is the share of the deepfake videos they rated that they
gave the top grade, 5 ("no traces of forgery"), i.e. took a fake for real (paper section III-C).
The paper compares FNR across age, gender, education, prior knowledge of deepfakes and annotation
time (p = 0.25, 0.41, 0.64, 8.2e-8, 9.8e-8).

Effect size: epsilon-squared for Kruskal-Wallis, E^2_R = H / ((n^2 - 1) / (n + 1)) = H / (n - 1)
(Tomczak & Tomczak 2014, after Kelley 1935). It is the share of rank variance explained by the
grouping, in [0, 1], needs only H and n (so it can be recomputed from a reported H), and does not
go negative the way eta-squared (H - k + 1) / (n - k) does with many small groups.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from analysis.stats._ratings import RatingsLike, as_frame

TOP_GRADE = 5.0
DEFAULT_ATTRIBUTES = ("age", "gender", "education", "prior_knowledge")
TIME_ATTRIBUTE = "seconds"


@dataclass(frozen=True)
class GroupTest:
    """Kruskal-Wallis H test of one attribute: H, p, epsilon-squared and the groups it compared."""

    attribute: str
    h: float
    p: float
    effect: float
    n: int
    groups: tuple[str, ...]
    sizes: tuple[int, ...]
    medians: tuple[float, ...]


def false_negative_rates(ratings: RatingsLike, *, top_grade: float = TOP_GRADE) -> pd.DataFrame:
    """Per annotator (index `annotator`): n_fake rated, n_fooled (rated `top_grade`), fnr.

    Annotators who rated no fake video are absent: their FNR is undefined, not zero.
    """
    frame = as_frame(ratings, ("video", "annotator", "score", "is_fake"))
    fake = np.asarray(frame["is_fake"], dtype=bool)
    score = np.asarray(frame["score"], dtype=np.float64)[fake]
    codes, annotators = pd.factorize(np.asarray(frame["annotator"])[fake], sort=True)
    n_fake = np.bincount(codes, minlength=len(annotators))
    n_fooled = np.bincount(codes, weights=(score == top_grade).astype(np.float64), minlength=len(annotators))
    return pd.DataFrame(
        {"n_fake": n_fake, "n_fooled": n_fooled.astype(np.int64), "fnr": n_fooled / n_fake},
        index=pd.Index(annotators, name="annotator"),
    )


def annotator_attributes(ratings: RatingsLike, columns: Sequence[str]) -> pd.DataFrame:
    """One row per annotator with the first non-missing value of each attribute column."""
    frame = as_frame(ratings, ("annotator", *columns))
    return frame.groupby("annotator", sort=True)[list(columns)].first()


def time_groups(ratings: RatingsLike, *, quantiles: int = 4, column: str = TIME_ATTRIBUTE) -> pd.Series:
    """Annotators binned into `quantiles` equal-count groups of their mean seconds per rating.

    The paper groups by "average annotation time per video"; quantile bins keep the groups the same
    size whatever the time distribution. Ties at a bin edge can merge bins (duplicates dropped).
    """
    frame = as_frame(ratings, ("annotator", column))
    mean_seconds = frame.groupby("annotator", sort=True)[column].mean()
    binned = pd.qcut(mean_seconds, q=quantiles, duplicates="drop")
    return binned.rename(f"{column}_q{quantiles}")


def kruskal_wallis(values: ArrayLike, groups: ArrayLike, *, attribute: str = "") -> GroupTest:
    """Kruskal-Wallis H (tie-corrected, as scipy.stats.kruskal) of `values` across `groups` labels.

    Missing values or labels are dropped. With fewer than two groups, or all values tied, H and p
    are NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    labels = pd.Series(groups).reset_index(drop=True)
    keep = ~np.isnan(values) & labels.notna().to_numpy()
    values = values[keep]
    codes, uniques = pd.factorize(labels[keep], sort=True)
    n_groups = len(uniques)
    n = int(values.size)
    sizes = np.bincount(codes, minlength=n_groups)
    medians = pd.Series(values).groupby(codes).median().reindex(range(n_groups)).to_numpy()
    h = p = float("nan")
    if n_groups >= 2 and n > 1:
        ranks = stats.rankdata(values)
        rank_sums = np.bincount(codes, weights=ranks, minlength=n_groups)
        h_raw = 12.0 / (n * (n + 1)) * np.sum(rank_sums**2 / sizes) - 3.0 * (n + 1)
        _, tie_counts = np.unique(values, return_counts=True)
        tie_correction = 1.0 - np.sum(tie_counts**3 - tie_counts) / (n**3 - n)
        if tie_correction > 0:
            h = float(h_raw / tie_correction)
            p = float(stats.chi2.sf(h, n_groups - 1))
    return GroupTest(
        attribute=attribute,
        h=h,
        p=p,
        effect=h / (n - 1) if n > 1 else float("nan"),
        n=n,
        groups=tuple(str(u) for u in uniques),
        sizes=tuple(int(s) for s in sizes),
        medians=tuple(float(m) for m in medians),
    )


def annotator_fnr_table(
    ratings: RatingsLike,
    *,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    time_quantiles: int | None = 4,
    top_grade: float = TOP_GRADE,
) -> pd.DataFrame:
    """Per annotator: n_fake, n_fooled, fnr, each present attribute and the time group (`seconds`).

    The long table behind the paper's Fig. 2 box plots (one box per group of each attribute) and
    behind `fnr_group_tests`.
    """
    frame = as_frame(ratings, ("video", "annotator", "score", "is_fake"))
    table = false_negative_rates(frame, top_grade=top_grade)
    present = [a for a in attributes if a in frame.columns]
    if present:
        table = table.join(annotator_attributes(frame, present))
    if time_quantiles is not None and TIME_ATTRIBUTE in frame.columns:
        table[TIME_ATTRIBUTE] = time_groups(frame, quantiles=time_quantiles).reindex(table.index)
    return table


def fnr_group_tests(
    ratings: RatingsLike,
    *,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    time_quantiles: int | None = 4,
    top_grade: float = TOP_GRADE,
) -> dict[str, GroupTest]:
    """Kruskal-Wallis of per-annotator FNR across each attribute's groups (and time quantiles).

    Attributes absent from the ratings are skipped, so the same call works on partial exports.
    The time test is keyed `seconds` and runs when the `seconds` column is there and
    `time_quantiles` is not None.
    """
    table = annotator_fnr_table(ratings, attributes=attributes, time_quantiles=time_quantiles, top_grade=top_grade)
    fnr = table["fnr"].to_numpy()
    grouped = [c for c in (*attributes, TIME_ATTRIBUTE) if c in table.columns]
    return {column: kruskal_wallis(fnr, table[column], attribute=column) for column in grouped}
