"""The load benchmark's (and the soak's) seeded history is written with raw SQL for speed, so a new
NOT NULL column of the annotation tables breaks it without any model code noticing: this test runs it
on today's schema. (Annotator.entry_token did exactly that; the soak found it, no test did.)"""
from __future__ import annotations

import pytest
from django.db import connection

from annotation.models import AnnotationSession, Annotator, Rating
from bench.annotation_load import seed


@pytest.mark.django_db(transaction=True)
def test_the_seeded_history_is_written_on_todays_schema(make_campaign):
    if connection.vendor != "postgresql":
        pytest.skip("the seed is PostgreSQL SQL (jsonb), as the benchmark's database is")
    campaign = make_campaign(slug=seed.SLUG)
    last_rating = seed.seed_history(3)
    people = Annotator.objects.filter(campaign=campaign, external_id__startswith=seed.HISTORY_PREFIX)
    assert people.count() == 3 and not people.exclude(entry_token="").exists()
    sessions = AnnotationSession.objects.filter(annotator__in=people)
    assert sorted(sessions.values_list("status", flat=True)) == [AnnotationSession.Status.QUALIFIED] * 3
    assert Rating.objects.filter(attempt__session__in=sessions).count() == 3 * campaign.videos_per_session
    assert last_rating == Rating.objects.order_by("-pk").values_list("pk", flat=True).first()
