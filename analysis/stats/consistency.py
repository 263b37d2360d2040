"""Split-half inter-subject consistency: how well two disjoint annotator groups of size k agree on MOS.

For each k, two disjoint random groups of k annotators are drawn from the whole pool; each group's
MOS per video is computed from its own ratings and the two MOS vectors are compared by Spearman
rank correlation over the videos both groups rated. Ten draws per k give a mean and a spread
(paper Fig. 3: k = 1,750 gives 0.9680 +- 0.0012 at 46.1 ratings per video).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._ratings import FloatArray, IntArray, NotEnoughData, RatingsLike, code

CONSISTENCY_COLUMNS = ("k", "mean_srcc", "std_srcc", "ratings_per_video", "videos_in_both", "valid_repetitions")


def default_group_sizes(n_annotators: int, *, n_sizes: int = 12, smallest: int = 2) -> IntArray:
    """Log-spaced group sizes from `smallest` to half the pool (the largest split that fits)."""
    largest = n_annotators // 2
    if largest < smallest:
        raise NotEnoughData(f"{n_annotators} annotator(s) cannot form two groups of {smallest}")
    return np.unique(np.round(np.geomspace(smallest, largest, n_sizes)).astype(np.intp))


def spearman_rows(x: FloatArray, y: FloatArray, mask: np.ndarray) -> FloatArray:
    """Spearman correlation of each row pair of x and y over the columns where mask is true.

    Ranks are average ranks over the kept columns only; the correlation is Pearson's on the ranks,
    which is the definition scipy.stats.spearmanr uses. Rows with fewer than 3 kept columns, or
    with constant ranks, give NaN.
    """
    rank_x = stats.rankdata(np.where(mask, x, np.nan), axis=1, nan_policy="omit")
    rank_y = stats.rankdata(np.where(mask, y, np.nan), axis=1, nan_policy="omit")
    n = mask.sum(axis=1)
    # A row with no kept column (two small groups that share no video) is NaN by design, not a problem.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dx = rank_x - np.nanmean(rank_x, axis=1, keepdims=True)
        dy = rank_y - np.nanmean(rank_y, axis=1, keepdims=True)
        num = np.nansum(dx * dy, axis=1)
        den = np.sqrt(np.nansum(dx * dx, axis=1) * np.nansum(dy * dy, axis=1))
        rho = num / den
    return np.where(n >= 3, rho, np.nan)


def draw_split_groups(n_annotators: int, k: int, repetitions: int, rng: np.random.Generator) -> IntArray:
    """Labels (repetitions x annotators): 0 and 1 for the two disjoint groups of k, 2 for the rest.

    One permutation per draw: its first k annotators form group 0 and the next k group 1, so the
    groups are disjoint and uniformly random by construction.
    """
    order = rng.permuted(np.tile(np.arange(n_annotators), (repetitions, 1)), axis=1)
    label = np.full((repetitions, n_annotators), 2, dtype=np.intp)
    np.put_along_axis(label, order[:, :k], 0, axis=1)
    np.put_along_axis(label, order[:, k : 2 * k], 1, axis=1)
    return label


def split_half_consistency(
    ratings: RatingsLike,
    *,
    group_sizes: Sequence[int] | None = None,
    repetitions: int = 10,
    seed: int | np.random.Generator | None = 0,
    ddof: int = 1,
) -> pd.DataFrame:
    """One row per group size k: mean and std of the SRCC over `repetitions` random splits.

    `ratings_per_video` is the mean number of ratings a video gets inside one group (averaged over
    videos, both groups and all draws), the x axis the paper quotes (46.1 at k = 1,750).
    `videos_in_both` is the mean number of videos the SRCC was taken over. `std_srcc` uses
    `ddof` (sample std over the draws by default). Draws whose SRCC is undefined (fewer than three
    videos rated by both groups) are left out of the mean; `valid_repetitions` counts the rest.
    """
    coded = code(ratings)
    n_annotators, n_videos = coded.n_annotators, coded.n_videos
    sizes = (
        default_group_sizes(n_annotators)
        if group_sizes is None
        else np.asarray(sorted(set(int(k) for k in group_sizes)), dtype=np.intp)
    )
    if sizes.size and (sizes[0] < 1 or 2 * sizes[-1] > n_annotators):
        raise ValueError(f"group sizes must be in [1, {n_annotators // 2}] for {n_annotators} annotators")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    rows = []
    for k in sizes:
        label = draw_split_groups(n_annotators, int(k), repetitions, rng)
        sums = np.empty((repetitions, 3, n_videos))
        counts = np.empty((repetitions, 3, n_videos))
        for r in range(repetitions):  # a loop over the ten draws, each one vectorized over all ratings
            cell = label[r, coded.annotator] * n_videos + coded.video
            sums[r] = np.bincount(cell, weights=coded.score, minlength=3 * n_videos).reshape(3, n_videos)
            counts[r] = np.bincount(cell, minlength=3 * n_videos).reshape(3, n_videos)
        with np.errstate(divide="ignore", invalid="ignore"):
            mos = sums[:, :2] / counts[:, :2]
        both = (counts[:, 0] > 0) & (counts[:, 1] > 0)
        srcc = spearman_rows(mos[:, 0], mos[:, 1], both)
        valid = srcc[~np.isnan(srcc)]
        rows.append(
            {
                "k": int(k),
                "mean_srcc": float(valid.mean()) if valid.size else float("nan"),
                "std_srcc": float(valid.std(ddof=ddof)) if valid.size > ddof else float("nan"),
                "ratings_per_video": float(counts[:, :2].mean()),
                "videos_in_both": float(both.sum(axis=1).mean()),
                "valid_repetitions": int(valid.size),
            }
        )
    return pd.DataFrame(rows, columns=list(CONSISTENCY_COLUMNS))
