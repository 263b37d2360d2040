"""A campaign's records as querysets for researchers' lists: videos, annotators, sessions, attempts, ratings.

Each row carries the counts a list shows, as correlated subqueries, so a page of 100 rows costs
100 index lookups per count instead of a count over the whole campaign.
"""
from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from ..models import AnnotationSession, Annotator, Attempt, Campaign, CampaignMembership, ConsentText, Rating, Video


def campaigns_listed(campaigns: QuerySet[Campaign], user) -> QuerySet[Campaign]:
    """`campaigns` newest first, each with `member_role` (the user's role, or None) and `consent_version`
    (the current consent text's version, or None)."""
    return campaigns.annotate(
        member_role=Subquery(CampaignMembership.objects.filter(campaign=OuterRef("pk"), user=user.pk).values("role")[:1]),
        consent_version=Subquery(
            ConsentText.objects.filter(campaign=OuterRef("pk")).order_by("-version").values("version")[:1]
        ),
    ).order_by("-created_at", "-id")


def _count(queryset: QuerySet, column: str):
    """Coalesce(a correlated COUNT(*) of `queryset` grouped by `column`, 0)."""
    counted = queryset.order_by().values(column).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def campaign_videos(campaign: Campaign) -> QuerySet[Video]:
    """The campaign's videos, each with `qualified_ratings` (ratings in qualified attempts)."""
    qualified = Rating.objects.filter(video=OuterRef("pk"), attempt__outcome=Attempt.Outcome.QUALIFIED)
    return campaign.videos.annotate(qualified_ratings=_count(qualified, "video")).order_by("id")


def campaign_annotators(campaign: Campaign) -> QuerySet[Annotator]:
    """The campaign's annotators, each with `sessions_started` and `qualified` (a qualified attempt or not)."""
    return campaign.annotators.annotate(
        sessions_started=_count(AnnotationSession.objects.filter(annotator=OuterRef("pk")), "annotator"),
        qualified=Exists(Attempt.objects.filter(session__annotator=OuterRef("pk"), outcome=Attempt.Outcome.QUALIFIED)),
    ).order_by("id")


def campaign_sessions(campaign: Campaign) -> QuerySet[AnnotationSession]:
    """The campaign's sessions with their annotator, each with `attempts_count` and `videos_count`."""
    return campaign.sessions.annotate(
        attempts_count=_count(Attempt.objects.filter(session=OuterRef("pk")), "session"),
        videos_count=_count(AnnotationSession.videos.through.objects.filter(session=OuterRef("pk")), "session"),
    ).order_by("id")


def campaign_attempts(campaign: Campaign) -> QuerySet[Attempt]:
    """Every attempt of the campaign's sessions, with its session, each with `ratings_count`."""
    return (
        Attempt.objects.filter(session__campaign=campaign)
        .select_related("session")
        .annotate(ratings_count=_count(Rating.objects.filter(attempt=OuterRef("pk")), "attempt"))
        .order_by("id")
    )


def campaign_ratings(campaign: Campaign) -> QuerySet[Rating]:
    """Every rating of every attempt of the campaign, with its video, attempt and session."""
    return Rating.objects.filter(video__campaign=campaign).select_related("video", "attempt__session").order_by("id")
