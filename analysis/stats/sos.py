"""The SOS hypothesis (Hossfeld et al. 2011): fit `var = a (MOS-1)(5-MOS)` over videos, before and after rectification.

`a` summarises how much raters disagree once the unavoidable squeeze at the ends of a 1..5 scale is
accounted for: the variance must vanish at MOS 1 and 5 and peaks at 3. The paper fits it with least
squares through the origin (no intercept); typical video tests give a in [0.11, 0.21].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analysis.stats._ratings import FloatArray, RatingsLike, as_frame
from analysis.stats.opinion import opinion_scores

SCALE_LOW = 1.0
SCALE_HIGH = 5.0


@dataclass(frozen=True)
class SosFit:
    """The fitted SOS parameter, its standard error and how many videos went into the fit."""

    a: float
    a_se: float
    n_videos: int


@dataclass(frozen=True)
class SosRectification:
    """The fit on all ratings (disqualified attempts included) and on qualified ratings only."""

    before: SosFit
    after: SosFit


def sos_basis(mos: ArrayLike, low: float = SCALE_LOW, high: float = SCALE_HIGH) -> FloatArray:
    """The regressor (MOS - low)(high - MOS) of the hypothesis."""
    mos = np.asarray(mos, dtype=np.float64)
    return (mos - low) * (high - mos)


def sos_curve(mos: ArrayLike, a: float, low: float = SCALE_LOW, high: float = SCALE_HIGH) -> FloatArray:
    """Variance the hypothesis predicts at each MOS (take the square root for the SOS curve)."""
    return a * sos_basis(mos, low, high)


def sos_fit(mos: ArrayLike, variance: ArrayLike, low: float = SCALE_LOW, high: float = SCALE_HIGH) -> SosFit:
    """Least squares through the origin of variance on (MOS-low)(high-MOS).

    Closed form a = sum(x v) / sum(x^2); its standard error is the usual one for a one-parameter
    regression without intercept, sqrt(RSS / (n - 1) / sum(x^2)). Videos with a NaN variance (one
    rating) are left out.
    """
    x = sos_basis(mos, low, high)
    v = np.asarray(variance, dtype=np.float64)
    ok = ~(np.isnan(x) | np.isnan(v))
    x, v = x[ok], v[ok]
    n = int(x.size)
    sxx = float(np.dot(x, x))
    if n < 1 or sxx == 0.0:
        return SosFit(a=float("nan"), a_se=float("nan"), n_videos=n)
    a = float(np.dot(x, v)) / sxx
    residual = v - a * x
    a_se = float(np.sqrt(np.dot(residual, residual) / (n - 1) / sxx)) if n > 1 else float("nan")
    return SosFit(a=a, a_se=a_se, n_videos=n)


def sos_fit_ratings(ratings: RatingsLike, low: float = SCALE_LOW, high: float = SCALE_HIGH) -> SosFit:
    """Fit on per-video MOS and sample variance (ddof=1) of the given ratings."""
    per_video = opinion_scores(ratings)
    return sos_fit(per_video["mos"].to_numpy(), per_video["sos"].to_numpy() ** 2, low, high)


def sos_rectification(ratings: RatingsLike, low: float = SCALE_LOW, high: float = SCALE_HIGH) -> SosRectification:
    """Before: every rating, disqualified attempts included. After: rows with `qualified` true only.

    The caller decides what "qualified" means (in DREAM: the rating belongs to an attempt that passed
    all its checker videos); this function only applies the split the paper's Fig. 4 compares.
    """
    frame = as_frame(ratings, ("video", "annotator", "score", "qualified"))
    qualified = np.asarray(frame["qualified"], dtype=bool)
    return SosRectification(
        before=sos_fit_ratings(frame, low, high),
        after=sos_fit_ratings(frame.loc[qualified], low, high),
    )


def sos_scatter(ratings: RatingsLike) -> pd.DataFrame:
    """Per-video MOS and variance, the points of the variance-vs-MOS plot."""
    per_video = opinion_scores(ratings)
    return pd.DataFrame({"mos": per_video["mos"], "variance": per_video["sos"] ** 2})
