"""Pseudonymous names for what leaves the platform: video files and annotators in exports and APIs.

A name is an HMAC of the campaign and the row's id under the deployment's SECRET_KEY: stable for
the same database (an export made twice names the same video the same way), unrelated to the
video's content or label (the hash of a public dataset's file reveals nothing), and meaningless
without the key. Keyed per campaign, so the same annotator id in two campaigns gets two names.
"""
from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def _digest(purpose: str, campaign_id: int, row_id: int, length: int) -> str:
    message = f"dream:{purpose}:{campaign_id}:{row_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:length]


def video_name(campaign_id: int, video_id: int) -> str:
    """The video's pseudonymous name in exports, without extension: "v" and 16 hex digits."""
    return "v" + _digest("video", campaign_id, video_id, 16)


def annotator_name(campaign_id: int, annotator_id: int) -> str:
    """The annotator's pseudonymous id in exports and APIs: "a" and 12 hex digits."""
    return "a" + _digest("annotator", campaign_id, annotator_id, 12)
