"""Shared plumbing of the statistics: validate long-format ratings and sum values per group fast.

Everything here works on integer codes (0..n-1) from `pd.factorize(sort=True)`, so per-video and
per-annotator sums are single `np.bincount` calls instead of Python loops or pandas groupbys.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

RatingsLike: TypeAlias = pd.DataFrame | Mapping[str, ArrayLike]
FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.intp]
BoolArray: TypeAlias = NDArray[np.bool_]


class NotEnoughData(ValueError):
    """The ratings are too few for a statistic (e.g. two annotators cannot form two split halves):
    the caller reports the statistic as not available rather than failing."""


def as_frame(ratings: RatingsLike, required: tuple[str, ...] = ("video", "annotator", "score")) -> pd.DataFrame:
    """The ratings as a DataFrame with the required columns checked (no copy when already one)."""
    frame = ratings if isinstance(ratings, pd.DataFrame) else pd.DataFrame(dict(ratings))
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"ratings lack the column(s) {missing}; they have {list(frame.columns)}")
    return frame


@dataclass(frozen=True)
class Coded:
    """Ratings as integer codes: row i is annotator `annotator[i]` rating video `video[i]`."""

    video: IntArray
    annotator: IntArray
    score: FloatArray
    videos: pd.Index
    annotators: pd.Index

    @property
    def n_videos(self) -> int:
        return len(self.videos)

    @property
    def n_annotators(self) -> int:
        return len(self.annotators)


def code(ratings: RatingsLike) -> Coded:
    """The ratings as `Coded` integer codes: video and annotator labels factorized in sorted order
    (so codes follow label order like sureal's), rows with a NaN score dropped."""
    frame = as_frame(ratings)
    score = np.asarray(frame["score"], dtype=np.float64)
    # A NaN score is "not rated"; dropping it here keeps every later count honest.
    keep = ~np.isnan(score)
    video_codes, videos = pd.factorize(np.asarray(frame["video"])[keep], sort=True)
    annotator_codes, annotators = pd.factorize(np.asarray(frame["annotator"])[keep], sort=True)
    return Coded(
        video=video_codes.astype(np.intp),
        annotator=annotator_codes.astype(np.intp),
        score=score[keep],
        videos=pd.Index(videos, name="video"),
        annotators=pd.Index(annotators, name="annotator"),
    )


def distinct_counts(keys: NDArray[np.int64]) -> tuple[NDArray[np.int64], IntArray]:
    """The distinct integer keys, sorted, and how many times each occurs.

    By a sort rather than `np.unique`: numpy 2.4 hashes integers by their value, which collides on
    composite keys (a * n + b); 1.35 million (annotator, text, video) keys took 0.83 s there
    against 7 ms sorted (bench/analysis_scale.py's 10x data).
    """
    ordered = np.sort(keys)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]))) if ordered.size else np.zeros(0, dtype=np.intp)
    return ordered[starts], np.diff(np.append(starts, ordered.size))


def group_sum(codes: IntArray, values: ArrayLike | None, size: int) -> FloatArray:
    """Sum of `values` per code (count when `values` is None), like `np.nansum` over each group.

    NaN contributions are skipped because the reference implementation (sureal) sums with
    `np.nansum`, which also swallows NaNs produced by 0/0 in cells that hold a rating.
    """
    if values is None:
        return np.bincount(codes, minlength=size).astype(np.float64)
    values = np.asarray(values, dtype=np.float64)
    sums = np.bincount(codes, weights=values, minlength=size)
    # Fast path: a NaN contribution always leaves a NaN sum, so only then scan the long input.
    if np.isnan(sums).any():
        nan = np.isnan(values)
        if nan.any():
            sums = np.bincount(codes, weights=np.where(nan, 0.0, values), minlength=size)
    return sums


@dataclass(frozen=True)
class GroupMoments:
    """Count, mean and sum of squared deviations per group (two-pass, so no cancellation)."""

    n: FloatArray
    mean: FloatArray
    ss: FloatArray

    def variance(self, ddof: int) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.n > ddof, self.ss / (self.n - ddof), np.nan)


def group_moments(codes: IntArray, values: FloatArray, size: int) -> GroupMoments:
    """Count, mean and sum of squared deviations of `values` per code, as `GroupMoments`."""
    n = np.bincount(codes, minlength=size).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(codes, weights=values, minlength=size) / n
    ss = np.bincount(codes, weights=(values - mean[codes]) ** 2, minlength=size)
    return GroupMoments(n=n, mean=mean, ss=ss)
