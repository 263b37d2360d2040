"""Sampling policies pick the right crops; crops load as RGB."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from annotation.errors import ApplicationError
from modeling.data.sampling import crops_load, frame_indices, frames_select, policy_parse


def flat(clips):
    return [i for clip in clips for i in clip]


def test_deterministic_policies_pick_the_right_frames():
    assert frame_indices(4, "all") == [[0], [1], [2], [3]]
    assert flat(frame_indices(10, "even:5")) == [1, 3, 5, 7, 9]
    assert flat(frame_indices(7, "even:7")) == list(range(7))
    assert flat(frame_indices(3, "even:5")) == [0, 0, 1, 2, 2]  # fewer crops than asked: repeated, never fewer
    assert flat(frame_indices(1, "even:1")) == [0]
    assert flat(frame_indices(9, "positions:0.25,0.5,0.75")) == [2, 4, 6]
    assert flat(frame_indices(10, "positions:0,1")) == [0, 9]
    assert frame_indices(20, "clips:5x3") == [[0, 1, 2, 3, 4], [8, 9, 10, 11, 12], [15, 16, 17, 18, 19]]
    assert frame_indices(9, "clips:4x1") == [[2, 3, 4, 5]]
    assert frame_indices(3, "clips:5x2") == [[0, 1, 2, 2, 2]] * 2


def test_training_draws_stay_inside_their_segments_and_clips_stay_consecutive():
    draws = [flat(frame_indices(20, "even:4", np.random.default_rng(s))) for s in range(50)]
    for d in draws:
        assert all(5 * i <= x < 5 * (i + 1) for i, x in enumerate(d))
    assert len({tuple(d) for d in draws}) > 10
    assert draws[0] == flat(frame_indices(20, "even:4", np.random.default_rng(0)))  # same seed, same draw
    clips = [frame_indices(20, "clips:5x10", np.random.default_rng(s)) for s in range(30)]
    assert all(len(c) == 1 and c[0] == list(range(c[0][0], c[0][0] + 5)) and 0 <= c[0][0] <= 15 for c in clips)
    assert len({c[0][0] for c in clips}) > 5
    assert frame_indices(9, "positions:0.25,0.5,0.75", np.random.default_rng(1)) == [[2], [4], [6]]


def test_frames_select_returns_clips_of_paths(tiny_crops):
    paths = tiny_crops["vid_a"]
    assert frames_select(paths, "positions:0.5") == [[paths[6]]]
    assert frames_select(paths, "clips:2x2") == [paths[0:2], paths[10:12]]


@pytest.mark.parametrize("bad", ["", "even:0", "even:x", "positions:0.5,1.5", "positions:a", "clips:5", "clips:0x3", "every:3", "all:2"])
def test_bad_policies_are_refused(bad):
    with pytest.raises(ApplicationError) as exc:
        policy_parse(bad)
    assert exc.value.code == "bad_policy"


def test_the_canonical_spelling():
    assert policy_parse(" Positions: 0.25, 0.50 ,0.75").text == "positions:0.25,0.5,0.75"
    assert policy_parse("clips:5x10").clip_length == 5 and policy_parse("clips:5x10").count == 10
    assert policy_parse("even:20").text == "even:20" and policy_parse("all").clip_length == 1


def test_crops_load_gives_rgb_and_resizes(tmp_path):
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = 200
    Image.fromarray(red).save(tmp_path / "a.png")  # PIL writes RGB
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(tmp_path / "b.jpg")
    images = crops_load([tmp_path / "a.png", tmp_path / "b.jpg"])
    assert images.shape == (2, 40, 40, 3) and images.dtype == np.uint8
    assert (images[0] == [200, 0, 0]).all() and abs(int(images[1].mean()) - 90) <= 1
    assert crops_load([tmp_path / "a.png"], size=24).shape == (1, 24, 24, 3)
    Image.fromarray(red[:20]).save(tmp_path / "c.png")
    with pytest.raises(ApplicationError):
        crops_load([tmp_path / "a.png", tmp_path / "c.png"])
    assert crops_load([tmp_path / "a.png", tmp_path / "c.png"], size=16).shape == (2, 16, 16, 3)
