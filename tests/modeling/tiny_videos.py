"""Tiny videos for the trainer tests: folders of 32-px face-crop PNGs whose MOS shows in the pixels.

Video k of n has MOS 1 + 4 k / (n - 1) and frames whose brightness rises with it (plus seeded
noise and a left-right gradient, so a horizontal flip changes the image), so a model can learn
the MOS in a few steps and a test can tell learning from chance.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 32


def crops_write(folder: Path, levels: Sequence[float], rng: np.random.Generator, size: int = SIZE) -> list[Path]:
    """One video's crops under `folder`, one per brightness level: size x size RGB PNGs named by frame
    index as extract_frames names them, the level plus a left-right ramp of +-30 and noise (sd 12) from
    `rng`. A file already there is kept (and draws nothing). Returns the paths in frame order."""
    folder.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(-30, 30, size)[None, :, None]
    paths = []
    for f, level in enumerate(levels):
        path = folder / f"{f:06d}.png"
        if not path.exists():
            pixels = level + ramp + rng.normal(0, 12, (size, size, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def tiny_videos(root: Path, n: int = 12, frames: int = 12, seed: int = 0) -> tuple[dict[str, float], callable]:
    """Write n videos of `frames` crops under root; returns ({video id: MOS}, FrameSource)."""
    rng = np.random.default_rng(seed)
    mos = {}
    for k in range(n):
        video = f"v{k:02d}"
        mos[video] = 1 + 4 * k / (n - 1)
        crops_write(root / video, [50 + 150 * k / (n - 1)] * frames, rng)

    def frames_of(video: str) -> list[Path]:
        return sorted((root / video).glob("*.png"))

    return mos, frames_of
