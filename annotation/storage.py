"""Where media files live and how their bytes reach a browser: the storage layer under the ingest and /media/.

Files go through Django's storage API (`default_storage` for videos and posters, the `exports`
storage for dataset exports under MEDIA_STORAGE=s3), so the same code writes to MEDIA_ROOT or to
a bucket (config.settings.media_storages). How names are chosen is the ingest's business
(annotation.ingest); this module only writes, checks and serves a name it is given.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages
from django.http import FileResponse, HttpResponseRedirect


_COPY_BUFFER = 1024 * 1024


def is_local(storage: Storage) -> bool:
    """True when the storage keeps files in a folder of this host (they have a path)."""
    return isinstance(storage, FileSystemStorage)


def exports_storage() -> Storage | None:
    """The object storage of dataset exports, or None when exports stay in their job's folder (MEDIA_STORAGE=local)."""
    return storages["exports"] if "exports" in settings.STORAGES else None


# --- media: videos and posters ----------------------------------------------------------------


def media_stored(*names: str) -> bool:
    """True when every one of these names is in the media storage."""
    return all(default_storage.exists(name) for name in names)


def media_upload(path: Path, name: str) -> None:
    """Store a local file under exactly `name` in the media storage (a bucket: one PUT, or a multipart upload).
    A storage that would store it under another name (an existing name) is refused here: the row would
    name a file that is not its own. (The ingest stores its pairs all or none: ingest._media_store.)"""
    with open(path, "rb") as handle:
        saved = default_storage.save(name, handle)
    if saved != name:  # file_overwrite keeps the name; anything else would orphan the row's file
        raise RuntimeError(f"the media storage stored {name} as {saved}")


def media_copy(name: str, destination: Path) -> None:
    """Copy a stored media file to a local path (a dataset export's videos/)."""
    with default_storage.open(name, "rb") as source, open(destination, "wb") as target:
        shutil.copyfileobj(source, target, _COPY_BUFFER)


# --- dataset exports --------------------------------------------------------------------------


def exports_upload(folder: Path, prefix: str, names: list[str], last: str) -> None:
    """Upload `names` (paths relative to `folder`) under `prefix`/, then `last` (the manifest): an
    export is complete in the bucket once its manifest is there. Runs again whole after a crash."""
    storage = exports_storage()
    for relative in [*names, last]:
        with open(folder / relative, "rb") as handle:
            storage.save(f"{prefix}/{relative}", handle)


def exports_download(prefix: str, relative: str, *, filename: str, content_type: str):
    """The answer to a download of an export's file from the bucket: a redirect to a signed URL that
    names the file (the bytes never pass through Django)."""
    return HttpResponseRedirect(exports_storage().signed_url(f"{prefix}/{relative}", filename=filename, content_type=content_type))


def file_download(path: Path, *, filename: str, content_type: str) -> FileResponse:
    """The answer to a download of a local file."""
    return FileResponse(open(path, "rb"), as_attachment=True, content_type=content_type, filename=filename)
