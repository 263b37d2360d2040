"""The bucket's storages (MEDIA_STORAGE=s3): django-storages' S3Storage with presigned reads only.

Imported by Django's storage handler only when settings.STORAGES names these classes, so the
embedded run never loads boto3.
"""
from __future__ import annotations

from django.conf import settings
from storages.backends.s3 import S3Storage


class PrivateS3Storage(S3Storage):
    """Private objects of the bucket, read by presigned URLs only (dataset exports)."""

    def signed_url(self, name: str, *, filename: str | None = None, content_type: str | None = None) -> str:
        """A presigned GET of `name`, valid `querystring_expire` seconds; `filename` makes it a download."""
        parameters = {}
        if filename:
            parameters["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        if content_type:
            parameters["ResponseContentType"] = content_type
        return super().url(name, parameters=parameters or None)


class MediaS3Storage(PrivateS3Storage):
    """Videos and posters in the bucket. Their URL in pages stays /media/<name>: the media view checks
    the request and then redirects to a signed URL (annotation.streaming), so pages, the API and
    checkers look the same whichever storage holds the bytes."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        return settings.MEDIA_URL + name
