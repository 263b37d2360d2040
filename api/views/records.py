"""What annotators did, read-only: annotators (pseudonyms and attributes), sessions, attempts, ratings."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema

from annotation import selectors
from annotation.models import AnnotationSession, Annotator, Attempt, Rating

from .. import filters
from ..serializers import AnnotatorSerializer, AttemptSerializer, RatingSerializer, SessionDetailSerializer, SessionSerializer
from .base import CampaignScopedDetailApi, CampaignScopedListApi


@extend_schema(tags=["annotators"])
class AnnotatorListApi(CampaignScopedListApi):
    """The campaign's annotators by pseudonym, with their attributes (never an external id)."""

    serializer_class = AnnotatorSerializer
    schema_model = Annotator
    filterset_class = filters.AnnotatorFilter
    ordering_fields = ["sessions_started", "age_group", "gender", "education", "prior_knowledge", "source"]

    def campaign_queryset(self, campaign):
        return selectors.campaign_annotators(campaign)


@extend_schema(tags=["annotators"])
class SessionListApi(CampaignScopedListApi):
    """The campaign's sessions: annotator, status, times, attempts."""

    serializer_class = SessionSerializer
    schema_model = AnnotationSession
    filterset_class = filters.SessionFilter
    ordering_fields = ["id", "started_at", "last_activity_at", "finished_at", "attempts_count"]

    def campaign_queryset(self, campaign):
        return selectors.campaign_sessions(campaign)


@extend_schema(tags=["annotators"])
class SessionDetailApi(CampaignScopedDetailApi):
    """One session with its attempts."""

    serializer_class = SessionDetailSerializer
    schema_model = AnnotationSession

    def campaign_queryset(self, campaign):
        return selectors.campaign_sessions(campaign).prefetch_related("attempts")


@extend_schema(tags=["annotators"])
class AttemptListApi(CampaignScopedListApi):
    """Every attempt of the campaign's sessions, with its outcome."""

    serializer_class = AttemptSerializer
    schema_model = Attempt
    filterset_class = filters.AttemptFilter
    ordering_fields = ["id", "number", "started_at", "finished_at", "ratings_count"]

    def campaign_queryset(self, campaign):
        return selectors.campaign_attempts(campaign)


@extend_schema(tags=["annotators"])
class RatingListApi(CampaignScopedListApi):
    """Every rating of every attempt (read-only), with its video's labels and its attempt's outcome."""

    serializer_class = RatingSerializer
    schema_model = Rating
    filterset_class = filters.RatingFilter
    ordering_fields = ["id", "created_at", "score", "seconds_spent", "position"]

    def campaign_queryset(self, campaign):
        return selectors.campaign_ratings(campaign)
