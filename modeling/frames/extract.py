"""Face crops of an exported dataset: one of every `step` frames of each video, cropped around the face, resumable.

Reads an export folder (analysis's dataset export): `videos.csv`, whose `file` column names each
video ("<pseudonymous name>.mp4"), and the files under `videos/`. Writes, beside them,

    frames/<name>/<frame index, 6 digits>.png   one square crop per sampled frame
    frames/<name>/done.json                     the video's counts, written last and atomically
    frames/manifest.json                        settings, detector and version, per-video counts

and never touches the export's own manifest.json. A video whose done.json exists and names the
same settings is complete and is skipped on a rerun; any other folder (an interrupted video, or
one made with other settings) is emptied and made again.

Crops are PNG by default: lossless, so a crop holds exactly the decoded pixels the annotators
judged. JPEG would add its own 8x8 blocking to every crop, real videos included, and blocking is
one of the artifacts a realism model must learn to see (`--format jpg` is there for disk space:
a 224-pixel crop of a demo clip takes 26 KiB as PNG and 8.4 KiB as JPEG at quality 95).
"""
from __future__ import annotations

import csv
import functools
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from annotation.errors import ApplicationError
from modeling.files import json_write

from . import detectors
from .crops import CropSource, Square, centre_square, crop_choose, square_around
from .sampling import sampled_frames

FRAMES_DIR = "frames"
MANIFEST = "manifest.json"
DONE_MARKER = "done.json"
IMAGE_FORMATS = ("png", "jpg")
# PNG level 3: 26 KiB and 3.3 ms for a 224-pixel demo crop, against 23 KiB and 21 ms at level 9.
_ENCODE_PARAMS = {"png": [cv2.IMWRITE_PNG_COMPRESSION, 3], "jpg": [cv2.IMWRITE_JPEG_QUALITY, 95]}


@dataclass(frozen=True)
class FrameSettings:
    """How crops are made; a video's crops are complete only for the settings they were made with."""

    detector: str  # a registered detector's name (not "auto": the manifest says which one ran)
    detector_version: str
    size: int = 224
    margin: float = 0.25
    step: int = 6
    image_format: str = "png"

    def __post_init__(self):
        if self.size < 16:
            raise ApplicationError("bad_parameters", "The crop size must be at least 16 pixels.")
        if not (0 <= self.margin <= 2):
            raise ApplicationError("bad_parameters", "The margin must be between 0 and 2 (a fraction of the face box).")
        if self.step < 1:
            raise ApplicationError("bad_parameters", "The sampling step must be at least 1 (6: one frame of every 6).")
        if self.image_format not in IMAGE_FORMATS:
            raise ApplicationError("bad_parameters", f"The image format must be one of {', '.join(IMAGE_FORMATS)}.")

    @classmethod
    def for_detector(cls, name: str, **options) -> FrameSettings:
        """Settings with the detector `name` resolved ("auto" included) and its installed version."""
        detector = detectors.detector_class(name)
        return cls(detector=detector.name, detector_version=detector.version(), **options)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VideoFrames:
    """What one video gave: crops written, and how many of them followed a face found in that frame,
    the video's previous face box, or the frame's centre."""

    name: str
    frames: int
    detected: int
    previous_box: int
    centre: int
    width: int
    height: int
    seconds: float

    @property
    def detection_rate(self) -> float:
        return self.detected / self.frames if self.frames else 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ExportFrames:
    """The outcome of a run over an export: every complete video (made now or before) and the failures."""

    settings: FrameSettings
    videos: dict[str, VideoFrames] = field(default_factory=dict)
    extracted: list[str] = field(default_factory=list)  # made in this run
    skipped: list[str] = field(default_factory=list)  # complete from an earlier run
    failed: dict[str, str] = field(default_factory=dict)  # name -> why

    def totals(self) -> dict:
        counts = {key: sum(getattr(v, key) for v in self.videos.values()) for key in ("frames", "detected", "previous_box", "centre")}
        made = [self.videos[name].seconds for name in self.extracted]
        return {
            "videos": len(self.videos), **counts,
            "detection_rate": counts["detected"] / counts["frames"] if counts["frames"] else 0.0,
            "seconds_per_video": sum(made) / len(made) if made else None,
        }

    def manifest(self) -> dict:
        return {
            "what": "Face crops of the exported videos: frames/<video>/<frame index>.<format>, one of every `step` frames.",
            "detector": {"name": self.settings.detector, "version": self.settings.detector_version},
            "settings": self.settings.as_dict(),
            "totals": self.totals(),
            "videos": {name: self.videos[name].as_dict() for name in sorted(self.videos)},
            "failed": dict(sorted(self.failed.items())),
        }


# --- one video -------------------------------------------------------------------------------


