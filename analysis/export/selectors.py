"""Read-only queries of the dataset exports: a campaign's exports, the latest, an export's folder and files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from annotation.models import Campaign, Video
from jobs.artifacts import ArtifactStore
from jobs.models import Job

from ..services import campaign_subject
from .manifest import MANIFEST, manifest_read

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


def export_files(job: Job) -> list[ExportFile]:
    """A completed export's files as its manifest lists them, manifest first; empty before completion or when the files are gone."""
    folder = export_folder(job)
    if job.status != Job.Status.COMPLETED or not (folder / MANIFEST).is_file():
        return []
    listed = manifest_read(folder)["files"]
    return [ExportFile(MANIFEST, (folder / MANIFEST).stat().st_size), *(ExportFile(p, f["bytes"]) for p, f in listed.items())]


def export_file_path(job: Job, relative: str) -> Path | None:
    """The file of a completed export at `relative`, or None unless the manifest lists it (nothing outside the export is reachable)."""
    if PurePosixPath(relative).is_absolute() or ".." in PurePosixPath(relative).parts:
        return None
    if relative not in {f.path for f in export_files(job)}:
        return None
    path = export_folder(job) / relative
    return path if path.is_file() else None


def video_files(campaign: Campaign, video_ids) -> dict[int, Path]:
    """The transcoded MP4 of each of these videos of the campaign, by video id (files in the media storage)."""
    rows = Video.objects.filter(campaign=campaign, pk__in=list(video_ids)).values_list("pk", "file")
    return {pk: Path(Video._meta.get_field("file").storage.path(name)) for pk, name in rows}
