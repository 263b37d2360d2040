"""One of every n frames, decoded by ffmpeg's select filter: the right count and exactly the frames a plain decode gives."""
from __future__ import annotations

import math
import os
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from django.conf import settings

from annotation import media
from modeling.frames.sampling import sampled_frames

from .conftest import frame_count


@pytest.fixture(scope="module")
def pattern_clip(prepared_videos) -> Path:
    """A test-pattern clip as the platform stores it (transcoded; 160x96, 25 frames)."""
    return Path(settings.MEDIA_ROOT) / prepared_videos[0].video_name


def reference_frames(path: Path, width: int, height: int) -> list[np.ndarray]:
    """Every frame of the video, read by imageio-ffmpeg's reader (not the code under test)."""
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="bgr24")
    next(reader)  # its first item is the stream's metadata
    return [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]


@pytest.mark.parametrize("step", [6, 1, 7])
def test_every_step_th_frame_exactly(pattern_clip, face_clips, step):
    for path in (pattern_clip, face_clips[0]):
        info = media.probe(path)
        taken = list(sampled_frames(path, step=step))
        n = frame_count(path)
        assert len(taken) == math.ceil(n / step) and [i for i, _ in taken] == list(range(0, n, step))
        everything = reference_frames(path, info.width, info.height)
        assert len(everything) == n
        for index, frame in taken:
            assert frame.shape == (info.height, info.width, 3) and frame.dtype == np.uint8
            assert np.array_equal(frame, everything[index]), f"frame {index} of {path.name} differs"


def test_a_file_that_is_no_video_is_a_media_error(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    with pytest.raises(media.MediaError) as failed:
        list(sampled_frames(fake, step=6))
    assert failed.value.code == media.NOT_VIDEO


def test_a_truncated_video_is_a_media_error(face_clips, tmp_path):
    cut = tmp_path / "cut.mp4"
    data = face_clips[0].read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(media.MediaError):
        list(sampled_frames(cut, step=6))


def _children() -> set[int]:
    """The ids of this process's live child processes (Linux /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            children.add(int(stat.parent.name))
    return children


def test_stopping_early_ends_ffmpeg(face_clips):
    before = _children()
    frames = sampled_frames(face_clips[0], step=6)
    next(frames)
    assert _children() - before, "ffmpeg runs while frames are read"
    frames.close()  # the generator's cleanup kills ffmpeg rather than leaving it blocked on the pipe
    assert not _children() - before


def test_step_must_be_positive(face_clips):
    with pytest.raises(ValueError):
        list(sampled_frames(face_clips[0], step=0))
