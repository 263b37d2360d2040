"""Synthetic natural-looking crops for the hand-crafted feature and SVR tests: 1/f noise, blurred or noisy."""
from __future__ import annotations

import cv2
import numpy as np


def pink_image(size: int, seed: int) -> np.ndarray:
    """A size x size grey image (float64, about 20-235) whose spectrum falls as 1/f, as natural images' does."""
    rng = np.random.default_rng(seed)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size)))
    f[0, 0] = 1.0
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) / f))
    field = (field - field.mean()) / field.std()
    return np.clip(128 + 40 * field, 0, 255)


def degrade(image: np.ndarray, *, blur: float = 0.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """`image` Gaussian-blurred with sigma `blur` and given white noise of std `noise`, as uint8 RGB."""
    out = cv2.GaussianBlur(image, (0, 0), blur, borderType=cv2.BORDER_REFLECT_101) if blur > 0 else image
    out = out + np.random.default_rng(seed).normal(0, noise, out.shape) if noise > 0 else out
    grey = np.clip(np.round(out), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)
