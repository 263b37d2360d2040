"""Hand-crafted video features cached on disk, by the frozen-backbone cache's rules, in a folder of their own.

Ten splits, and a benchmark of several methods, read the same videos: a video's feature vector is
computed once and kept as

    cache_root/handcrafted/<key>/key.json                          what the key hashes
    cache_root/handcrafted/<key>/<video>-<frame-set digest>.npy    the vector (FEATURE_NAMES, float64)

where key is the SHA-256 of FEATURES_VERSION and the sampling policy, and the frame-set digest that
of the video id and its crops' file names and byte sizes: modeling.data.cache's key folder, entry
path and atomic write, so the two caches follow one rule. A re-extracted video (other crops, other
sizes), another policy or a change to the features (a new FEATURES_VERSION) is another file, so
nothing stale is read; old files stay until the folder is removed.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from annotation.errors import ApplicationError
from modeling.data.cache import array_save, entry_path, fields_key, key_folder
from modeling.data.sampling import crops_load, frames_select, policy_parse
from modeling.data.sources import FrameSource, Progress

from .handcrafted import FEATURE_NAMES, FEATURES_VERSION, video_features

CACHE_FOLDER = "handcrafted"


def features_folder(cache_root: str | os.PathLike[str], policy: str) -> Path:
    """The folder of the current FEATURES_VERSION's vectors of `policy` under cache_root (made if missing)."""
    fields = {"features": CACHE_FOLDER, "features_version": FEATURES_VERSION, "policy": policy_parse(policy).text}
    return key_folder(Path(cache_root) / CACHE_FOLDER, fields_key(fields), fields)


def cache_entry(cache_root: str | os.PathLike[str], video: str, crops: Sequence[Path], policy: str) -> Path:
    """Where the vector of `video` (all its crops, `crops`) under `policy` is cached."""
    return entry_path(features_folder(cache_root, policy), video, crops)


def handcrafted_cached(frames: FrameSource, ids: Sequence[str], *, policy: str, cache_root: str | os.PathLike[str] | None,
                       progress: Progress | None = None) -> np.ndarray:
    """The feature matrix (videos x FEATURE_NAMES, float64) of `ids` in their order, cached per video
    (no cache when cache_root is None)."""
    folder = features_folder(cache_root, policy) if cache_root is not None else None
    rows = []
    for done, video in enumerate(ids):
        crops = list(frames(video))
        if not crops:
            raise ApplicationError("no_crops", f"Video {video} has no face crops (frame policy {policy!r}): "
                                   "run extract_frames on the export first.")
        selected = [path for clip in frames_select(crops, policy) for path in clip]
        rows.append(_vector(selected, entry_path(folder, video, crops) if folder is not None else None))
        if progress is not None:
            progress("nss features", done + 1, len(ids))
    return np.stack(rows) if rows else np.zeros((0, len(FEATURE_NAMES)))


def _vector(selected: Sequence[Path], entry: Path | None) -> np.ndarray:
    """video_features of the selected crops: read from `entry` when it holds them, else computed (and kept there)."""
    if entry is not None and entry.is_file():
        cached = np.load(entry, allow_pickle=False)
        if cached.shape == (len(FEATURE_NAMES),):
            return cached
    vector = video_features(crops_load(selected))
    if entry is not None:
        array_save(entry, vector)
    return vector
