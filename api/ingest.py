"""Video upload through the ingest, as a job of the runner (kind "ingest", subject "campaign:<id>").

The upload endpoint stores the files and the metadata CSV in the job's folder (the folder workers
share, JOBS_ARTIFACT_ROOT) before the job is committed, so whichever worker runs the stage finds
them. The stage is annotation.ingest's own import (hash, probe, transcode in parallel, register
each video in its own transaction; re-running only updates labels), with its progress counted on
the job's summary, one row's error per entry in the job's `report` artifact. The uploaded sources
are deleted when the stage ends; a failed job's whole folder is removed by the runner.

It lives in the api app, not in annotation (which imports no other app) nor in jobs (which knows
no domain): the API is its only caller.
"""
from __future__ import annotations

import csv
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.db import transaction

from annotation.errors import ApplicationError
from annotation.ingest import MetadataError, import_videos, read_metadata
from annotation.models import Campaign
from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.artifacts import JSON_SUFFIX, ArtifactStore
from jobs.models import Job
from jobs.registry import JobKind, NoParameters, Stage
from jobs.services import StageContext

KIND = "ingest"
UPLOAD_FOLDER, SOURCES, METADATA = "upload", "files", "metadata.csv"
REPORT = "report"  # the JSON artifact: created, updated, per-row errors, files not in the CSV
_ROW = re.compile(r"^row (\d+): ")


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
    ("bad_file_name", "duplicate_file"), or when the CSV as a whole cannot be read
    ("bad_metadata": no header, no `file` column). Bad rows do not refuse the upload: each is
    reported in the job's result.
    """
    names = [_file_name(upload) for upload in files]
    repeated = sorted(name for name, n in Counter(names).items() if n > 1)
    if repeated:
        raise ApplicationError("duplicate_file", f"These files were sent more than once: {', '.join(repeated)}.")
    with transaction.atomic():
        job = job_services.job_create(kind=KIND, subject=job_selectors.campaign_subject(campaign.pk), user=user)
        folder = upload_folder(job)
        try:
            (folder / SOURCES).mkdir(parents=True)
            _write(metadata, folder / METADATA)
            read_metadata(folder / METADATA)
            for name, upload in zip(names, files):
                _write(upload, folder / SOURCES / name)
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
    specs, _ = read_metadata(folder / METADATA)  # read once already, at the upload
    report = import_videos(
        campaign=campaign, source_dir=folder / SOURCES, metadata=folder / METADATA, progress=_Progress(ctx, len(specs))
    )
    listed = {spec.file for spec in specs}
    unlisted = sorted(p.name for p in (folder / SOURCES).iterdir() if p.name not in listed)
    errors = sorted((_row_error(e) for e in report.errors), key=lambda e: (e["row"] is None, e["row"] or 0))
    ctx.artifacts.json_write(REPORT, {
        "created": sorted(report.created), "updated": sorted(report.updated), "errors": errors, "unlisted": unlisted,
    })
    ctx.summary_record({
        "videos_total": len(specs), "videos_done": len(specs), "created": len(report.created), "updated": len(report.updated),
        "failed": len(errors), "unlisted": len(unlisted),
    })
    shutil.rmtree(folder, ignore_errors=True)


INGEST = JobKind(name=KIND, stages=(Stage("import", stage_import),), parameters=NoParameters)
