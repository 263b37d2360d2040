"""Consent withdrawal: deleting an annotator's data on request, and recording that it was done without personal data."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from .. import pseudonyms, selectors, signals
from ..models import AnnotationSession, Annotator, Attempt, Campaign, Rating, SessionItem, Video, Withdrawal


def annotator_withdraw(*, annotator: Annotator, requested_by=None, now: datetime | None = None) -> Withdrawal:
    """Delete the annotator and everything they gave (ratings with their reasons, attempts, sessions,
    demographics, platform id and parameters), and return the `Withdrawal` recorded in their place.

    Deleted, not anonymised: the request is to delete, and the ratings with their typed reasons and
    the demographics are what identify and describe the person. Later analyses and exports read the
    tables, so they leave the annotator out without knowing of it; what other apps derived from the
    person before (analysis results, exports) they remove on `signals.annotator_withdrawn`, sent in
    this transaction (analysis.withdrawals). An analysis exclusion of the annotator goes with
    the row (its foreign key cascades). A Django login the annotator was bound to (lab annotators)
    is not deleted: it is an account of the site, possibly used in other campaigns.

    One transaction, under the annotator's row lock and then the campaign's (the order the lecture's
    session start takes them): no rating, finish or session start of theirs runs half way through
    it, and the per-video counters of assignment (`Video.assigned_sessions`) of the videos their
    sessions held are set to their recount under the lock that every counter change holds.
    """
    now = now or timezone.now()
    with transaction.atomic():
        annotator = Annotator.objects.select_for_update().get(pk=annotator.pk)
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=annotator.campaign_id)
        sessions = AnnotationSession.objects.filter(annotator=annotator)
        ratings = Rating.objects.filter(attempt__session__annotator=annotator)
        held = set(SessionItem.objects.filter(session__annotator=annotator, video__role=Video.Role.REGULAR)
                   .values_list("video_id", flat=True))
        first_rating_at = ratings.aggregate(first=Min("created_at"))["first"]
        # Children first, each counted by its own model's tally (a delete's total includes cascades).
        ratings_deleted = ratings.delete()[1].get(Rating._meta.label, 0)
        attempts_deleted = Attempt.objects.filter(session__annotator=annotator).delete()[1].get(Attempt._meta.label, 0)
        SessionItem.objects.filter(session__annotator=annotator).delete()
        sessions_deleted = sessions.delete()[1].get(AnnotationSession._meta.label, 0)
        # A recount rather than a decrement: true afterwards even where a counter had drifted (a
        # decrement below zero would break the column's check). Drift of other videos is left for
        # `recount_video_counters --check` to report.
        drift = selectors.video_counter_drift(campaign)
        for video_id in held & drift.keys():
            Video.objects.filter(pk=video_id).update(assigned_sessions=drift[video_id][1])
        pseudonym = pseudonyms.annotator_name(campaign.pk, annotator.pk)
        annotator_id = annotator.pk
        annotator.delete()
        withdrawal = Withdrawal.objects.create(
            campaign=campaign, annotator=pseudonym, withdrawn_at=now, first_rating_at=first_rating_at,
            ratings_deleted=ratings_deleted, attempts_deleted=attempts_deleted, sessions_deleted=sessions_deleted,
            requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
        )
        # Results derived from the person elsewhere (analysis runs, exports) go in the same transaction.
        signals.annotator_withdrawn.send(sender=Withdrawal, withdrawal=withdrawal, annotator_id=annotator_id)
        return withdrawal
