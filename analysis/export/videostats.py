"""Per-video MOS, SOS, n, CI and 37-share category vectors, accumulated chunk by chunk; no Django.

The export reads ratings in chunks of a few thousand (bounded memory), so the per-video numbers
cannot come from one frame. Grades are integers, so each video keeps integer sums (n, sum of x,
sum of x squared) that are exact however the ratings are chunked; at the end

    MOS = S1 / n,   SOS^2 = (n S2 - S1^2) / (n (n - 1))   (sample variance, ddof = 1)

with the numerator an exact integer, and the CI is Student's t with n - 1 degrees of freedom as in
analysis.stats.opinion (tests/analysis/export checks the two agree). Category hits are counted per
video the same way: the share of a video's descriptions that hit a category is hits / n, which is
what analysis.stats.reasons.category_vectors gives for the whole frame at once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, stats

from analysis.stats.reasons import CATEGORIES, PLACES, ARTIFACTS, EXTENTS

# The category-vector columns of the export, in the taxonomy's fixed order: 14 places, 19
# artifacts, 4 extents (analysis.stats.reasons.lexicon.CATEGORIES), each prefixed by its axis.
CATEGORY_COLUMNS: tuple[str, ...] = (
    *(f"place_{c}" for c in PLACES), *(f"artifact_{c}" for c in ARTIFACTS), *(f"extent_{c}" for c in EXTENTS),
)
assert len(CATEGORY_COLUMNS) == len(CATEGORIES) == 37
OPINION_COLUMNS = ("mos", "sos", "n", "ci_low", "ci_high")


class VideoSums:
    """Running integer sums per video position 0..n_videos-1: ratings, grades, squared grades, category hits."""

    def __init__(self, n_videos: int):
        self.n = np.zeros(n_videos, dtype=np.int64)
        self.s1 = np.zeros(n_videos, dtype=np.int64)
        self.s2 = np.zeros(n_videos, dtype=np.int64)
        self.hits = np.zeros((n_videos, len(CATEGORIES)), dtype=np.int64)

    def add(self, positions: np.ndarray, scores: np.ndarray, text_codes: np.ndarray | None = None,
            text_categories: np.ndarray | None = None) -> None:
        """Add ratings: each one's video position and integer grade, and optionally its description as a
        code into `text_categories` (distinct texts x 37 booleans, analysis.stats.reasons.Corpus)."""
        positions = np.asarray(positions, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.int64)
        if positions.size and (positions.min() < 0 or positions.max() >= self.n.size):
            raise ValueError("a rating's video position is outside the campaign's videos")
        size = self.n.size
        self.n += np.bincount(positions, minlength=size)
        self.s1 += np.bincount(positions, weights=scores, minlength=size).astype(np.int64)
        self.s2 += np.bincount(positions, weights=scores * scores, minlength=size).astype(np.int64)
        if text_codes is not None:
            # Descriptions per (video, distinct text) as a sparse count matrix, times each text's categories.
            per_text = sparse.csr_array(
                (np.ones(positions.size, dtype=np.int64), (positions, np.asarray(text_codes, dtype=np.int64))),
                shape=(size, text_categories.shape[0]),
            )
            self.hits += np.asarray(per_text @ text_categories.astype(np.int64), dtype=np.int64)

    def frame(self) -> pd.DataFrame:
        """The sums as a frame (one row per position), to hand between stages."""
        frame = pd.DataFrame({"n": self.n, "s1": self.s1, "s2": self.s2})
        for i, column in enumerate(CATEGORY_COLUMNS):
            frame[column] = self.hits[:, i]
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> VideoSums:
        sums = cls(len(frame))
        sums.n, sums.s1, sums.s2 = (frame[c].to_numpy(dtype=np.int64).copy() for c in ("n", "s1", "s2"))
        sums.hits = frame[list(CATEGORY_COLUMNS)].to_numpy(dtype=np.int64).copy()
        return sums

    def opinion(self, *, confidence: float = 0.95) -> pd.DataFrame:
        """Per position: mos, sos (ddof=1), n, ci_low, ci_high (Student's t); NaN where n is 0, no SOS or CI where n is 1."""
        n = self.n.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mos = self.s1 / n
            variance = (self.n * self.s2 - self.s1 * self.s1) / (n * (n - 1.0))
            variance = np.where(self.n > 1, variance, np.nan)
            sos = np.sqrt(variance)
            quantile = stats.t.ppf(0.5 + confidence / 2.0, df=n - 1.0)
            half = np.where(self.n > 1, quantile * sos / np.sqrt(n), np.nan)
        return pd.DataFrame({"mos": mos, "sos": sos, "n": self.n, "ci_low": mos - half, "ci_high": mos + half})

    def category_shares(self) -> pd.DataFrame:
        """Per position, the share of its descriptions hitting each category (CATEGORY_COLUMNS); NaN where n is 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = self.hits / self.n[:, None].astype(np.float64)
        return pd.DataFrame(shares, columns=list(CATEGORY_COLUMNS))
