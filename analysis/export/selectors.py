"""Read-only queries of the dataset exports: a campaign's exports, the latest, an export's folder and files."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from annotation import storage
from annotation.models import Campaign, Video
from jobs.artifacts import ArtifactStore
from jobs.models import Job

from ..services import campaign_subject
from .manifest import MANIFEST

KIND = "export"


def campaign_exports(campaign: Campaign, *, limit: int = 10) -> list[Job]:
    """The campaign's newest export jobs, newest first (every status)."""
    return list(Job.objects.filter(kind=KIND, subject=campaign_subject(campaign)).order_by("-version")[:limit])


def campaign_latest_export(campaign: Campaign, *, completed: bool = True) -> Job | None:
    """The campaign's highest export version (completed ones only, by default), or None."""
    jobs = Job.objects.filter(kind=KIND, subject=campaign_subject(campaign))
    if completed:
        jobs = jobs.filter(status=Job.Status.COMPLETED)
    return jobs.order_by("-version").first()


def campaign_export(campaign: Campaign, version: int) -> Job | None:
    """Version `version` of the campaign's export, or None."""
    return Job.objects.filter(kind=KIND, subject=campaign_subject(campaign), version=version).first()


def export_folder(job: Job) -> Path:
    """Where the export's files are: the job's artifact folder."""
    return ArtifactStore.for_job(job).folder


@dataclass(frozen=True)
class ExportFile:
    path: str  # relative POSIX path inside the export
    bytes: int


def export_key(job: Job) -> str:
    """Where the export's files are in the exports storage (MEDIA_STORAGE=s3): export/<job id>/, as in the artifact root."""
    return f"{job.kind}/{job.pk}"


def export_files(job: Job) -> list[ExportFile]:
    """A completed export's files as its manifest lists them, manifest first; empty before completion or when the files are gone.
    Under MEDIA_STORAGE=s3 the manifest is read from the bucket, so a web host needs no share with the workers."""
    if job.status != Job.Status.COMPLETED:
        return []
    bucket = storage.exports_storage()
    if bucket is None:
        folder = export_folder(job)
        if not (folder / MANIFEST).is_file():
            return []
        text = (folder / MANIFEST).read_bytes()
    else:
        name = f"{export_key(job)}/{MANIFEST}"
        if not bucket.exists(name):
            return []
        with bucket.open(name, "rb") as handle:
            text = handle.read()
    listed = json.loads(text)["files"]
    return [ExportFile(MANIFEST, len(text)), *(ExportFile(p, f["bytes"]) for p, f in listed.items())]


def export_file_listed(job: Job, relative: str) -> bool:
    """True when `relative` is a file the completed export's manifest lists (nothing outside the export is reachable)."""
    if PurePosixPath(relative).is_absolute() or ".." in PurePosixPath(relative).parts:
        return False
    return relative in {f.path for f in export_files(job)}


def export_file_path(job: Job, relative: str) -> Path | None:
    """The local file of a completed export at `relative`, or None unless the manifest lists it and it is there."""
    if not export_file_listed(job, relative):
        return None
    path = export_folder(job) / relative
    return path if path.is_file() else None


def video_files(campaign: Campaign, video_ids) -> dict[int, str]:
    """The stored name of each of these videos' transcoded MP4 in the media storage, by video id."""
    return dict(Video.objects.filter(campaign=campaign, pk__in=list(video_ids)).values_list("pk", "file"))
