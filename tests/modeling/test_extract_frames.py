"""`manage.py extract_frames` on an export-shaped folder of real clips: counts, crop sizes, fallbacks, manifest, resuming."""
from __future__ import annotations

import csv
import hashlib
import json
import math
import shutil
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from demo.swaps import ClipSpec, render_clip
from modeling.frames.extract import FrameSettings, export_frames_extract
from tests.conftest import TEST_VAR

from .conftest import encode, frame_count

PATTERNS = 3  # test patterns without faces, 160x96, 25 frames


@pytest.fixture(scope="session")
def fallback_clip() -> Path:
    """36 frames: 12 empty, 12 of a face, 12 empty. One of every 6 takes frames 0 and 6 (no face
    yet: centre), 12 and 18 (the face) and 24 and 30 (no face: the previous box). "Empty" is a
    colour ramp, so that crops of different squares of it differ."""
    path = TEST_VAR / "modeling-clips" / "fallback_ramp_12_12_12.mp4"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        spec = ClipSpec(name="f.mp4", target=2, source=None, strengths={}, take_seed=5, artifact_seed=0, identity_seed=7,
                        seconds=0.48)
        face = list(render_clip(spec))
        rows, cols = np.mgrid[0:360, 0:640]
        empty = np.stack([cols * 255 // 639, rows * 255 // 359, np.full_like(rows, 128)], axis=-1).astype(np.uint8)
        encode([empty] * 12 + face[:12] + [empty] * 12, path)
    return path


def _name(path: Path) -> str:
    # Named like the export names videos: "v" and 16 hex digits, nothing of the source's name.
    return "v" + hashlib.sha256(path.name.encode()).hexdigest()[:16]


@pytest.fixture
def export(tmp_path, prepared_videos, face_clips, fallback_clip) -> dict:
    """An export folder as the dataset export writes it with videos: videos.csv (`file` column),
    videos/<name>.mp4, and its own manifest.json; returns the folder and the names by kind."""
    folder = tmp_path / "export"
    (folder / "videos").mkdir(parents=True)
    patterns = [Path(settings.MEDIA_ROOT) / p.video_name for p in prepared_videos[:PATTERNS]]
    kinds = {"pattern": patterns, "face": face_clips, "fallback": [fallback_clip]}
    names = {}
    for kind, paths in kinds.items():
        for path in paths:
            names[_name(path)] = kind
            shutil.copy(path, folder / "videos" / f"{_name(path)}.mp4")
    with open(folder / "videos.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "file", "mos"])
        writer.writerows([name, f"{name}.mp4", 3.0] for name in names)
    (folder / "manifest.json").write_text('{"made_by": "the dataset export"}')
    return {"dir": folder, "names": names}


def _crops(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".png")


def test_every_video_gets_one_crop_of_every_6_frames_at_the_set_size(export, capsys):
    folder = export["dir"]
    call_command("extract_frames", str(folder), "--workers", "2", "--size", "96")
    manifest = json.loads((folder / "frames" / "manifest.json").read_text())
    assert manifest["settings"] == {"detector": "yunet", "detector_version": "yuface 2023.5.1", "size": 96, "margin": 0.25,
                                    "step": 6, "image_format": "png"}
    assert manifest["detector"] == {"name": "yunet", "version": "yuface 2023.5.1"} and manifest["failed"] == {}
    assert set(manifest["videos"]) == set(export["names"])
    for name, kind in export["names"].items():
        n = frame_count(folder / "videos" / f"{name}.mp4")
        crops = _crops(folder / "frames" / name)
        assert [p.name for p in crops] == [f"{i:06d}.png" for i in range(0, n, 6)]
        assert len(crops) == math.ceil(n / 6)
        assert all(cv2.imread(str(p)).shape == (96, 96, 3) for p in crops)
        counts = manifest["videos"][name]
        assert counts["frames"] == len(crops) == counts["detected"] + counts["previous_box"] + counts["centre"]
        if kind == "pattern":  # no face in a test pattern: all centre crops
            assert (counts["detected"], counts["centre"]) == (0, len(crops))
        elif kind == "face":
            assert counts["detected"] >= 0.8 * len(crops)
        else:
            assert (counts["centre"], counts["detected"], counts["previous_box"]) == (2, 2, 2)
    totals = manifest["totals"]
    assert totals["frames"] == sum(v["frames"] for v in manifest["videos"].values())
    assert totals["detection_rate"] == totals["detected"] / totals["frames"]
    assert (folder / "manifest.json").read_text() == '{"made_by": "the dataset export"}', "the export's manifest is its own"
    out = capsys.readouterr().out
    assert f"{len(export['names'])} video(s) made, 0 already complete" in out and "face detected in" in out


def _frames(path: Path, width: int, height: int) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="bgr24")
    next(reader)  # the stream's metadata
    return [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]


def _centre_crop(frame: np.ndarray, size: int) -> np.ndarray:
    height, width = frame.shape[:2]
    side = min(height, width)
    x, y = (width - side) // 2, (height - side) // 2
    return cv2.resize(frame[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)


def test_crops_hold_the_frames_own_pixels(export):
    """A video without a face is cropped to its middle square; after a face, the previous box."""
    folder = export["dir"]
    outcome = export_frames_extract(folder, settings=FrameSettings.for_detector("yunet"), workers=1)
    pattern = next(name for name, kind in export["names"].items() if kind == "pattern")
    first = _frames(folder / "videos" / f"{pattern}.mp4", 160, 96)[0]
    # The middle 96 x 96 square of a 160 x 96 frame starts at column 32; enlarged to 224 bilinearly.
    expected = cv2.resize(first[:, 32:128], (224, 224), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(cv2.imread(str(folder / "frames" / pattern / "000000.png")), expected)
    assert outcome.videos[pattern].width == 160 and outcome.videos[pattern].height == 96

    fallback = next(name for name, kind in export["names"].items() if kind == "fallback")
    frames = _frames(folder / "videos" / f"{fallback}.mp4", 640, 360)
    crop = lambda index: cv2.imread(str(folder / "frames" / fallback / f"{index:06d}.png"))  # noqa: E731
    # Before any face: the centre square (360 x 360 from column 140, shrunk to 224).
    assert np.array_equal(crop(0), _centre_crop(frames[0], 224)) and np.array_equal(crop(6), _centre_crop(frames[6], 224))
    # After the face left: not the centre but the face's last square, the same for both frames.
    for index in (24, 30):
        assert np.abs(crop(index).astype(int) - _centre_crop(frames[index], 224)).mean() > 5
    assert np.abs(crop(24).astype(int) - crop(30)).mean() < 1


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.png")}


def test_a_rerun_redoes_only_the_interrupted_videos(export, capsys):
    folder = export["dir"]
    frames = folder / "frames"
    call_command("extract_frames", str(folder), "--workers", "1", "--detector", "haar")
    names = sorted(export["names"])
    interrupted, cut_short = names[0], names[1]
    (frames / interrupted / "done.json").unlink()  # killed just before its marker
    (frames / cut_short / "done.json").unlink()  # killed half way: some crops missing, a stray half-written one
    for crop in _crops(frames / cut_short)[1:]:
        crop.unlink()
    (frames / cut_short / "000999.png").write_bytes(b"\x89PNG half")
    before = _mtimes(frames)
    capsys.readouterr()

    call_command("extract_frames", str(folder), "--workers", "1", "--detector", "haar")
    assert f"2 video(s) made, {len(names) - 2} already complete" in capsys.readouterr().out
    after = _mtimes(frames)
    for name in names[2:]:
        kept = {k: v for k, v in before.items() if k.startswith(name)}
        assert kept and all(after[k] == v for k, v in kept.items()), f"{name} was complete and must not be redone"
    assert all(after[k] != before[k] for k in before if k.startswith(interrupted))
    assert not (frames / cut_short / "000999.png").exists()
    manifest = json.loads((frames / "manifest.json").read_text())
    assert set(manifest["videos"]) == set(names)
    assert [p.name for p in _crops(frames / cut_short)] == [f"{i:06d}.png" for i in range(0, manifest["videos"][cut_short]["frames"] * 6, 6)]

    # Other settings: every video is made again.
    call_command("extract_frames", str(folder), "--workers", "1", "--detector", "haar", "--margin", "0.1")
    assert f"{len(names)} video(s) made, 0 already complete" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "least"), [("yunet", 0.9), ("haar", 0.7)])
def test_detection_rate_on_demo_study_faces(export, name, least):
    """The demo study's swapped faces (seam and colour artifacts) are found in most sampled frames;
    the Haar cascade, the fallback, misses more (identity 4 with 5's face, in most frames; on 80
    clips spread over the dream-size study it found 90.7% against YuNet's 100%: bench/frames.py)."""
    outcome = export_frames_extract(export["dir"], settings=FrameSettings.for_detector(name), workers=1)
    faces = [outcome.videos[v] for v, kind in export["names"].items() if kind == "face"]
    found, total = sum(v.detected for v in faces), sum(v.frames for v in faces)
    assert total == 15 and found / total >= least, f"{name}: faces found in {found} of {total} frames"


def test_an_export_without_videos_or_with_bad_names_is_refused(export, tmp_path):
    with pytest.raises(CommandError, match="no videos.csv"):
        call_command("extract_frames", str(tmp_path))
    folder = export["dir"]
    table = (folder / "videos.csv").read_text()
    (folder / "videos.csv").write_text(table + "x,../../etc/passwd.mp4,1\n")
    with pytest.raises(CommandError, match="not a video file name"):
        call_command("extract_frames", str(folder))
    (folder / "videos.csv").write_text(table)
    shutil.rmtree(folder / "videos")
    with pytest.raises(CommandError, match="no videos/ folder"):
        call_command("extract_frames", str(folder))
    with pytest.raises(CommandError, match="at least 16"):
        call_command("extract_frames", str(folder), "--size", "8")
    with pytest.raises(CommandError):
        call_command("extract_frames", str(folder), "--detector", "retinaface")


def test_a_missing_or_broken_video_fails_alone(export, capsys):
    folder = export["dir"]
    names = sorted(export["names"])
    (folder / "videos" / f"{names[0]}.mp4").unlink()
    (folder / "videos" / f"{names[1]}.mp4").write_bytes(b"not a video")
    with pytest.raises(CommandError, match="2 video"):
        call_command("extract_frames", str(folder), "--workers", "1", "--detector", "haar")
    manifest = json.loads((folder / "frames" / "manifest.json").read_text())
    assert set(manifest["failed"]) == {names[0], names[1]} and "not in the export" in manifest["failed"][names[0]]
    assert set(manifest["videos"]) == set(names[2:])
    assert not (folder / "frames" / names[1] / "done.json").exists()
