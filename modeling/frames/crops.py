"""The geometry of a face crop: a square around a face box with a margin, kept inside the frame, and its fallbacks.

Pure arithmetic on pixel coordinates, no image and no detector. A box is (x, y, w, h) with (x, y)
its top-left corner; a crop is a `Square`. The square is moved, not cut, where it would leave
the frame, so every crop is a true square of the frame's own pixels (no padding: black borders
would be an artifact a realism model could learn), and shrunk only when the frame is narrower.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

Box = tuple[float, float, float, float]


class CropSource(str, Enum):
    """Where a frame's crop came from: its own detection, the last detection before it, or the frame's centre."""

    DETECTED = "detected"
    PREVIOUS_BOX = "previous_box"
    CENTRE = "centre"


@dataclass(frozen=True)
class Square:
    """A square of the frame in whole pixels: columns x .. x + side - 1, rows y .. y + side - 1."""

    x: int
    y: int
    side: int


def square_around(box: Box, *, margin: float, frame_width: int, frame_height: int) -> Square:
    """The square centred on `box` whose side is its longer side plus `margin` of it on each side
    (margin 0.25: 1.5 times the longer side), moved to lie inside the frame and no larger than it."""
    if margin < 0:
        raise ValueError("margin must not be negative")
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise ValueError(f"a face box needs a positive width and height, got {box}")
    side = max(1, min(round(max(w, h) * (1 + 2 * margin)), frame_width, frame_height))
    return Square(
        x=_clamp(round(x + w / 2 - side / 2), 0, frame_width - side),
        y=_clamp(round(y + h / 2 - side / 2), 0, frame_height - side),
        side=side,
    )


def centre_square(*, frame_width: int, frame_height: int) -> Square:
    """The largest square in the middle of the frame: the crop of a frame without any face box."""
    side = min(frame_width, frame_height)
    return Square(x=(frame_width - side) // 2, y=(frame_height - side) // 2, side=side)


def crop_choose(detected: Box | None, previous: Box | None) -> tuple[Box | None, CropSource]:
    """The box to crop around and where it came from: this frame's face, else the video's last
    detected face (a face missed for a frame has rarely moved far), else none (the centre)."""
    if detected is not None:
        return detected, CropSource.DETECTED
    if previous is not None:
        return previous, CropSource.PREVIOUS_BOX
    return None, CropSource.CENTRE


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
