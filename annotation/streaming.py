"""Serve stored media with HTTP Range support, so the browser's player can seek.

Django's static serving answers every request with the whole file; Chromium then cannot seek in a
video. Files are named by content hash and never change, so they are cached for a year.
"""
from __future__ import annotations

import mimetypes
import os
import posixpath
import re

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils._os import safe_join
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
    try:
        full_path = safe_join(settings.MEDIA_ROOT, path)
    except Exception:
        raise Http404("No such file")
    if not os.path.isfile(full_path):
        raise Http404("No such file")
    size = os.path.getsize(full_path)
    content_type = mimetypes.guess_type(full_path)[0] or "application/octet-stream"
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
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
