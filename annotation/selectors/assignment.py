"""How many ratings each video has or will get: what assignment balances."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from ..models import AnnotationSession, Campaign, SessionItem, Video
from .progress import session_idle_cutoff


def video_assignment_loads(campaign: Campaign, *, now: datetime) -> dict[int, int]:
    """Ratings each regular video has or will get: the sessions qualified or in progress that hold it.

    Read from the counter the services keep on each video (`Video.assigned_sessions`, sessions
    qualified or marked in progress); the sessions idle past the timeout that the release task has
    not marked abandoned yet are taken off here, so their videos stop counting at once. Those are
    few (the task runs every few minutes), and found through the session index. A video without
    a file (added in the admin, say) is never assigned: it is not among them.
    """
    loads = dict(campaign.videos.filter(role=Video.Role.REGULAR).exclude(file="").order_by()
                 .values_list("id", "assigned_sessions"))
    idle = SessionItem.objects.filter(
        session__campaign=campaign,
        session__status=AnnotationSession.Status.ACTIVE,
        session__last_activity_at__lt=session_idle_cutoff(campaign, now),
    ).values_list("video_id", flat=True)
    for video_id in idle:
        if video_id in loads:  # checkers have no load
            loads[video_id] -= 1
    return loads




def video_counter_drift(campaign: Campaign) -> dict[int, tuple[int, int]]:
    """The regular videos whose stored counter (`Video.assigned_sessions`) differs from a recount of
    the sessions in progress or qualified that hold them: video id -> (stored, recounted)."""
    held = dict(
        SessionItem.objects.filter(
            video__campaign=campaign, video__role=Video.Role.REGULAR,
            session__status__in=[AnnotationSession.Status.ACTIVE, AnnotationSession.Status.QUALIFIED],
        ).values("video_id").annotate(n=Count("id")).values_list("video_id", "n").order_by()
    )
    stored = campaign.videos.filter(role=Video.Role.REGULAR).values_list("id", "assigned_sessions").order_by()
    return {video: (count, held.get(video, 0)) for video, count in stored if count != held.get(video, 0)}
