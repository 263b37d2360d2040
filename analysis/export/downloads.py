"""A file of a dataset export as an HTTP answer, for the staff page and the API (both check access first)."""
from __future__ import annotations

import mimetypes

from django.http import Http404

from annotation import storage
from jobs.models import Job

from . import selectors


def export_download(job: Job | None, relative: str, *, filename: str):
    """The export's file at `relative`: streamed from the job's folder, or, under MEDIA_STORAGE=s3, a
    redirect to a short-lived signed URL of the bucket that names the file (the bytes never pass through
    Django). Http404 unless the completed export's manifest lists the file."""
    if job is None or not selectors.export_file_listed(job, relative):
        raise Http404("No such file in this export")
    content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
    if storage.exports_storage() is not None:
        return storage.exports_download(selectors.export_key(job), relative, filename=filename, content_type=content_type)
    path = selectors.export_folder(job) / relative
    if not path.is_file():
        raise Http404("No such file in this export")
    return storage.file_download(path, filename=filename, content_type=content_type)
