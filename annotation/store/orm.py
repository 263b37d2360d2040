"""The store on the Django ORM: SQLite (the embedded run) and any database without a store of its own.

SQLite serializes writing transactions as a whole, so the row locks of the PostgreSQL store have no
counterpart here. The rules of the submit are evaluated in Python by `rules.submit_checks`, the
twin of the PostgreSQL statement's rule columns.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F

from .. import rules
from ..models import AnnotationSession, Annotator, Attempt, Campaign, Rating, SessionItem, Video, VideoPlay
from ..selectors import assignment as assignment_selectors, progress as progress_selectors
from .base import AssignmentCandidates, Playback, SessionStartState, SubmitOutcome, SubmitResult

# Idle timeouts are minutes long; refreshing a session's last activity at most this often spares
# a write on most submissions.
ACTIVITY_RESOLUTION = timedelta(seconds=30)


def rating_row(attempt: Attempt, campaign: Campaign, ticket, score: int, typed_reason: str, playback: Playback, now: datetime) -> Rating:
    """The unsaved Rating of one accepted answer: the stored reason is the campaign's sentence for a 5."""
    return Rating(
        attempt=attempt,
        video_id=attempt.video_order[ticket.position - 1],
        position=ticket.position,
        score=score,
        reason=campaign.grade5_reason if score == 5 else typed_reason,
        typed_reason=typed_reason,
        served_at=ticket.served_at,
        seconds_spent=max((now - ticket.served_at).total_seconds(), 0.0),
        played_to_end=playback.played_to_end,
        plays=playback.plays,
        seeks=playback.seeks,
        fullscreen=playback.fullscreen,
    )


def ratings_upsert(ratings: list[Rating], session: AnnotationSession, last_activity: datetime) -> None:
    """Write `ratings` keyed by (attempt, video), replacing earlier answers, and move the session's
    last activity to `last_activity` if it is at least ACTIVITY_RESOLUTION later."""
    Rating.objects.bulk_create(
        ratings,
        update_conflicts=True,
        unique_fields=["attempt", "video"],
        update_fields=[
            "score", "reason", "typed_reason", "served_at", "seconds_spent",
            "played_to_end", "plays", "seeks", "fullscreen", "updated_at",
        ],
    )
    if last_activity - session.last_activity_at >= ACTIVITY_RESOLUTION:
        AnnotationSession.objects.filter(pk=session.pk).update(last_activity_at=last_activity)


def attempt_played_videos(attempt: Attempt) -> set[int]:
    """The videos whose end reached the server (`VideoPlay.ended_at`) since the attempt started, for
    its session's annotator: the ORM twin of the submit statement's `played` column."""
    return set(VideoPlay.objects.filter(
        annotator_id=attempt.session.annotator_id, video_id__in=attempt.video_order, ended_at__gte=attempt.started_at,
    ).values_list("video_id", flat=True))


def submit_checks(attempt: Attempt, annotator_id: int, ticket, score: int, typed_reason: str, now: datetime,
                  last_activity: datetime | None = None, played_videos: set[int] | None = None) -> dict[str, bool]:
    """`rules.submit_checks` for an attempt loaded with `.session.campaign`; `last_activity` replaces
    the session's (a batch's earlier items count as activity); `played_videos` the attempt's videos
    played to the end (`attempt_played_videos`, read here when needed and not given)."""
    session, campaign = attempt.session, attempt.session.campaign
    played = True
    if campaign.require_play_to_end:
        if played_videos is None:
            played_videos = attempt_played_videos(attempt)
        in_range = 1 <= ticket.position <= len(attempt.video_order)
        played = in_range and attempt.video_order[ticket.position - 1] in played_videos
    return rules.submit_checks(
        owner=session.annotator_id == annotator_id,
        position=ticket.position,
        positions=len(attempt.video_order),
        attempt_open=attempt.outcome == Attempt.Outcome.IN_PROGRESS and session.status == AnnotationSession.Status.ACTIVE,
        last_activity=last_activity or session.last_activity_at,
        timeout=timedelta(minutes=campaign.session_timeout_minutes),
        now=now,
        lecture_done=attempt.lecture_completed_at is not None,
        played=played,
        score=score,
        typed_reason=typed_reason,
        min_reason_length=campaign.min_reason_length,
    )


def submit_message_params(campaign: Campaign, score: int) -> dict:
    """The values of `rules.SUBMIT`'s messages for an answer of `score` in `campaign`."""
    return rules.submit_message_params(
        score=score, timeout_minutes=campaign.session_timeout_minutes, min_reason_length=campaign.min_reason_length
    )


