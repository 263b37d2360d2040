"""Which face crops of a video a method reads (its sampling policy), and reading them.

A policy is a short string, the same in a method's config, a cache key and a report:

    all                      every extracted crop, each a 1-frame clip
    even:N                   N crops evenly spread: the middle of each of N equal segments
    positions:0.25,0.5,0.75  the crop at each fraction of the video (0: first, 1: last; OPDAI's 3 frames)
    clips:LxK                K clips of L consecutive crops, their starts evenly spread (UNILJ: clips:5x10)

`frames_select` gives clips (lists of crop paths); a single-frame policy gives 1-frame clips. A video
with fewer crops than a policy asks for repeats crops rather than giving fewer, so every video of a
policy has the same number of frames (a batch can stack them). With a random generator (training),
`even:N` draws one crop at random inside each segment and `clips:LxK` one clip at a random start,
as a fresh view of the video per epoch; `all` and `positions` stay fixed.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from annotation.errors import ApplicationError

KINDS = ("all", "even", "positions", "clips")


@dataclass(frozen=True)
class SamplingPolicy:
    """A parsed policy: its kind, N for even, the fractions for positions, L and K for clips."""

    kind: str
    count: int = 0  # even: N; clips: K
    positions: tuple[float, ...] = ()
    clip_length: int = 1  # frames per clip (L); 1 for the single-frame policies

    @property
    def text(self) -> str:
        """The canonical spelling (what cache keys and reports use)."""
        if self.kind == "even":
            return f"even:{self.count}"
        if self.kind == "positions":
            return "positions:" + ",".join(f"{p:g}" for p in self.positions)
        if self.kind == "clips":
            return f"clips:{self.clip_length}x{self.count}"
        return "all"

    def __str__(self) -> str:
        return self.text


def _bad(policy: str, why: str) -> ApplicationError:
    return ApplicationError("bad_policy", f"Sampling policy {policy!r}: {why}. Use all, even:N, positions:0.25,0.5,0.75 or clips:LxK.")


def policy_parse(policy: str | SamplingPolicy) -> SamplingPolicy:
    """A policy string parsed (a SamplingPolicy is returned as it is); ApplicationError("bad_policy") otherwise."""
    if isinstance(policy, SamplingPolicy):
        return policy
    text = re.sub(r"\s+", "", str(policy)).lower()
    kind, _, arg = text.partition(":")
    if kind == "all" and not arg:
        return SamplingPolicy("all")
    if kind == "even":
        if not arg.isdigit() or int(arg) < 1:
            raise _bad(policy, "N must be a whole number of at least 1")
        return SamplingPolicy("even", count=int(arg))
    if kind == "positions":
        try:
            positions = tuple(float(p) for p in arg.split(","))
        except ValueError:
            raise _bad(policy, "the positions must be numbers") from None
        if not all(0 <= p <= 1 for p in positions):
            raise _bad(policy, "each position is a fraction of the video, from 0 to 1")
        return SamplingPolicy("positions", positions=positions)
    if kind == "clips":
        match = re.fullmatch(r"(\d+)x(\d+)", arg)
        if not match or min(int(match[1]), int(match[2])) < 1:
            raise _bad(policy, "write L x K as clips:5x10 (10 clips of 5 consecutive crops)")
        return SamplingPolicy("clips", count=int(match[2]), clip_length=int(match[1]))
    raise _bad(policy, "unknown kind")


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def frame_indices(n: int, policy: str | SamplingPolicy, rng: np.random.Generator | None = None) -> list[list[int]]:
    """The crop indices (0 .. n-1) of each clip a policy takes from a video of n crops; `rng`: a training draw."""
    policy = policy_parse(policy)
    if n < 1:
        raise ApplicationError("no_frames", "The video has no face crops to sample from.")
    if policy.kind == "all":
        return [[i] for i in range(n)]
    if policy.kind == "positions":
        return [[min(n - 1, _round(p * (n - 1)))] for p in policy.positions]
    if policy.kind == "even":
        m = policy.count
        if rng is None:
            return [[min(n - 1, math.floor((i + 0.5) * n / m))] for i in range(m)]
        clips = []
        for i in range(m):
            lo, hi = math.floor(i * n / m), math.floor((i + 1) * n / m)
            clips.append([int(rng.integers(lo, hi)) if hi > lo else min(n - 1, math.floor((i + 0.5) * n / m))])
        return clips
    length, k = policy.clip_length, policy.count
    last_start = max(0, n - length)
    if rng is not None:
        starts = [int(rng.integers(0, last_start + 1))]
    elif k == 1:
        starts = [last_start // 2]
    else:
        starts = [_round(j * last_start / (k - 1)) for j in range(k)]
    return [[min(n - 1, s + j) for j in range(length)] for s in starts]


def frames_select(paths: Sequence[Path], policy: str | SamplingPolicy, *, rng: np.random.Generator | None = None) -> list[list[Path]]:
    """The clips (lists of crop paths, in frame order) a policy takes from a video's crops."""
    paths = list(paths)
    return [[paths[i] for i in clip] for clip in frame_indices(len(paths), policy, rng)]


def crops_load(paths: Sequence[Path], size: int | None = None) -> np.ndarray:
    """Crops as uint8 RGB, N x H x W x 3; resized to size x size when `size` is given (area filter
    when shrinking, bilinear when enlarging). Without `size` the crops must share one size."""
    images = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ApplicationError("bad_crop", f"{path} is not a readable image: extract the frames again.")
        if size is not None and image.shape[:2] != (size, size):
            shrink = image.shape[0] > size or image.shape[1] > size
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if not images:
        return np.zeros((0, size or 0, size or 0, 3), np.uint8)
    if len({im.shape for im in images}) > 1:
        raise ApplicationError("crop_sizes_differ", "The crops have different sizes; load them with a size to resize them to.")
    return np.stack(images)
