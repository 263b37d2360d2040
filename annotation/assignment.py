"""Pure rules of assignment: which regular videos a new session gets and in what order it shows them."""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence


def pick_least_rated(loads: Mapping[int, int], k: int, target: int, rng: random.Random) -> list[int]:
    """Up to `k` video ids with the fewest ratings, random among ties, never one already at `target`.

    `loads` maps each candidate video to its ratings so far, counting sessions still in progress, so
    that two open sessions do not both fill the same gap.
    """
    open_videos = [video for video, load in loads.items() if load < target]
    # A random key before the stable sort breaks ties at random, whatever order the caller gives.
    rng.shuffle(open_videos)
    open_videos.sort(key=loads.__getitem__)
    return open_videos[:k]


def pick_checkers(candidates: Iterable[int], k: int, rng: random.Random) -> list[int]:
    """`k` checker videos at random (checkers have no target: every session needs its own)."""
    pool = sorted(candidates)
    return rng.sample(pool, min(k, len(pool)))


def shuffled(video_ids: Sequence[int], rng: random.Random) -> list[int]:
    """A new list of `video_ids` in random order (the order an attempt shows them)."""
    order = list(video_ids)
    rng.shuffle(order)
    return order
