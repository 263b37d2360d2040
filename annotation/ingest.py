"""Video ingest: read the researcher's metadata CSV, transcode in parallel, register the videos.

Each file is hashed, probed and transcoded to browser-safe H.264 under its content hash, in a pool
of workers (ffmpeg runs as a subprocess, so threads keep every core busy). The database row of a
video is written only after both its files are in place, one transaction per video, so a failure
leaves nothing half-written and never stops the other files. Re-running is idempotent: a video
already registered is only updated from the CSV, never transcoded again.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from . import media
from .models import Campaign, Video

REQUIRED_COLUMNS = {"file"}
KNOWN_COLUMNS = {"file", "identity_pair", "method", "is_real", "gold_score", "demo_grade", "demo_reason"}
_TRUE = {"1", "true", "yes", "y", "real", "t"}
_FALSE = {"0", "false", "no", "n", "fake", "f", ""}


@dataclass(frozen=True)
class VideoSpec:
    """One valid CSV row."""

    row: int
    file: str
    identity_pair: str = ""
    method: str = ""
    is_real: bool = False
    gold_score: int | None = None
    demo_grade: int | None = None
    demo_reason: str = ""

    @property
    def role(self) -> str:
        if self.gold_score is not None:
            return Video.Role.CHECKER
        if self.demo_grade is not None:
            return Video.Role.DEMO
        return Video.Role.REGULAR


@dataclass
class IngestReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class MetadataError(Exception):
    """The CSV as a whole cannot be read (missing file, no header, no `file` column)."""


def _grade(value: str, column: str, row: int) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        grade = int(float(value))
    except ValueError:
        raise ValueError(f"row {row}: {column} {value!r} is not a grade from 1 to 5")
    if not 1 <= grade <= 5 or float(value) != grade:
        raise ValueError(f"row {row}: {column} {value!r} is not a grade from 1 to 5")
    return grade


def read_metadata(path: Path) -> tuple[list[VideoSpec], list[str]]:
    """Parse the metadata CSV into valid rows and one message per bad row (row numbers count the header as 1)."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise MetadataError(f"Cannot open the metadata file {path}: {exc.strerror}.")
    with handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise MetadataError(f"The metadata file {path} is empty; it needs a header row with at least a 'file' column.")
        columns = {c.strip().lower().replace(" ", "_") for c in reader.fieldnames if c}
        missing = REQUIRED_COLUMNS - columns
        if missing:
            raise MetadataError(f"The metadata file {path} has no {', '.join(sorted(missing))} column (columns: {', '.join(reader.fieldnames)}).")
        specs, errors, seen = [], [], {}
        for number, raw in enumerate(reader, start=2):
            row = {(k or "").strip().lower().replace(" ", "_"): (v or "").strip() for k, v in raw.items() if k}
            try:
                if not row.get("file"):
                    raise ValueError(f"row {number}: the 'file' column is empty")
                if row["file"] in seen:
                    raise ValueError(f"row {number}: {row['file']} is listed twice (first on row {seen[row['file']]})")
                is_real_text = row.get("is_real", "").lower()
                if is_real_text not in _TRUE | _FALSE:
                    raise ValueError(f"row {number}: is_real {row['is_real']!r} should be true or false")
                spec = VideoSpec(
                    row=number,
                    file=row["file"],
                    identity_pair=row.get("identity_pair", ""),
                    method=row.get("method", ""),
                    is_real=is_real_text in _TRUE,
                    gold_score=_grade(row.get("gold_score", ""), "gold_score", number),
                    demo_grade=_grade(row.get("demo_grade", ""), "demo_grade", number),
                    demo_reason=row.get("demo_reason", ""),
                )
                if spec.gold_score is not None and spec.demo_grade is not None:
                    raise ValueError(f"row {number}: {spec.file} has both a gold score and a demo grade; a video is a checker or a demo, not both")
            except ValueError as exc:
                errors.append(str(exc))
                continue
            seen[spec.file] = number
            specs.append(spec)
    return specs, errors


@dataclass(frozen=True)
class Prepared:
    spec: VideoSpec
    content_hash: str
    video_name: str
    poster_name: str
    source: media.VideoInfo


def prepare_file(spec: VideoSpec, source_dir: Path, media_root: Path) -> Prepared:
    """Hash, probe and (unless already stored) transcode one file. Runs in a worker thread."""
    source = source_dir / spec.file
    if not source.is_file():
        raise media.MediaError(
            media.MISSING, source, "is listed in the metadata but not found", "Copy the file into the folder or fix its name in the CSV."
        )
    digest = media.file_sha256(source)
    video_name, poster_name = f"videos/{digest}.mp4", f"posters/{digest}.jpg"
    source_info = media.probe(source)
    video_path, poster_path = media_root / video_name, media_root / poster_name
    if not (video_path.is_file() and poster_path.is_file()):
        video_path.parent.mkdir(parents=True, exist_ok=True)
        poster_path.parent.mkdir(parents=True, exist_ok=True)
        media.transcode(source, video_path, poster_path)
    return Prepared(spec, digest, video_name, poster_name, source_info)


@transaction.atomic
def video_register(*, campaign: Campaign, prepared: Prepared) -> bool:
    """Create or update the video row; True when it was created."""
    spec, info = prepared.spec, prepared.source
    _, created = Video.objects.update_or_create(
        campaign=campaign,
        content_hash=prepared.content_hash,
        defaults={
            "role": spec.role,
            "source_name": spec.file,
            "file": prepared.video_name,
            "poster": prepared.poster_name,
            "identity_pair": spec.identity_pair,
            "method": spec.method,
            "is_real": spec.is_real,
            "gold_score": spec.gold_score,
            "demo_grade": spec.demo_grade,
            "demo_reason": spec.demo_reason,
            "duration_s": info.duration_s,
            "fps": info.fps,
            "width": info.width,
            "height": info.height,
            "source_codec": info.codec,
        },
    )
    return created


def import_videos(
    *,
    campaign: Campaign,
    source_dir: Path,
    metadata: Path,
    workers: int | None = None,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> IngestReport:
    specs, errors = read_metadata(metadata)
    report = IngestReport(errors=list(errors))
    media_root = Path(settings.MEDIA_ROOT)
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(prepare_file, spec, source_dir, media_root): spec for spec in specs}
        for future in progress(as_completed(futures)):
            spec = futures[future]
            try:
                prepared = future.result()
                created = video_register(campaign=campaign, prepared=prepared)
            except media.MediaError as exc:
                report.errors.append(f"row {spec.row}: {exc}")
                continue
            (report.created if created else report.updated).append(spec.file)
    return report
