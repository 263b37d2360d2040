"""Per-video opinion scores: MOS, SOS (sample standard deviation), rating count and a Student-t CI.

The paper reports MOS and SOS only; the confidence interval is what every peer reports next to a
MOS. It uses Student's t with n-1 degrees of freedom because a video's n is a few dozen at most,
where the normal quantile (1.96, what sureal uses) is too narrow.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._ratings import RatingsLike, code, group_moments

OPINION_COLUMNS = ("mos", "sos", "n", "ci_low", "ci_high")


def opinion_scores(ratings: RatingsLike, *, confidence: float = 0.95) -> pd.DataFrame:
    """One row per video (index `video`, sorted): mos, sos (ddof=1), n, ci_low, ci_high.

    A video with a single rating has no SOS and no interval (NaN), rather than a zero-width one.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    coded = code(ratings)
    moments = group_moments(coded.video, coded.score, coded.n_videos)
    sos = np.sqrt(moments.variance(ddof=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        quantile = stats.t.ppf(0.5 + confidence / 2.0, df=moments.n - 1.0)
        half = np.where(moments.n > 1, quantile * sos / np.sqrt(moments.n), np.nan)
    return pd.DataFrame(
        {
            "mos": moments.mean,
            "sos": sos,
            "n": moments.n.astype(np.int64),
            "ci_low": moments.mean - half,
            "ci_high": moments.mean + half,
        },
        index=coded.videos,
    )
