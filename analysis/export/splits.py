"""The modelling splits of the DREAM paper (section V-A, Fig. 10) over identity pairs and methods; no Django.

One split chooses the training identity pairs and the training methods; every video that has an
identity pair and a method falls in exactly one of four sets:

    train  = train pairs    x train methods
    test1  = held-out pairs x train methods
    test2  = train pairs    x held-out methods
    test3  = held-out pairs x held-out methods

The paper trains on 14 of its 20 pairs and 27 of its 38 methods (35 face-swap methods and 3 kinds
of real video, which count as methods of their own) and repeats the draw ten times with different
seeds. A campaign with other counts trains on round(0.7 x pairs) pairs and round(27/38 x methods)
methods (halves round up), keeping at least one of each in training and at least one held out.
Split k is drawn with seed `seed_base + k`, so a split can be drawn again from its recorded seed.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SETS = ("train", "test1", "test2", "test3")
PAPER_PAIRS, PAPER_TRAIN_PAIRS = 20, 14
PAPER_METHODS, PAPER_TRAIN_METHODS = 38, 27


def train_count(total: int, *, train: int, of: int) -> int:
    """How many of `total` groups train when the paper trains on `train` of `of`: round half up, 1..total-1.

    Raises ValueError when there are fewer than two groups (nothing could be held out).
    """
    if total < 2:
        raise ValueError(f"a split needs at least two groups to hold one out, got {total}")
    return min(total - 1, max(1, math.floor(total * train / of + 0.5)))


@dataclass(frozen=True)
class Split:
    """One draw: its number, its seed and the pairs and methods on each side (each sorted)."""

    index: int
    seed: int
    train_pairs: tuple[str, ...]
    held_out_pairs: tuple[str, ...]
    train_methods: tuple[str, ...]
    held_out_methods: tuple[str, ...]

    def sets(self, pairs: Sequence[str] | np.ndarray, methods: Sequence[str] | np.ndarray) -> dict[str, np.ndarray]:
        """For videos with these identity pairs and methods, a boolean mask per set of SETS.

        Every video whose pair and method are both among the split's belongs to exactly one set;
        any other video to none.
        """
        pair_train = np.isin(np.asarray(pairs, dtype=object), self.train_pairs)
        pair_out = np.isin(np.asarray(pairs, dtype=object), self.held_out_pairs)
        method_train = np.isin(np.asarray(methods, dtype=object), self.train_methods)
        method_out = np.isin(np.asarray(methods, dtype=object), self.held_out_methods)
        return {
            "train": pair_train & method_train,
            "test1": pair_out & method_train,
            "test2": pair_train & method_out,
            "test3": pair_out & method_out,
        }

    def as_dict(self) -> dict:
        return {
            "split": self.index, "seed": self.seed,
            "train_pairs": list(self.train_pairs), "held_out_pairs": list(self.held_out_pairs),
            "train_methods": list(self.train_methods), "held_out_methods": list(self.held_out_methods),
        }


def _chosen(groups: tuple[str, ...], n_train: int, rng: np.random.Generator) -> tuple[tuple[str, ...], tuple[str, ...]]:
    picked = set(rng.permutation(len(groups))[:n_train].tolist())
    return tuple(g for i, g in enumerate(groups) if i in picked), tuple(g for i, g in enumerate(groups) if i not in picked)


def split_draw(
    pairs: Sequence[str], methods: Sequence[str], *, index: int, seed: int, n_train_pairs: int, n_train_methods: int
) -> Split:
    """Split `index`: `n_train_pairs` of the distinct `pairs` and `n_train_methods` of the distinct `methods`, drawn with `seed`.

    Returns the Split. The draw depends only on the seed and the sorted distinct names, so the
    same campaign and seed give the same split. Raises ValueError when a count leaves no group
    on either side.
    """
    pair_names, method_names = tuple(sorted(set(pairs))), tuple(sorted(set(methods)))
    for what, n, names in (("pairs", n_train_pairs, pair_names), ("methods", n_train_methods, method_names)):
        if not 1 <= n < len(names):
            raise ValueError(f"cannot train on {n} of {len(names)} {what}: at least one must train and one be held out")
    rng = np.random.default_rng(seed)
    train_pairs, held_out_pairs = _chosen(pair_names, n_train_pairs, rng)
    train_methods, held_out_methods = _chosen(method_names, n_train_methods, rng)
    return Split(index, seed, train_pairs, held_out_pairs, train_methods, held_out_methods)


def splits_draw(
    pairs: Sequence[str],
    methods: Sequence[str],
    *,
    count: int = 10,
    seed_base: int = 0,
    n_train_pairs: int | None = None,
    n_train_methods: int | None = None,
) -> list[Split]:
    """`count` splits, split k drawn with seed `seed_base + k`; counts default to the paper's shares (train_count)."""
    distinct_pairs, distinct_methods = len(set(pairs)), len(set(methods))
    if n_train_pairs is None:
        n_train_pairs = train_count(distinct_pairs, train=PAPER_TRAIN_PAIRS, of=PAPER_PAIRS)
    if n_train_methods is None:
        n_train_methods = train_count(distinct_methods, train=PAPER_TRAIN_METHODS, of=PAPER_METHODS)
    return [
        split_draw(pairs, methods, index=k, seed=seed_base + k, n_train_pairs=n_train_pairs, n_train_methods=n_train_methods)
        for k in range(count)
    ]
