"""What the server saw of an annotator's playback (`VideoPlay`): the lecture demos still to watch."""
from __future__ import annotations

from datetime import datetime

from ..models import Annotator, VideoPlay
from .pages import demo_videos


def annotator_demos_unplayed(annotator: Annotator, *, since: datetime | None) -> int:
    """How many of the lecture's demos (one per grade, `demo_videos`) have no end recorded since `since`
    (the attempt whose lecture this is; None: any time, before the first session)."""
    demos = {video.pk for video in demo_videos(annotator.campaign).values()}
    ended = VideoPlay.objects.filter(annotator=annotator, video_id__in=demos, ended_at__isnull=False)
    if since is not None:
        ended = ended.filter(ended_at__gte=since)
    return len(demos - set(ended.values_list("video_id", flat=True)))
