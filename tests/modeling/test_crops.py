"""The crop geometry against squares worked out by hand: margin, clamping at every edge, frames smaller than the square, fallbacks."""
from __future__ import annotations

import numpy as np
import pytest

from modeling.frames.crops import CropSource, Square, centre_square, crop_choose, square_around
from modeling.frames.extract import crop_square


def test_a_square_with_margin_around_a_box_inside_the_frame():
    # Longer side 60, a quarter of it on each side: 90; centre (120, 80) -> corner (75, 35).
    assert square_around((100, 50, 40, 60), margin=0.25, frame_width=640, frame_height=360) == Square(75, 35, 90)
    # No margin: the longer side 50 around the centre (25, 45).
    assert square_around((10, 20, 30, 50), margin=0.0, frame_width=640, frame_height=360) == Square(0, 20, 50)


@pytest.mark.parametrize(("box", "margin", "frame", "expected"), [
    # Left edge: side 80 around (20, 120) would start at x -20; moved to 0, y stays 80.
    ((0, 100, 40, 40), 0.5, (640, 360), Square(0, 80, 80)),
    # A box cut by the edge (YuNet reports a negative x): side 60 around (10, 70), moved to x 0.
    ((-10, 50, 40, 40), 0.25, (640, 360), Square(0, 40, 60)),
    # Bottom right: side 60 around (620, 345) would end past 640 and 360; moved to (580, 300).
    ((600, 330, 40, 30), 0.25, (640, 360), Square(580, 300, 60)),
    # Top: side 40 around (50, 5) would start at y -15.
    ((40, 0, 20, 10), 0.5, (640, 360), Square(30, 0, 40)),
])
def test_a_square_leaving_the_frame_is_moved_back_whole(box, margin, frame, expected):
    assert square_around(box, margin=margin, frame_width=frame[0], frame_height=frame[1]) == expected


def test_a_square_larger_than_the_frame_shrinks_to_its_shorter_side():
    # 300 * 1.5 = 450 > 240: side 240 around (160, 160): x 40, y 160 - 120 = 40 moved to 0.
    assert square_around((10, 10, 300, 300), margin=0.25, frame_width=320, frame_height=240) == Square(40, 0, 240)


def test_bad_boxes_and_margins_are_refused():
    with pytest.raises(ValueError, match="margin"):
        square_around((0, 0, 10, 10), margin=-0.1, frame_width=100, frame_height=100)
    with pytest.raises(ValueError, match="positive width"):
        square_around((0, 0, 0, 10), margin=0.1, frame_width=100, frame_height=100)


def test_centre_square_is_the_largest_middle_square():
    assert centre_square(frame_width=640, frame_height=360) == Square(140, 0, 360)
    assert centre_square(frame_width=96, frame_height=160) == Square(0, 32, 96)
    assert centre_square(frame_width=50, frame_height=50) == Square(0, 0, 50)


def test_crop_choose_prefers_the_frame_then_the_previous_box_then_the_centre():
    this, before = (1, 2, 3, 4), (5, 6, 7, 8)
    assert crop_choose(this, before) == (this, CropSource.DETECTED)
    assert crop_choose(this, None) == (this, CropSource.DETECTED)
    assert crop_choose(None, before) == (before, CropSource.PREVIOUS_BOX)
    assert crop_choose(None, None) == (None, CropSource.CENTRE)


def test_crop_square_takes_exactly_the_squares_pixels():
    # Every pixel holds its own coordinates, so the crop says where it came from.
    rows, cols = np.mgrid[0:120, 0:200]
    frame = np.stack([rows, cols, np.zeros_like(rows)], axis=-1).astype(np.uint8)
    crop = crop_square(frame, Square(x=30, y=10, side=64), 64)
    assert crop.shape == (64, 64, 3)
    assert crop[0, 0].tolist() == [10, 30, 0] and crop[63, 63].tolist() == [73, 93, 0]
    assert crop_square(frame, Square(x=30, y=10, side=64), 32).shape == (32, 32, 3)
    assert crop_square(frame, Square(x=30, y=10, side=64), 224).shape == (224, 224, 3)
