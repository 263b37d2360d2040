"""Video ingest: read the researcher's metadata CSV, transcode in parallel, register the videos.

Each file is hashed, probed and transcoded to browser-safe H.264 in a pool of workers (ffmpeg runs
as a subprocess, so threads keep every core busy), and stored through Django's storage API under
names keyed per campaign (`media.stored_names`). The database row of a video is written only after
both its files are stored, one transaction per video, so a failure leaves nothing half-written; a
storage that refuses files (full, read-only) keeps no part of them and stops the import with one
clear message. Re-running is idempotent: a video already stored in the campaign is only updated
from the CSV, never transcoded again.
"""
from __future__ import annotations

import csv
import errno
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from . import media, storage
from .models import Campaign, Video

REQUIRED_COLUMNS = {"file"}
KNOWN_COLUMNS = {"file", "identity_pair", "method", "is_real", "gold_score", "demo_grade", "demo_reason"}
_TRUE = {"1", "true", "yes", "y", "real", "t"}
# H.264 level 5.1's largest frame, 36,864 macroblocks (4096 x 2304): what browsers decode everywhere.
# A larger video is refused at import, never scaled silently (resampling would change its artifacts).
MAX_FRAME_PIXELS = 36_864 * 256
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
        try:
            return _read_rows(path, handle)
        except UnicodeDecodeError as exc:
            raise MetadataError(
                f"The metadata file {path} is not UTF-8 text (byte {exc.start} cannot be read). Save it as "
                "\"CSV UTF-8\" and import again."
            )


def _read_rows(path: Path, handle) -> tuple[list[VideoSpec], list[str]]:
    """`read_metadata`'s parse of an open file."""
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
            name = Path(row["file"])
            if name.is_absolute() or ".." in name.parts or "\x00" in row["file"]:
                raise ValueError(f"row {number}: {row['file']!r} names a file outside the folder; give a name inside it")
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
    """A file ready to register: its row, the SHA-256 of its bytes, its stored names in the campaign
    (`media.stored_names`) and what the probe read from the source."""

    spec: VideoSpec
    content_hash: str
    video_name: str
    poster_name: str
    source: media.VideoInfo


def prepare_file(spec: VideoSpec, source_dir: Path, campaign: Campaign) -> Prepared:
    """Hash, probe and (unless the campaign stores it already) transcode one file and store the MP4
    and its poster under the campaign's names. Runs in a worker thread; writes no row.

    A storage that is full, read-only or otherwise refuses the files raises MediaError(STORAGE)
    and keeps no part of them (`_media_store`)."""
    source = source_dir / spec.file
    if not source.resolve().is_relative_to(source_dir.resolve()):  # a link leading out of the folder
        raise media.MediaError(media.MISSING, source, "lies outside the import folder", "Copy the file into the folder.")
    if not source.is_file():
        raise media.MediaError(
            media.MISSING, source, "is listed in the metadata but not found", "Copy the file into the folder or fix its name in the CSV."
        )
    if source.stat().st_size == 0:
        raise media.MediaError(media.EMPTY, source, "is empty (0 bytes)", "Copy the whole file again; the copy was cut short.")
    digest = media.file_sha256(source)
    video_name, poster_name = media.stored_names(campaign, digest)
    source_info = media.probe(source)
    if source_info.width * source_info.height > MAX_FRAME_PIXELS:
        raise media.MediaError(
            media.NOT_VIDEO, source, f"is {source_info.width}x{source_info.height}, larger than browsers decode reliably "
            "(H.264 level 5.1: 4096x2304 at most)", "Scale it down to 1920x1080 (as the DREAM videos are) and import it again.",
        )
    with _name_lock(video_name):  # two rows of the same bytes: one transcode, one store
        if not (storage.media_stored(video_name, poster_name)):
            with tempfile.TemporaryDirectory(prefix="ingest-") as work:
                video_path, poster_path = Path(work) / "video.mp4", Path(work) / "poster.jpg"
                media.transcode(source, video_path, poster_path)
                _media_store(source, {video_name: video_path, poster_name: poster_path})
    return Prepared(spec, digest, video_name, poster_name, source_info)


# Striped locks: the same name always takes the same lock, and a long-lived worker keeps 64 locks,
# not one per name it ever stored.
_NAME_LOCKS = tuple(threading.Lock() for _ in range(64))


def _name_lock(name: str) -> threading.Lock:
    return _NAME_LOCKS[hash(name) % len(_NAME_LOCKS)]