def video_frames_done(folder: Path, settings: FrameSettings) -> VideoFrames | None:
    """The counts of a video whose crops in `folder` are complete for `settings`, else None."""
    try:
        marker = json.loads((folder / DONE_MARKER).read_text())
        if marker["settings"] != settings.as_dict():
            return None
        return VideoFrames(**marker["video"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@functools.cache
def _detector(name: str) -> detectors.Detector:
    # One loaded model per process, reused for every video the process is given.
    return detectors.detector_class(name)()


def crop_square(frame: np.ndarray, square: Square, size: int) -> np.ndarray:
    """The square's pixels resized to size x size (area averaging down, bilinear up)."""
    pixels = frame[square.y:square.y + square.side, square.x:square.x + square.side]
    interpolation = cv2.INTER_AREA if square.side > size else cv2.INTER_LINEAR
    return cv2.resize(pixels, (size, size), interpolation=interpolation)


def video_frames_extract(video: Path, folder: Path, settings: FrameSettings, *, threads: int = 0) -> VideoFrames:
    """Crop every `settings.step`-th frame of `video` into `folder` (emptied first); returns the counts.

    The done marker is written last, through a rename: a video interrupted at any point has no
    marker and is made again. Raises media.MediaError when the video cannot be decoded.
    """
    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    detector = _detector(settings.detector)
    encoding = _ENCODE_PARAMS[settings.image_format]
    counts = {source: 0 for source in CropSource}
    previous = None
    width = height = 0
    for index, frame in sampled_frames(video, step=settings.step, threads=threads):
        height, width = frame.shape[:2]
        face = detectors.face_main(detector.detect(frame))
        box, source = crop_choose(face.box if face else None, previous)
        if face is not None:
            previous = face.box
        square = (square_around(box, margin=settings.margin, frame_width=width, frame_height=height) if box
                  else centre_square(frame_width=width, frame_height=height))
        path = folder / f"{index:06d}.{settings.image_format}"
        if not cv2.imwrite(str(path), crop_square(frame, square, settings.size), encoding):
            raise OSError(f"could not write {path}")
        counts[source] += 1
    result = VideoFrames(
        name=folder.name, frames=sum(counts.values()), detected=counts[CropSource.DETECTED],
        previous_box=counts[CropSource.PREVIOUS_BOX], centre=counts[CropSource.CENTRE], width=width, height=height,
        seconds=round(time.perf_counter() - started, 3),
    )
    json_write(folder / DONE_MARKER, {"settings": settings.as_dict(), "video": result.as_dict()})
    return result


def _extract_in_worker(video: str, folder: str, settings: FrameSettings, threads: int) -> VideoFrames | str:
    """A worker's task: the counts, or why the video failed (as text: the media error does not pickle)."""
    try:
        return video_frames_extract(Path(video), Path(folder), settings, threads=threads)
    except Exception as exc:  # noqa: BLE001 - one bad video must not stop the others; each failure is reported by name
        return f"{type(exc).__name__}: {exc}"


def _worker_init() -> None:
    # The pool gives the parallelism: one OpenMP thread for yuface (read when it loads, which is
    # after this) and one OpenCV thread per worker, or N workers each start N threads.
    os.environ["OMP_NUM_THREADS"] = "1"
    cv2.setNumThreads(1)


# --- the export ------------------------------------------------------------------------------


def export_video_names(export_dir: Path) -> list[str]:
    """The names of the export's videos (videos.csv's `file` column without ".mp4"), in its order.

    Raises ApplicationError("bad_export") when the folder is not an export with videos.
    """
    table = export_dir / "videos.csv"
    if not table.is_file():
        raise ApplicationError("bad_export", f"{export_dir} has no videos.csv: give the folder of a dataset export.")
    if not (export_dir / "videos").is_dir():
        raise ApplicationError("bad_export", f"{export_dir} has no videos/ folder: export the dataset with its videos.")
    with open(table, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if "file" not in (reader.fieldnames or []):
            raise ApplicationError("bad_export", f"{table} has no `file` column.")
        files = [row["file"] for row in reader]
    names = []
    for file in files:
        # A name is a bare file name: "../x.mp4" or "/etc/x.mp4" must not reach outside the export.
        if not file.endswith(".mp4") or Path(file).name != file or file.startswith("."):
            raise ApplicationError("bad_export", f"{table} names {file!r}, which is not a video file name of an export.")
        names.append(file.removesuffix(".mp4"))
    return names


def export_frames_extract(
    export_dir: Path,
    *,
    settings: FrameSettings,
    workers: int = 1,
    progress: Callable[[Iterable, int], Iterable] = lambda it, total: it,
) -> ExportFrames:
    """Make the crops of every export video not yet complete, in `workers` processes, and write
    frames/manifest.json over all complete ones. Returns the outcome; failures are listed in it and
    in the manifest, and do not stop the other videos. `progress(iterable, total)` wraps the loop
    over the videos being made (tqdm in the command)."""
    export_dir = Path(export_dir)
    names = export_video_names(export_dir)
    frames_dir = export_dir / FRAMES_DIR
    frames_dir.mkdir(exist_ok=True)
    outcome = ExportFrames(settings=settings)
    todo = []
    for name in names:
        done = video_frames_done(frames_dir / name, settings)
        if done is not None:
            outcome.videos[name] = done
            outcome.skipped.append(name)
        elif not (export_dir / "videos" / f"{name}.mp4").is_file():
            outcome.failed[name] = f"videos/{name}.mp4 is listed in videos.csv but not in the export"
        else:
            todo.append(name)
    jobs = [(str(export_dir / "videos" / f"{name}.mp4"), str(frames_dir / name), settings) for name in todo]
    if workers <= 1 or len(todo) <= 1:
        results = ((name, _extract_in_worker(*job, 0)) for name, job in zip(todo, jobs))
        for name, result in progress(results, len(todo)):
            _record(outcome, name, result)
    elif todo:
        # Spawned workers start clean: no copy of this process's database connection or threads.
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_init) as pool:
            futures: dict[Future, str] = {pool.submit(_extract_in_worker, *job, 1): name for name, job in zip(todo, jobs)}
            for future in progress(as_completed(futures), len(todo)):
                _record(outcome, futures[future], future.result())
    json_write(frames_dir / MANIFEST, outcome.manifest())
    return outcome


def _record(outcome: ExportFrames, name: str, result: VideoFrames | str) -> None:
    if isinstance(result, str):
        outcome.failed[name] = result
    else:
        outcome.videos[name] = result
        outcome.extracted.append(name)

