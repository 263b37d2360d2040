"""Hand-crafted video features cached on disk, keyed by the feature version and the video's crop files.

Ten splits, and a benchmark of several methods, read the same videos: a video's feature vector is
computed once and stored under cache_root/handcrafted/<key>.npy, where key is the SHA-256 of
(FEATURES_VERSION, the sampled crops' folder names, file names and byte sizes, sorted). A
re-extracted video (other crops, other sizes), another sampling policy (other files) or a change to
the features (a new FEATURES_VERSION) gets a new key, so nothing stale is read; old files stay until
the folder is removed. The same idea as the frozen-backbone cache (modeling.data.cache), whose key
adds the backbone and its weights; the two may share one key function when both are merged.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from annotation.errors import ApplicationError
from modeling.data.sampling import crops_load, frames_select

from .handcrafted import FEATURE_NAMES, FEATURES_VERSION, video_features

CACHE_FOLDER = "handcrafted"

# modeling.methods.base's FrameSource and Progress, spelt out: the methods import this module.
FrameSource = Callable[[str], Sequence[Path]]
Progress = Callable[[str, int, int], None]


def crops_key(paths: Sequence[Path]) -> str:
    """The cache key of one video's sampled crops under the current FEATURES_VERSION."""
    files = sorted((p.parent.name, p.name, p.stat().st_size) for p in map(Path, paths))
    blob = json.dumps({"features_version": FEATURES_VERSION, "files": files}, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def sampled_crops(frames: FrameSource, video: str, policy: str) -> list[Path]:
    """The crops of `video` that `policy` selects, in frame order (clips laid end to end)."""
    return [path for clip in frames_select(list(frames(video)), policy) for path in clip]


def video_features_cached(paths: Sequence[Path], cache_root: Path | None) -> np.ndarray:
    """video_features of these crops, read from cache_root when computed before (no cache when None)."""
    if not paths:
        raise ValueError("a video needs at least one crop")
    if cache_root is None:
        return video_features(crops_load(paths))
    file = Path(cache_root) / CACHE_FOLDER / f"{crops_key(paths)}.npy"
    if file.is_file():
        cached = np.load(file, allow_pickle=False)
        if cached.shape == (len(FEATURE_NAMES),):
            return cached
    vector = video_features(crops_load(paths))
    file.parent.mkdir(parents=True, exist_ok=True)
    # Written beside its final name and renamed: a reader (another split's job) sees all or nothing.
    fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".npy.tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.save(out, vector, allow_pickle=False)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return vector


def handcrafted_cached(frames: FrameSource, ids: Sequence[str], *, policy: str, cache_root: Path | None,
                       progress: Progress | None = None) -> np.ndarray:
    """The feature matrix (videos x FEATURE_NAMES, float64) of `ids` in their order, cached per video."""
    rows = []
    for done, video in enumerate(ids):
        paths = sampled_crops(frames, video, policy)
        if not paths:
            raise ApplicationError("no_crops", f"Video {video} has no face crops (frame policy {policy!r}): "
                                   "run extract_frames on the export first.")
        rows.append(video_features_cached(paths, cache_root))
        if progress is not None:
            progress("nss features", done + 1, len(ids))
    return np.stack(rows) if rows else np.zeros((0, len(FEATURE_NAMES)))
