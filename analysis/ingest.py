"""Video import through the ingest, as a job of the runner (kind "ingest", subject "campaign:<id>").

Two ways in, one job: an upload (the API's `videos/upload/` and the import page) stores the files
and the metadata CSV in the job's folder (the folder workers share, JOBS_ARTIFACT_ROOT) before the
job is committed, so whichever worker runs the stage finds them; a server-folder import (the page)
stores only the CSV there and names the folder in the job's parameters, a folder inside one of
`settings.INGEST_FOLDERS` (checked when the job starts and again when it runs). The stage is
annotation.ingest's own import (hash, probe, transcode in parallel, register each video in its own
transaction; re-running only updates labels), with its progress counted on the job's summary, one
row's error per entry in the job's `report` artifact. The uploaded sources are deleted when the
stage ends (a server folder is only read); a failed job's whole folder is removed by the runner.

It lives in analysis, the lowest app that may import both the job runner and annotation (annotation
imports no other app and jobs knows no domain), so that the API and the researchers' import page
(analysis.ingest_views) start the same job with the same checks.
"""
from __future__ import annotations

import csv
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.db import transaction

from annotation import rules
from annotation.errors import ApplicationError
from annotation.ingest import MetadataError, import_videos, read_metadata
from annotation.models import Campaign
from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.artifacts import JSON_SUFFIX, ArtifactStore
from jobs.models import Job
from jobs.registry import JobKind, Stage
from jobs.services import StageContext

KIND = "ingest"
UPLOAD_FOLDER, SOURCES, METADATA = "upload", "files", "metadata.csv"
REPORT = "report"  # the JSON artifact: created, updated, per-row errors, files not in the CSV
_ROW = re.compile(r"^row (\d+): ")


@dataclass(frozen=True)
class IngestParameters:
    """An ingest's parameters: the server folder it reads (absolute, checked), or none for an upload."""

    folder: str = ""

    @classmethod
    def from_dict(cls, data: dict | None) -> IngestParameters:
        data = dict(data or {})
        folder = data.pop("folder", "")
        if data:
            raise ValueError(f"unknown parameters {', '.join(sorted(data))}")
        if not isinstance(folder, str):
            raise ValueError("folder must be a path")
        return cls(folder=folder)

    def as_dict(self) -> dict:
        return {"folder": self.folder} if self.folder else {}


def ingest_roots() -> list[Path]:
    """The server folders imports may read from (settings.INGEST_FOLDERS), resolved."""
    return [Path(root).resolve() for root in settings.INGEST_FOLDERS]


def folder_checked(folder: str) -> Path:
    """The resolved server folder to import from; refused unless it lies inside an allowed root
    (links followed first, so a link cannot lead out) and is a folder. Whether a path outside the
    roots exists is never told."""
    roots = ingest_roots()
    if not roots:
        raise rules.NO_INGEST_FOLDERS.error()
    text = (folder or "").strip()
    if not text or "\x00" in text:
        raise rules.FOLDER_MISSING.error(folder=repr(text))
    path = Path(text) if Path(text).is_absolute() else roots[0] / text
    resolved = path.resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise rules.FOLDER_NOT_ALLOWED.error(folder=text, roots=", ".join(str(root) for root in roots))
    if not resolved.is_dir():
        raise rules.FOLDER_MISSING.error(folder=text)
    return resolved


def _size_checked(upload: UploadedFile, name: str) -> None:
    limit = settings.INGEST_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise rules.UPLOAD_TOO_LARGE.error(name=name, size=upload.size, limit=limit)


def upload_folder(job: Job) -> Path:
    """Where the upload of an ingest job waits for its stage: inside the job's artifact folder."""
    return ArtifactStore.for_job(job).folder / UPLOAD_FOLDER


def _file_name(upload: UploadedFile) -> str:
    name = upload.name or ""
    if not name or name != Path(name).name or name.startswith(".") or "\\" in name or len(name) > 255:
        raise ApplicationError("bad_file_name", f"The file name {name!r} cannot be stored; send plain file names without folders.")
    return name


def _write(upload: UploadedFile, path: Path) -> None:
    if isinstance(upload, TemporaryUploadedFile):
        # Already on disk (files over FILE_UPLOAD_MAX_MEMORY_SIZE): moved, not copied a second time.
        # Closing first would delete it (a NamedTemporaryFile); closed after, it finds nothing to delete.
        shutil.move(upload.temporary_file_path(), path)
        upload.close()
        return
    with open(path, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)


def ingest_start(*, campaign: Campaign, metadata: UploadedFile, files: list[UploadedFile], user=None) -> Job:
    """Store an upload and queue its import as the campaign's next ingest job; returns the job.

    Refused with ApplicationError when a file name is not a plain name or comes twice
    ("bad_file_name", "duplicate_file"), when a file is larger than INGEST_UPLOAD_MAX_BYTES
    ("too_large", 413), or when the CSV as a whole cannot be read ("bad_metadata": no header, no
    `file` column). Bad rows do not refuse the upload: each is reported in the job's result.
    """
    names = [_file_name(upload) for upload in files]
    repeated = sorted(name for name, n in Counter(names).items() if n > 1)
    if repeated:
        raise ApplicationError("duplicate_file", f"These files were sent more than once: {', '.join(repeated)}.")
    _size_checked(metadata, metadata.name or "The metadata CSV")
    for name, upload in zip(names, files):
        _size_checked(upload, name)

    def store(folder: Path) -> None:
        (folder / SOURCES).mkdir(parents=True)
        _write(metadata, folder / METADATA)
        read_metadata(folder / METADATA)
        for name, upload in zip(names, files):
            _write(upload, folder / SOURCES / name)

    return _job_with_upload(campaign=campaign, user=user, parameters=None, store=store)


