"""The checker rule: an attempt qualifies when every hidden checker is rated within the tolerance of its gold score.

One rule for every place that needs it: the finish of an attempt (annotation.services.attempt_finish),
the checker-accuracy monitor and any analysis that asks whether a rating would pass. A checker
rated more than `tolerance` grades away from its gold score is a miss; one miss disqualifies
the attempt (DOMAIN.md: the hidden checkers of the DREAM protocol).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def checker_misses(scores: Sequence[float] | np.ndarray, golds: Sequence[float] | np.ndarray, tolerance: int) -> np.ndarray:
    """Per checker rating, True where its score is more than `tolerance` grades from its gold score.

    Returns a boolean array shaped like `scores`. A gold score that is missing (None or NaN) is an
    error: a checker video without one cannot be judged.
    """
    scores = np.asarray(scores, dtype=float)
    golds = np.asarray(golds, dtype=float)
    if scores.shape != golds.shape:
        raise ValueError(f"{scores.size} checker score(s) but {golds.size} gold score(s)")
    if np.isnan(golds).any():
        raise ValueError("a checker rating has no gold score")
    if tolerance < 0:
        raise ValueError(f"the checker tolerance must not be negative, got {tolerance}")
    return np.abs(scores - golds) > tolerance


def attempt_qualifies(scores: Sequence[float] | np.ndarray, golds: Sequence[float] | np.ndarray, tolerance: int) -> bool:
    """Whether an attempt with these checker ratings (score and gold score of each) is qualified.

    Returns True when no checker is missed; an attempt that held no checker qualifies.
    """
    return not bool(checker_misses(scores, golds, tolerance).any())
