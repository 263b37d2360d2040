"""The split protocol (DOMAIN.md section 3) on the paper's 20 pairs x 38 methods and on other counts; no database."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.export import splits

PAIRS = [f"pair{i:02d}" for i in range(20)]
METHODS = [f"fs{j:02d}" for j in range(35)] + ["real-a", "real-b", "real-c"]


def _grid(pairs, methods, copies=2):
    """Every (pair, method) cell `copies` times, as the videos' columns."""
    cells = [(p, m) for p, m in itertools.product(pairs, methods) for _ in range(copies)]
    return np.array([c[0] for c in cells], dtype=object), np.array([c[1] for c in cells], dtype=object)


def test_ten_paper_splits_are_disjoint_by_pair_and_method_and_cover_every_video():
    pairs, methods = _grid(PAIRS, METHODS)
    drawn = splits.splits_draw(pairs, methods, count=10, seed_base=7)
    assert [s.seed for s in drawn] == list(range(7, 17)) and [s.index for s in drawn] == list(range(10))
    for split in drawn:
        assert (len(split.train_pairs), len(split.held_out_pairs)) == (14, 6)
        assert (len(split.train_methods), len(split.held_out_methods)) == (27, 11)
        sets = split.sets(pairs, methods)
        membership = np.stack([sets[name] for name in splits.SETS])
        assert (membership.sum(axis=0) == 1).all()  # every video in exactly one set
        pairs_of = {name: set(pairs[mask]) for name, mask in sets.items()}
        methods_of = {name: set(methods[mask]) for name, mask in sets.items()}
        # Exactly as specified: train and test1 share methods, never pairs; train and test2 share pairs,
        # never methods; test3 shares neither with train.
        assert pairs_of["train"] == pairs_of["test2"] == set(split.train_pairs)
        assert pairs_of["test1"] == pairs_of["test3"] == set(split.held_out_pairs)
        assert methods_of["train"] == methods_of["test1"] == set(split.train_methods)
        assert methods_of["test2"] == methods_of["test3"] == set(split.held_out_methods)
        assert not set(split.train_pairs) & set(split.held_out_pairs)
        assert not set(split.train_methods) & set(split.held_out_methods)
        assert sets["train"].sum() == 14 * 27 * 2 and sets["test3"].sum() == 6 * 11 * 2
    # Ten different draws.
    assert len({(s.train_pairs, s.train_methods) for s in drawn}) == 10


def test_a_split_is_drawn_again_from_its_seed_whatever_the_order_of_the_videos():
    pairs, methods = _grid(PAIRS, METHODS, copies=1)
    order = np.random.default_rng(3).permutation(pairs.size)
    first = splits.split_draw(pairs, methods, index=4, seed=11, n_train_pairs=14, n_train_methods=27)
    again = splits.split_draw(pairs[order], methods[order], index=4, seed=11, n_train_pairs=14, n_train_methods=27)
    other = splits.split_draw(pairs, methods, index=4, seed=12, n_train_pairs=14, n_train_methods=27)
    assert first == again and first != other


@pytest.mark.parametrize(("total", "train", "of", "expected"), [
    (20, 14, 20, 14), (38, 27, 38, 27),  # the paper
    (4, 14, 20, 3), (10, 14, 20, 7), (5, 14, 20, 4),  # round(0.7 x pairs), halves up: 3.5 -> 4
    (6, 27, 38, 4), (2, 27, 38, 1), (2, 14, 20, 1),  # at least one held out
    (100, 27, 38, 71),
])
def test_training_counts_scale_the_paper_share(total, train, of, expected):
    assert splits.train_count(total, train=train, of=of) == expected


def test_counts_that_hold_nothing_out_are_refused():
    with pytest.raises(ValueError, match="at least two"):
        splits.train_count(1, train=14, of=20)
    with pytest.raises(ValueError, match="held out"):
        splits.split_draw(["a", "b"], ["x", "y"], index=0, seed=0, n_train_pairs=2, n_train_methods=1)
    with pytest.raises(ValueError, match="held out"):
        splits.split_draw(["a", "b"], ["x", "y"], index=0, seed=0, n_train_pairs=1, n_train_methods=0)


def test_videos_outside_the_split_groups_belong_to_no_set():
    split = splits.split_draw(["a", "b", "c"], ["x", "y"], index=0, seed=0, n_train_pairs=2, n_train_methods=1)
    sets = split.sets(np.array(["a", "zz", "b"], dtype=object), np.array(["x", "x", "nope"], dtype=object))
    assert [bool(np.stack(list(sets.values()))[:, i].any()) for i in range(3)] == [True, False, False]