# Why a storage refuses a file, by errno: what to tell the researcher.
_STORAGE_PROBLEMS = {
    errno.ENOSPC: "the media storage is full", errno.EDQUOT: "the media storage's quota is used up",
    errno.EROFS: "the media storage is read-only", errno.EACCES: "the media storage is not writable",
    errno.EPERM: "the media storage is not writable",
}


def _media_store(source: Path, files: dict[str, Path]) -> None:
    """Save each local file under its storage name through Django's storage API (the media folder,
    or object storage), all of them or none: on failure, whatever part was written is deleted and
    MediaError(STORAGE) says why."""
    stored = []
    try:
        for name, path in files.items():
            if default_storage.exists(name):
                default_storage.delete(name)  # the other half of a pair a failed import left
            with open(path, "rb") as handle:
                saved = default_storage.save(name, File(handle, name=name))
            stored.append(saved)
            if saved != name:  # stored under another name: this storage keeps whatever holds `name`
                raise OSError(errno.EEXIST, f"{name} appeared while it was being stored")
    except OSError as exc:
        for name in [*stored, *files]:
            try:
                default_storage.delete(name)  # a partial file (FileSystemStorage leaves what it wrote)
            except OSError:
                pass  # read-only: nothing could be written either
        problem = _STORAGE_PROBLEMS.get(exc.errno, "the media storage refused the file")
        raise media.MediaError(
            media.STORAGE, source, f"could not be stored: {problem} ({exc.strerror or exc})",
            "Free space on the media storage or make it writable, then import again; rows already imported are kept.",
        ) from None


@transaction.atomic
def video_register(*, campaign: Campaign, prepared: Prepared) -> bool:
    """Create or update the video row of a prepared (stored) file; True when it was created."""
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
    """Import the videos the metadata CSV lists from `source_dir`: each prepared and stored in a
    worker pool, then registered in row order; returns what was created, updated and refused (one
    message per row). Once the storage refuses a file (full, read-only), the rows not yet prepared
    are not tried: one message names them."""
    specs, errors = read_metadata(metadata)
    report = IngestReport(errors=list(errors))
    workers = workers or os.cpu_count() or 1
    ready: list[Prepared] = []
    storage_failed = False
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(prepare_file, spec, source_dir, campaign): spec for spec in specs}
        for future in progress(as_completed(futures)):
            spec = futures[future]
            if future.cancelled():
                continue
            try:
                ready.append(future.result())
            except media.MediaError as exc:
                report.errors.append(f"row {spec.row}: {exc}")
                if exc.code == media.STORAGE and not storage_failed:
                    storage_failed = True
                    skipped = sorted(s.row for f, s in futures.items() if f.cancel())
                    if skipped:
                        report.errors.append(f"rows {', '.join(map(str, skipped))}: not imported, the media storage refused "
                                             "files; import again once it is fixed")
    ready, conflicts, refused = _same_bytes_checked(ready)
    report.errors.extend(conflicts)
    for prepared in sorted(ready, key=lambda p: p.spec.row):
        created = video_register(campaign=campaign, prepared=prepared)
        (report.created if created else report.updated).append(prepared.spec.file)
    _unreferenced_delete(campaign, refused)
    return report


def _unreferenced_delete(campaign: Campaign, refused: list[Prepared]) -> None:
    """Delete the stored files of refused rows that no video of the campaign names (an earlier
    import may have registered the same bytes): no file is left that no row points at."""
    for prepared in refused:
        if not Video.objects.filter(campaign=campaign, file=prepared.video_name).exists():
            for name in (prepared.video_name, prepared.poster_name):
                default_storage.delete(name)


def _labels(spec: VideoSpec) -> tuple:
    return (spec.identity_pair, spec.method, spec.is_real, spec.gold_score, spec.demo_grade, spec.demo_reason)


def _same_bytes_checked(ready: list[Prepared]) -> tuple[list[Prepared], list[str], list[Prepared]]:
    """The prepared files to register, one per content, and one error per content that several rows
    name with different labels (none of those rows is registered: which label is right is the
    researcher's call), and those rows. Rows naming the same bytes with the same labels register once."""
    by_content: dict[str, list[Prepared]] = {}
    for prepared in ready:
        by_content.setdefault(prepared.content_hash, []).append(prepared)
    keep, errors, refused = [], [], []
    for same in by_content.values():
        same.sort(key=lambda p: p.spec.row)
        if len({_labels(p.spec) for p in same}) > 1:
            rows = " and ".join(f"row {p.spec.row} ({p.spec.file})" for p in same)
            errors.append(f"{rows} are the same video (identical bytes) with different labels; keep one row, or fix the file")
            refused.append(same[0])
        else:
            keep.append(same[0])
    return keep, errors, refused
