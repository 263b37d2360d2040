"""After a consent withdrawal: analyses leave the annotator out, and the exports made before are listed as affected."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analysis import exports, selectors, services
from analysis.models import AnnotatorExclusion
from annotation import services as annotation_services
from annotation.models import Annotator, Campaign, Rating
from jobs.models import Job

from ..roles import researcher
from .factories import rated_campaign

pytestmark = pytest.mark.django_db


def withdraw_with_first_rating_at(annotator: Annotator, first: timezone.datetime, now: timezone.datetime):
    """Withdraw `annotator`, whose ratings are dated from `first` on."""
    Rating.objects.filter(attempt__session__annotator=annotator).update(created_at=first + timedelta(minutes=5))
    Rating.objects.filter(pk=Rating.objects.filter(attempt__session__annotator=annotator).order_by("pk").first().pk).update(created_at=first)
    return annotation_services.annotator_withdraw(annotator=annotator, now=now)


def export_job(campaign: Campaign, version: int, started, finished, *, kind="export", status=Job.Status.COMPLETED) -> Job:
    # Written as rows: the export kind is registered with the job runner by the export itself
    # (jobs.services.job_create refuses a kind it does not know), and only the rows matter here.
    return Job.objects.create(kind=kind, subject=f"campaign:{campaign.pk}", version=version, status=status,
                              started_at=started, finished_at=finished)


def test_exports_finished_after_the_first_rating_and_started_before_the_withdrawal_are_affected():
    campaign = rated_campaign(slug="wd", n_annotators=4, n_videos=6)
    other = rated_campaign(slug="wd-other", n_annotators=2, n_videos=3)
    annotator = Annotator.objects.filter(campaign=campaign).first()
    first = timezone.now() - timedelta(days=10)
    at = first + timedelta(days=5)  # the withdrawal
    hour = timedelta(hours=1)
    before_any = export_job(campaign, 1, first - 3 * hour, first - 2 * hour)
    across_first = export_job(campaign, 2, first - hour, first + hour)
    between = export_job(campaign, 3, first + 2 * hour, first + 3 * hour)
    running_then = export_job(campaign, 4, at - hour, at + hour)
    after = export_job(campaign, 5, at + hour, at + 2 * hour)
    failed = export_job(campaign, 6, first + 2 * hour, first + 3 * hour, status=Job.Status.FAILED)
    analysis = export_job(campaign, 1, first + 2 * hour, first + 3 * hour, kind="analysis")
    elsewhere = export_job(other, 1, first + 2 * hour, first + 3 * hour)
    withdrawal = withdraw_with_first_rating_at(annotator, first, at)
    assert withdrawal.first_rating_at == first

    affected = list(selectors.withdrawal_affected_exports(withdrawal))
    assert affected == [across_first, between, running_then]
    assert not {before_any, after, failed, analysis, elsewhere} & set(affected)


def test_an_annotator_without_ratings_affects_no_export():
    campaign = Campaign.objects.create(slug="empty", title="Empty")
    annotator = Annotator.objects.create(campaign=campaign, source=Annotator.Source.LINK, external_id="browser-1")
    now = timezone.now()
    export_job(campaign, 1, now - timedelta(days=2), now - timedelta(days=1))
    withdrawal = annotation_services.annotator_withdraw(annotator=annotator, now=now)
    assert list(selectors.withdrawal_affected_exports(withdrawal)) == []


def test_later_analyses_and_exports_leave_the_withdrawn_annotator_out(django_capture_on_commit_callbacks):
    campaign = rated_campaign(slug="gone", n_annotators=12, n_videos=10)
    annotation_services.video_counters_recount(campaign=campaign)  # the factory writes rows, not counters
    with django_capture_on_commit_callbacks(execute=True):
        first = services.analysis_run_start(campaign=campaign)
    first.refresh_from_db()
    _, rows = exports.ratings_export(campaign)
    exported_before = len(list(rows))
    annotators = list(Annotator.objects.filter(campaign=campaign).order_by("pk"))
    withdrawn, excluded = annotators[3], annotators[5]
    services.exclusion_add(campaign=campaign, annotator=withdrawn, reason="asked to leave")  # goes with the row
    services.exclusion_add(campaign=campaign, annotator=excluded)
    excluded_ratings = Rating.objects.filter(attempt__session__annotator=excluded).count()

    withdrawal = annotation_services.annotator_withdraw(annotator=withdrawn)
    assert list(AnnotatorExclusion.objects.filter(campaign=campaign).values_list("annotator_id", flat=True)) == [excluded.pk]
    with django_capture_on_commit_callbacks(execute=True):
        second = services.analysis_run_start(campaign=campaign)
    second.refresh_from_db()
    assert first.status == second.status == Job.Status.COMPLETED, second.error
    # The first run had 12 annotators; the second leaves out the excluded one and the withdrawn one.
    assert (first.inputs["annotators"], second.inputs["annotators"]) == (12, 10)
    assert withdrawal.ratings_deleted > 0 and excluded_ratings > 0
    assert second.inputs["ratings"] == first.inputs["ratings"] - withdrawal.ratings_deleted - excluded_ratings
    assert withdrawn.pk not in selectors.run_results(second)["subjects"]["annotators"]["annotator"]
    _, rows = exports.ratings_export(campaign)
    assert len(list(rows)) == exported_before - withdrawal.ratings_deleted


def test_the_withdrawals_page_lists_them_with_their_affected_exports(client):
    campaign = rated_campaign(slug="page", n_annotators=3, n_videos=4)
    staff = researcher("researcher", campaign=campaign, role="analyst")
    annotator = Annotator.objects.filter(campaign=campaign).first()
    first = timezone.now() - timedelta(days=3)
    export_job(campaign, 1, first + timedelta(hours=1), first + timedelta(hours=2))
    withdrawal = withdraw_with_first_rating_at(annotator, first, timezone.now())
    withdrawal.requested_by = staff
    withdrawal.save()
    url = f"/staff/campaigns/{campaign.slug}/withdrawals/"
    assert client.get(url).status_code == 302, "researchers only"
    client.force_login(staff)
    page = client.get(url).content.decode()
    assert withdrawal.annotator in page and "export v1" in page and "researcher" in page
    assert annotator.external_id not in page
