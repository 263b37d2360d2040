"""annotation.checkers: the checker rule on hand-made numbers."""
from __future__ import annotations

import numpy as np
import pytest

from annotation.checkers import attempt_qualifies, checker_misses


def test_a_checker_is_missed_only_beyond_the_tolerance():
    # Gold 1 and 5 (the protocol's checkers), tolerance 1: 2 and 4 pass, 3 misses either way.
    scores, golds = [1, 2, 3, 5, 4, 3], [1, 1, 1, 5, 5, 5]
    assert checker_misses(scores, golds, 1).tolist() == [False, False, True, False, False, True]
    assert checker_misses(scores, golds, 0).tolist() == [False, True, True, False, True, True]
    assert checker_misses(scores, golds, 2).tolist() == [False] * 6
    assert checker_misses(np.array([5.0]), np.array([1.0]), 3).tolist() == [True]


def test_one_miss_disqualifies_the_attempt():
    assert attempt_qualifies([1, 2, 5, 4, 5], [1, 1, 5, 5, 5], 1)
    assert not attempt_qualifies([1, 2, 5, 3, 5], [1, 1, 5, 5, 5], 1)
    assert attempt_qualifies([], [], 1)  # no checker in the attempt: nothing to miss


def test_bad_checker_data_is_refused():
    with pytest.raises(ValueError, match="gold score"):
        checker_misses([3, 4], [5, None], 1)
    with pytest.raises(ValueError, match="2 checker score"):
        checker_misses([3, 4], [5], 1)
    with pytest.raises(ValueError, match="negative"):
        checker_misses([3], [5], -1)
