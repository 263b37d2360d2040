"""Playback events: the rating and lecture pages report when a video starts from its beginning and
when it ends, and the server keeps both times by its own clock (`VideoPlay`), for the campaigns
that require play to the end (`Campaign.require_play_to_end`, the P.910 crowdsourcing toolkit's
rule).

An end is stored only when the time since the recorded start is at least the video's duration
(`rules.play_long_enough`): seeking to the end, or posting an end without playing, is refused.
A script can still post a start and an end a duration apart, which costs it the video's own time;
and on the rating page it gets the token of the next video only once the previous one is rated,
so those waits add up as a person's would.
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import rules, selectors
from ..models import Annotator, Attempt, Video, VideoPlay


def play_video_of_token(*, annotator: Annotator, token: str) -> int:
    """The video a rating page's token names, if the page is the annotator's; the rule's error otherwise."""
    ticket = selectors.rating_token_read(token)
    attempt = Attempt.objects.select_related("session").filter(pk=ticket.attempt_id).first()
    if attempt is None or attempt.session.annotator_id != annotator.pk:
        raise rules.SUBMIT_OWNER.error()
    if not 1 <= ticket.position <= len(attempt.video_order):
        raise rules.SUBMIT_POSITION.error()
    return attempt.video_order[ticket.position - 1]


def play_video_of_demo(*, annotator: Annotator, demo_id: int) -> int:
    """A lecture demo of the annotator's campaign; PLAY_VIDEO_UNKNOWN's error for any other video."""
    if not Video.objects.filter(pk=demo_id, campaign_id=annotator.campaign_id, role=Video.Role.DEMO).exists():
        raise rules.PLAY_VIDEO_UNKNOWN.error()
    return demo_id


def play_start(*, annotator: Annotator, video_id: int, now: datetime | None = None) -> None:
    """The video started from its beginning: its start time is now (a replay restarts the clock; an
    end stored earlier stays)."""
    now = now or timezone.now()
    VideoPlay.objects.bulk_create(
        [VideoPlay(annotator=annotator, video_id=video_id, started_at=now)],
        update_conflicts=True, unique_fields=["annotator", "video"], update_fields=["started_at"],
    )


@transaction.atomic
def play_end(*, annotator: Annotator, video_id: int, now: datetime | None = None) -> None:
    """The video reached its end: stored if its duration has passed since the recorded start; the
    first refusing rule of `rules.PLAY_END` otherwise (nothing stored)."""
    now = now or timezone.now()
    play = (VideoPlay.objects.select_for_update(of=("self",)).select_related("video")
            .filter(annotator=annotator, video_id=video_id).first())
    checks = {
        rules.PLAY_VIDEO_UNKNOWN.name: True,  # the caller found the video
        rules.PLAY_NOT_STARTED.name: play is not None,
        rules.PLAY_TOO_SHORT.name: play is not None and rules.play_long_enough(
            started_at=play.started_at, ended_at=now, duration_s=play.video.duration_s),
    }
    refused = rules.first_refused(rules.PLAY_END, checks)
    if refused is not None:
        raise refused.error()
    play.ended_at = now
    play.save(update_fields=["ended_at"])