def attempt_for_submit(attempt_id: int) -> Attempt | None:
    """The attempt named by a rating token, with `.session.campaign`; None if there is none."""
    return Attempt.objects.select_related("session__campaign").filter(pk=attempt_id).first()


class OrmStore:
    """`base.Store` on the Django ORM."""

    vendor = "orm"

    def annotator_create(self, campaign, *, source, external_id, platform_params, user, consent, entry_token, now):
        same_person = {"campaign": campaign, "source": source, "external_id": external_id}
        if Annotator.objects.filter(**same_person).exists():
            return None
        Annotator.objects.bulk_create(  # INSERT OR IGNORE: a second submission may have created the row a moment ago
            [Annotator(**same_person, platform_params=platform_params, user=user, consent=consent, consented_at=now,
                       entry_token=entry_token)], ignore_conflicts=True
        )
        annotator = Annotator.objects.get(**same_person)
        return annotator if annotator.entry_token == entry_token else None  # another's row, inserted in between

    def annotator_lock(self, annotator_id):
        """SQLite serializes writing transactions as a whole: there is no row lock to take."""

    def page_state(self, annotator_id, campaign_slug, *, now):
        annotator = Annotator.objects.select_related("campaign").filter(pk=annotator_id, campaign__slug=campaign_slug).first()
        return None if annotator is None else (annotator, progress_selectors.annotator_progress(annotator, now=now))

    def session_start_state(self, annotator_id, campaign_slug, *, now):
        state = self.page_state(annotator_id, campaign_slug, now=now)
        if state is None:
            raise rules.ANNOTATOR_NOT_FOUND.error()
        annotator, progress = state
        idle = progress_selectors.sessions_idle(annotator.campaign, now=now, annotator=annotator)
        return SessionStartState(annotator, progress, idle)

    def assignment_candidates(self, campaign, annotator, *, now):
        seen = set(SessionItem.objects.filter(session__annotator=annotator).values_list("video_id", flat=True))
        loads = assignment_selectors.video_assignment_loads(campaign, now=now)
        checkers = campaign.videos.filter(role=Video.Role.CHECKER).exclude(file="").values_list("id", flat=True)
        return AssignmentCandidates(
            {video: load for video, load in loads.items() if video not in seen},
            sorted(set(checkers) - seen),
        )

    def session_create(self, campaign, annotator, regular, checkers, order, now):
        session = AnnotationSession.objects.create(campaign=campaign, annotator=annotator, last_activity_at=now)
        SessionItem.objects.bulk_create(SessionItem(session=session, video_id=v) for v in regular + checkers)
        attempt = Attempt.objects.create(session=session, number=1, video_order=order, lecture_completed_at=now)
        Video.objects.filter(id__in=regular).update(assigned_sessions=F("assigned_sessions") + 1)
        return attempt

    def rating_submit(self, annotator_id, ticket, score, typed_reason, playback, now):
        attempt = attempt_for_submit(ticket.attempt_id)
        if attempt is None:
            return SubmitOutcome(None, rules.SUBMIT_OWNER, {})
        campaign = attempt.session.campaign
        refused = rules.first_refused(rules.SUBMIT, submit_checks(attempt, annotator_id, ticket, score, typed_reason, now))
        if refused is not None:
            return SubmitOutcome(None, refused, submit_message_params(campaign, score), attempt)
        ratings_upsert([rating_row(attempt, campaign, ticket, score, typed_reason, playback, now)], attempt.session, now)
        rated = progress_selectors.attempt_rated_positions(attempt)
        return SubmitOutcome(SubmitResult.after(attempt, ticket.position, rated))

    def attempt_lock_for_finish(self, annotator_id, number):
        return (
            Attempt.objects.select_for_update(of=("self",))
            .filter(session__annotator_id=annotator_id, number=number)
            .order_by("-session__started_at")
            .first()
        )

    def attempt_grades(self, attempt_id):
        return list(
            Rating.objects.filter(attempt_id=attempt_id).order_by().values_list("score", "video__role", "video__gold_score")
        )

    def attempt_close(self, attempt, next_order, now):
        attempt.save(update_fields=["outcome", "finished_at"])
        sessions = AnnotationSession.objects.filter(pk=attempt.session_id)
        if next_order is not None:
            Attempt.objects.create(session_id=attempt.session_id, number=attempt.number + 1, video_order=next_order)
            sessions.update(last_activity_at=now)
        elif attempt.outcome == Attempt.Outcome.QUALIFIED:
            sessions.update(status=AnnotationSession.Status.QUALIFIED, finished_at=now, last_activity_at=now)
        else:  # the last allowed attempt, disqualified: the caller closes the session (as the SQL twin leaves it)
            sessions.update(last_activity_at=now)

