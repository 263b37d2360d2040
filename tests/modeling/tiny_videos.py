"""Tiny videos for the trainer tests: folders of 32-px face-crop PNGs whose MOS shows in the pixels.

Video k of n has MOS 1 + 4 k / (n - 1) and frames whose brightness rises with it (plus seeded
noise and a left-right gradient, so a horizontal flip changes the image), so a model can learn
the MOS in a few steps and a test can tell learning from chance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 32


def tiny_videos(root: Path, n: int = 12, frames: int = 12, seed: int = 0) -> tuple[dict[str, float], callable]:
    """Write n videos of `frames` crops under root; returns ({video id: MOS}, FrameSource)."""
    rng = np.random.default_rng(seed)
    mos = {}
    ramp = np.linspace(-30, 30, SIZE)[None, :, None]
    for k in range(n):
        video = f"v{k:02d}"
        folder = root / video
        folder.mkdir(parents=True, exist_ok=True)
        mos[video] = 1 + 4 * k / (n - 1)
        for f in range(frames):
            path = folder / f"{f:06d}.png"
            if not path.exists():
                level = 50 + 150 * k / (n - 1)
                pixels = level + ramp + rng.normal(0, 12, (SIZE, SIZE, 3))
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path)

    def frames_of(video: str) -> list[Path]:
        return sorted((root / video).glob("*.png"))

    return mos, frames_of
