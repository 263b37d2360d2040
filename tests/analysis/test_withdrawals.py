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


# --- Earlier results lose the person: analysis runs rewritten, exports deleted ------------------------


def test_a_stage_output_loses_the_rows_of_the_given_annotators_only():
    from analysis.withdrawals import annotator_ids_in, without_annotators

    output = {"subjects": {"annotators": {"annotator": [3, 7, 9], "bias": [0.1, None, -0.2]},
                           "videos": {"video": [7, 8], "mos": [2.0, 3.0]}, "bt500_rejected": 1},
              "reasons": {"flagged": {"video": [1, 2], "annotator": [7, 7], "reason": ["ok", "fine"]},
                          "words": {"word": ["mouth"], "count": [4]}}}
    assert annotator_ids_in(output) == {3, 7, 9}
    cleaned, removed = without_annotators(output, [7])
    assert removed == 3 and annotator_ids_in(cleaned) == {3, 9}
    assert cleaned["subjects"]["annotators"] == {"annotator": [3, 9], "bias": [0.1, -0.2]}
    assert cleaned["reasons"]["flagged"] == {"video": [], "annotator": [], "reason": []}
    # Video 7 is not annotator 7; nothing else moves.
    assert cleaned["subjects"]["videos"] == output["subjects"]["videos"] and cleaned["reasons"]["words"] == output["reasons"]["words"]
    assert without_annotators(output, [42]) == (output, 0)


def _traces(annotator_id: int, pseudonym: str, artifact_root) -> list[str]:
    """Where the person still is: per-annotator rows of any run's stored outputs, any file of any
    job (analysis artifacts, exports) naming the pseudonym or holding their id in an annotator column."""
    import json

    import pyarrow.parquet as pq

    from analysis.models import StageResult
    from analysis.withdrawals import annotator_ids_in

    found = []
    for result in StageResult.objects.all():
        if annotator_id in annotator_ids_in(result.output):
            found.append(f"run {result.run_id} {result.stage}: id")
        if pseudonym in json.dumps(result.output):
            found.append(f"run {result.run_id} {result.stage}: pseudonym")
    for path in sorted(artifact_root.rglob("*")):
        if not path.is_file():
            continue
        if pseudonym.encode() in path.read_bytes():
            found.append(f"{path.relative_to(artifact_root)}: pseudonym")
        if path.suffix == ".parquet" and "annotator" in pq.read_schema(path).names:
            column = pq.read_table(path, columns=["annotator"]).column("annotator").to_pylist()
            if annotator_id in column or pseudonym in column:
                found.append(f"{path.relative_to(artifact_root)}: annotator column")
    return found


def test_no_per_annotator_row_of_a_withdrawn_person_survives_in_earlier_runs_or_exports(
        client, settings, tmp_path, django_capture_on_commit_callbacks):
    from analysis.export import services as export_services
    from analysis.job_stages import STAGE_NAMES, _output_store
    from analysis.models import AnalysisRun, StageResult
    from annotation import pseudonyms
    from jobs import services as job_services

    settings.JOBS_ARTIFACT_ROOT = root = tmp_path / "jobs"
    campaign = rated_campaign(slug="forget", n_annotators=10, n_videos=8)
    annotation_services.video_counters_recount(campaign=campaign)
    person = Annotator.objects.filter(campaign=campaign).order_by("pk")[2]
    pseudonym = pseudonyms.annotator_name(campaign.pk, person.pk)
    Rating.objects.filter(attempt__session__annotator=person).update(typed_reason="ok", reason="ok")  # flagged: too short
    with django_capture_on_commit_callbacks(execute=True):
        done = services.analysis_run_start(campaign=campaign)
    export = export_services.export_run_here(export_services.export_start(campaign=campaign, enqueue=lambda job_id: None))
    # A run still going: its load stage has read the ratings into its artifact folder.
    going = services.analysis_run_start(campaign=campaign, enqueue=lambda job_id: None)
    job_services.job_stage_execute(job_id=going.job_id, stage="load")
    subjects_output = StageResult.objects.get(run=done, stage="subjects").output  # what a stage of `going` might compute
    before = _traces(person.pk, pseudonym, root)
    assert any("subjects: id" in t for t in before) and any("groups: id" in t for t in before)
    assert any("reasons: id" in t for t in before), "the person's short reason was flagged"
    assert any(t.startswith("analysis/") for t in before) and any(t.startswith("export/") for t in before)

    withdrawal = annotation_services.annotator_withdraw(annotator=person)

    assert _traces(person.pk, pseudonym, root) == []
    done.refresh_from_db()
    going.refresh_from_db()
    assert (done.withdrawn_after, going.withdrawn_after) == (1, 1)
    assert done.status == AnalysisRun.Status.COMPLETED and set(StageResult.objects.filter(run=done).values_list("stage", flat=True)) == set(STAGE_NAMES)
    assert len(selectors.run_results(done)["subjects"]["annotators"]["annotator"]) == 9  # the others stay
    assert not (root / "export" / str(export.pk)).exists()
    # A stage of the run still going that read the person's ratings before the withdrawal writes without them.
    _output_store(going, "subjects", subjects_output, 0.0)
    assert _traces(person.pk, pseudonym, root) == []
    # The rest of that run completes without the person, and says it was made before a withdrawal.
    for stage in STAGE_NAMES[1:]:
        job_services.job_stage_execute(job_id=going.job_id, stage=stage)
    going.refresh_from_db()
    assert going.status == AnalysisRun.Status.COMPLETED and going.inputs["annotators"] == 10
    assert _traces(person.pk, pseudonym, root) == []
    # A later run is not marked.
    with django_capture_on_commit_callbacks(execute=True):
        later = services.analysis_run_start(campaign=campaign)
    later.refresh_from_db()
    assert later.withdrawn_after == 0 and later.inputs["annotators"] == 9

    staff = researcher("wd-analyst", campaign=campaign, role="analyst")
    client.force_login(staff)
    page = client.get(f"/staff/campaigns/{campaign.slug}/withdrawals/").content.decode()
    assert withdrawal.annotator in page and f"export v{export.version}" in page and "files deleted" in page
    assert f"analysis v{done.version}" in page and f"analysis v{going.version}" in page and f"analysis v{later.version}" not in page
    dashboard = client.get(f"/staff/campaigns/{campaign.slug}/analysis/")
    assert dashboard.status_code == 200 and "re-run for exact statistics" in dashboard.content.decode()
