"""Query filters of the API's lists (django-filter): `?method=...&role=...&attempt=2&qualified=true`."""
from __future__ import annotations

import django_filters as filters
from django import forms

from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, Rating, Video
from jobs.models import Job
from modeling.models import TrainedModel


class IdFilter(filters.NumberFilter):
    """A whole number from 0 to 2**63 - 1 (an id, a count); anything else is refused with 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class _StrictBooleanField(forms.Field):
    def to_python(self, value):
        text = str(value).strip().lower() if value is not None else ""
        if text == "":
            return None
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise forms.ValidationError(f"{value!r} is not true or false.", code="invalid")


class BooleanFilter(filters.BooleanFilter):
    """true or false; anything else is refused with 400 (django-filter's own reads it as no filter at all)."""

    field_class = _StrictBooleanField


class CampaignFilter(filters.FilterSet):
    is_open = BooleanFilter()

    class Meta:
        model = Campaign
        fields = ["is_open"]


class VideoFilter(filters.FilterSet):
    is_real = BooleanFilter()

    class Meta:
        model = Video
        fields = ["role", "method", "identity_pair", "is_real"]


class AnnotatorFilter(filters.FilterSet):
    qualified = BooleanFilter(help_text="Only annotators with (true) or without (false) a qualified attempt.")

    class Meta:
        model = Annotator
        fields = ["source", "age_group", "gender", "education", "prior_knowledge", "qualified"]


class SessionFilter(filters.FilterSet):
    class Meta:
        model = AnnotationSession
        fields = ["status"]


def _qualified(queryset, outcome_path: str, value: bool):
    lookup = {outcome_path: Attempt.Outcome.QUALIFIED}
    return queryset.filter(**lookup) if value else queryset.exclude(**lookup)


class AttemptFilter(filters.FilterSet):
    attempt = IdFilter(field_name="number", help_text="The attempt's number within its session (1, 2, ...).")
    session = IdFilter(field_name="session_id")
    qualified = BooleanFilter(method="filter_qualified", help_text="Qualified attempts (true) or the others (false).")

    class Meta:
        model = Attempt
        fields = ["outcome", "attempt", "session", "qualified"]

    def filter_qualified(self, queryset, name, value):
        return _qualified(queryset, "outcome", value)


class RatingFilter(filters.FilterSet):
    method = filters.CharFilter(field_name="video__method")
    identity_pair = filters.CharFilter(field_name="video__identity_pair")
    role = filters.ChoiceFilter(field_name="video__role", choices=Video.Role.choices)
    attempt = IdFilter(field_name="attempt__number", help_text="The attempt's number within its session (1, 2, ...).")
    outcome = filters.ChoiceFilter(field_name="attempt__outcome", choices=Attempt.Outcome.choices)
    qualified = BooleanFilter(method="filter_qualified", help_text="Ratings of qualified attempts (true) or of the others (false).")
    session = IdFilter(field_name="attempt__session_id")
    video = IdFilter(field_name="video_id")
    score = IdFilter(field_name="score", min_value=1, max_value=5)

    class Meta:
        model = Rating
        fields = ["video", "score", "method", "identity_pair", "role", "attempt", "outcome", "qualified", "session"]

    def filter_qualified(self, queryset, name, value):
        return _qualified(queryset, "attempt__outcome", value)


class JobFilter(filters.FilterSet):
    campaign = filters.CharFilter(method="filter_campaign", help_text="The slug of the campaign the jobs are about.")

    class Meta:
        model = Job
        fields = ["kind", "status", "campaign"]

    def filter_campaign(self, queryset, name, value):
        from jobs.selectors import campaign_subject

        ids = list(Campaign.objects.filter(slug=value).values_list("pk", flat=True))
        return queryset.filter(subject__in=[campaign_subject(pk) for pk in ids])


class TrainedModelFilter(filters.FilterSet):
    campaign = filters.CharFilter(field_name="campaign__slug", help_text="The slug of the campaign of the model's export.")
    split = IdFilter()

    class Meta:
        model = TrainedModel
        fields = ["config", "method", "campaign", "split"]
