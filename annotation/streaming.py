"""/media/: check the request, then send a transcoded video or poster, or have it sent.

Who sends the bytes is settings.MEDIA_DELIVERY (config.settings.media_storages):
- `django`: this view, with HTTP Range support so the browser's player can seek (Django's static
  serving answers every request with the whole file; Chromium then cannot seek in a video);
- `x-accel`: nginx, told by an `X-Accel-Redirect` header to its internal location over the same
  folder (docker/nginx.conf); nginx answers Range requests itself;
- `signed-url`: the bucket, by a redirect to a short-lived presigned URL.
The checks come first and are the same in every mode, and the answer depends on nothing but the
stored name, so a checker is served exactly like a regular video. Files are named by content and
never change, so they are cached for a year; a redirect is cached for half its URL's life.
"""
from __future__ import annotations

import mimetypes
import os
import posixpath
import re
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.views.decorators.http import require_safe

# At most 18 digits a bound: enough for any file, and int() of thousands of digits is refused by
# Python (a 500); a longer bound does not match and the whole file is served, as for no Range.
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")
_CHUNK = 64 * 1024


class _RangeFile:
    """An iterator over `length` bytes of a file from `start`, closing the file at the end."""

    def __init__(self, path: str, start: int, length: int):
        self.handle = open(path, "rb")
        self.handle.seek(start)
        self.remaining = length

    def __iter__(self):
        try:
            while self.remaining > 0:
                chunk = self.handle.read(min(_CHUNK, self.remaining))
                if not chunk:
                    break
                self.remaining -= len(chunk)
                yield chunk
        finally:
            self.handle.close()

    def close(self):
        self.handle.close()


# Only what annotators' pages link to; anything else under MEDIA_ROOT stays private.
PUBLIC_PREFIXES = ("videos/", "posters/")


@require_safe
def serve_media(request, path: str):
    """A transcoded video or poster under MEDIA_ROOT, whole or the byte range asked for; 404 for anything else."""
    # Normalised first: "videos/../secret" must not pass as a video.
    if ".." in path.split("/") or posixpath.normpath(path) != path or not path.startswith(PUBLIC_PREFIXES):
        raise Http404("No such file")
    if settings.MEDIA_DELIVERY == "signed-url":
        return _signed_redirect(path)
    try:
        full_path = default_storage.path(path)
    except Exception:
        raise Http404("No such file")
    if not os.path.isfile(full_path):
        raise Http404("No such file")
    content_type = mimetypes.guess_type(full_path)[0] or "application/octet-stream"
    if settings.MEDIA_DELIVERY == "x-accel":
        return _accel_redirect(path, content_type)
    size = os.path.getsize(full_path)
    etag = f'"{os.path.basename(full_path)}-{size}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304)

    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:  # a suffix range: the last N bytes
            start = max(size - int(last), 0)
            end = size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        length = end - start + 1
        if request.method == "HEAD":
            response = HttpResponse(status=206, content_type=content_type)
        else:
            response = StreamingHttpResponse(_RangeFile(full_path, start, length), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    else:
        response = FileResponse(open(full_path, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_FOREVER
    return response


CACHE_FOREVER = "private, max-age=31536000, immutable"


def _accel_redirect(path: str, content_type: str) -> HttpResponse:
    """An empty answer that tells nginx to send the file from its internal location (Range and all).
    nginx keeps this answer's Content-Type and Cache-Control; docker/nginx.conf drops its own ETag and
    Last-Modified there (a file's time would tell when it was imported)."""
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_PREFIX + quote(path)
    response["Cache-Control"] = CACHE_FOREVER
    return response


def _signed_redirect(path: str) -> HttpResponse:
    """A redirect to a presigned URL of the bucket, after checking the file is there (a HEAD request).
    The browser may reuse the redirect, and so the bytes it led to, for half the URL's life."""
    if not default_storage.exists(path):
        raise Http404("No such file")
    response = HttpResponseRedirect(default_storage.signed_url(path))
    response["Cache-Control"] = f"private, max-age={default_storage.querystring_expire // 2}"
    return response
