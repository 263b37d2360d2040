"""What the annotator pages show: the consent text, the lecture's demos, one video to rate, the review."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.utils import timezone

from ..models import Attempt, Campaign, ConsentText, Rating, Video
from .tokens import rating_token_make


def campaign_current_consent(campaign: Campaign) -> ConsentText | None:
    """The campaign's latest consent text, or None if it has none."""
    return campaign.consent_texts.order_by("-version").first()


def demo_videos(campaign: Campaign) -> dict[int, Video]:
    """One lecture demo video per grade (the first imported, if several)."""
    demos: dict[int, Video] = {}
    for video in campaign.videos.filter(role=Video.Role.DEMO).order_by("demo_grade", "id"):
        demos.setdefault(video.demo_grade, video)
    return demos


@dataclass(frozen=True)
class VideoMedia:
    file_url: str
    poster_url: str


@lru_cache(maxsize=50_000)
def video_media(video_id: int) -> VideoMedia:
    """The URLs of a video's files. Cached per process: files are named by content hash, so a video
    id always points to the same bytes, and the rating API then needs no query for the next video."""
    video = Video.objects.only("file", "poster").get(pk=video_id)
    # A video taken out for a missing file (`services.videos_missing_unlist`) has no name left: an
    # empty source, not an error, for a session that already held it.
    return VideoMedia(video.file.url if video.file else "", video.poster.url if video.poster else "")


@dataclass(frozen=True)
class RatingItem:
    """What the rating page shows for one position of an attempt."""

    attempt: Attempt
    position: int
    total: int
    rated_count: int
    media: VideoMedia
    rating: Rating | None
    token: str

    def as_public_dict(self) -> dict:
        """What the browser may see: no video id, role, method or gold score."""
        return {
            "position": self.position,
            "total": self.total,
            "rated": self.rated_count,
            "video_url": self.media.file_url,
            "poster_url": self.media.poster_url,
            "token": self.token,
            "score": self.rating.score if self.rating else None,
            "reason": self.rating.typed_reason if self.rating else "",
        }


def rating_item(attempt: Attempt, position: int, rated: set[int] | frozenset[int], *, now: datetime | None = None) -> RatingItem:
    """What the rating page shows for `position`: its video, the answer given so far and a fresh token."""
    video_id = attempt.video_order[position - 1]
    rating = None
    if position in rated:
        rating = Rating.objects.filter(attempt=attempt, position=position).first()
    return RatingItem(
        attempt=attempt,
        position=position,
        total=len(attempt.video_order),
        rated_count=len(rated),
        media=video_media(video_id),
        rating=rating,
        token=rating_token_make(attempt, position, now or timezone.now()),
    )


def attempt_review(attempt: Attempt) -> list[dict]:
    """Every position of the attempt with the grade given so far (None where none yet) and its
    video's poster (the thumbnail; named by content hash, like every file an annotator sees)."""
    given = {
        position: (score, reason)
        for position, score, reason in Rating.objects.filter(attempt_id=attempt.pk)
        .order_by()
        .values_list("position", "score", "typed_reason")
    }
    rows = []
    for position in range(1, len(attempt.video_order) + 1):
        score, reason = given.get(position, (None, ""))
        rows.append({"position": position, "score": score, "reason": reason,
                     "poster_url": video_media(attempt.video_order[position - 1]).poster_url})
    return rows