def ingest_folder_start(*, campaign: Campaign, folder: str, metadata: UploadedFile | None = None, user=None) -> Job:
    """Queue the import of a server folder (inside settings.INGEST_FOLDERS) as the campaign's next
    ingest job, with the metadata CSV sent (or, when none is, the folder's own metadata.csv).

    Refused with ApplicationError as `folder_checked` refuses the folder, when the folder holds no
    metadata.csv and none was sent, and as `ingest_start` refuses a CSV.
    """
    source = folder_checked(folder)
    if metadata is None and not (source / METADATA).is_file():
        raise rules.FOLDER_NO_METADATA.error(folder=folder)
    if metadata is not None:
        _size_checked(metadata, metadata.name or "The metadata CSV")

    def store(upload: Path) -> None:
        upload.mkdir(parents=True)
        if metadata is not None:
            _write(metadata, upload / METADATA)
        else:
            shutil.copyfile(source / METADATA, upload / METADATA)
        read_metadata(upload / METADATA)

    return _job_with_upload(campaign=campaign, user=user, parameters={"folder": str(source)}, store=store)


def _job_with_upload(*, campaign: Campaign, user, parameters: dict | None, store) -> Job:
    """Create the ingest job and `store(folder)` its inputs in its upload folder in the same transaction;
    a CSV that cannot be read refuses the whole start ("bad_metadata") and leaves no folder behind."""
    with transaction.atomic():
        job = job_services.job_create(kind=KIND, subject=job_selectors.campaign_subject(campaign.pk), parameters=parameters, user=user)
        folder = upload_folder(job)
        try:
            store(folder)
        except (MetadataError, UnicodeDecodeError, csv.Error) as exc:
            shutil.rmtree(folder.parent, ignore_errors=True)
            raise ApplicationError("bad_metadata", _metadata_message(exc, folder / METADATA))
        except BaseException:
            shutil.rmtree(folder.parent, ignore_errors=True)
            raise
    return job


def _metadata_message(exc: Exception, path: Path) -> str:
    if isinstance(exc, MetadataError):
        return str(exc).replace(f"metadata file {path}", "metadata CSV")
    if isinstance(exc, UnicodeDecodeError):
        return "The metadata CSV is not UTF-8 text; save it as CSV UTF-8 and send it again."
    return f"The metadata CSV cannot be read as CSV ({exc}); check its quoting and send it again."


@dataclass
class _Progress:
    """Counts the videos done on the job's summary while the import runs."""

    ctx: StageContext
    total: int

    def __call__(self, iterable):
        self.ctx.summary_record({"videos_total": self.total, "videos_done": 0})
        for done, item in enumerate(iterable, start=1):
            yield item
            self.ctx.summary_record({"videos_total": self.total, "videos_done": done})


def _row_error(message: str) -> dict:
    match = _ROW.match(message)
    return {"row": int(match.group(1)) if match else None, "error": message}


def stage_import(ctx: StageContext) -> None:
    """Import the uploaded videos into the job's campaign; write the report and the summary; delete the upload."""
    campaign = Campaign.objects.get(pk=job_selectors.subject_campaign_id(ctx.job.subject))
    folder = upload_folder(ctx.job)
    if not folder.exists() and f"{REPORT}{JSON_SUFFIX}" in ctx.artifacts.names():
        return  # run again after a crash that came after its last step: the report and summary are written
    # A server folder is checked again: the settings may have changed since the job was queued.
    source = folder_checked(ctx.params.folder) if ctx.params.folder else folder / SOURCES
    specs, _ = read_metadata(folder / METADATA)  # read once already, at the upload
    report = import_videos(
        campaign=campaign, source_dir=source, metadata=folder / METADATA, progress=_Progress(ctx, len(specs))
    )
    listed = {spec.file for spec in specs}
    # Files sent but not in the CSV: an upload's only (a server folder may hold anything else).
    unlisted = [] if ctx.params.folder else sorted(p.name for p in source.iterdir() if p.name not in listed)
    errors = sorted((_row_error(e) for e in report.errors), key=lambda e: (e["row"] is None, e["row"] or 0))
    ctx.artifacts.json_write(REPORT, {
        "created": sorted(report.created), "updated": sorted(report.updated), "errors": errors, "unlisted": unlisted,
    })
    ctx.summary_record({
        "videos_total": len(specs), "videos_done": len(specs), "created": len(report.created), "updated": len(report.updated),
        "failed": len(errors), "unlisted": len(unlisted),
    })
    shutil.rmtree(folder, ignore_errors=True)


INGEST = JobKind(name=KIND, stages=(Stage("import", stage_import),), parameters=IngestParameters)


# --- Reads for the import page -------------------------------------------------------------------


def campaign_ingests(campaign: Campaign, *, limit: int = 10) -> list[Job]:
    """The campaign's latest ingest jobs, newest first."""
    subject = job_selectors.campaign_subject(campaign.pk)
    return list(Job.objects.filter(kind=KIND, subject=subject).select_related("requested_by").order_by("-version")[:limit])


def ingest_report(job: Job) -> dict | None:
    """A completed ingest's report (created, updated, per-row errors, unlisted files); None before it exists."""
    store = ArtifactStore.for_job(job)
    if f"{REPORT}{JSON_SUFFIX}" not in store.names():
        return None
    return store.json_read(REPORT)
