"""The analysis pipeline on the database: versioned runs, failures, exclusions, and a real Celery worker."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from scipy import stats

from analysis import selectors, services
from analysis.job_stages import STAGE_NAMES
from analysis.models import AnalysisRun, StageResult
from annotation.models import Annotator, Campaign, Rating
from jobs.models import Job
from jobs.tasks import enqueue_job

from ..celery_workers import ROOT, drill_setup, wait_for, worker_start, workers_stop
from .factories import rated_campaign



def start(campaign, **kwargs) -> AnalysisRun:
    run = services.analysis_run_start(campaign=campaign, **kwargs)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_in_process_run_completes_with_independent_numbers(django_capture_on_commit_callbacks):
    campaign = rated_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        run = start(campaign, parameters={"consistency_repetitions": 4})
    run.refresh_from_db()
    assert run.status == AnalysisRun.Status.COMPLETED, run.error
    assert run.version == 1 and run.code_version.startswith("analysis-")
    assert (run.job.kind, run.job.subject) == ("analysis", f"campaign:{campaign.pk}")
    assert list(selectors.run_stage_seconds(run)) == list(STAGE_NAMES)
    assert set(StageResult.objects.filter(run=run).values_list("stage", flat=True)) == set(STAGE_NAMES)
    assert run.inputs["annotators"] == 30 and run.inputs["videos"] == 24
    assert run.inputs["ratings"] == Rating.objects.filter(video__role="regular").count()

    results = selectors.run_results(run)
    # MOS and its CI, recomputed straight from the database with scipy, qualified attempts only.
    rows = Rating.objects.filter(attempt__outcome="qualified", video__role="regular").values_list("video_id", "score")
    frame = pd.DataFrame(list(rows), columns=["video", "score"])
    videos = pd.DataFrame(results["videos"]).set_index("video")
    for video, scores in frame.groupby("video")["score"]:
        assert videos.loc[video, "mos"] == pytest.approx(scores.mean())
        low, high = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
        assert videos.loc[video, "ci_low"] == pytest.approx(low) and videos.loc[video, "ci_high"] == pytest.approx(high)
    # Disqualified passes are noisier, so rectification lowers the SOS parameter.
    assert run.summary["sos_a_after"] < run.summary["sos_a_before"]
    assert set(run.summary["kruskal"]) >= {"age", "gender", "education", "prior_knowledge"}
    assert len(results["subjects"]["annotators"]["annotator"]) == 30


@pytest.mark.django_db
def test_versions_exclusions_and_rerun(django_capture_on_commit_callbacks):
    campaign = rated_campaign(slug="excl", n_annotators=12, n_videos=10)
    with django_capture_on_commit_callbacks(execute=True):
        first = start(campaign)
    annotator = Annotator.objects.filter(campaign=campaign).first()
    services.exclusion_add(campaign=campaign, annotator=annotator, reason="pasted the same text")
    with django_capture_on_commit_callbacks(execute=True):
        second = start(campaign)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert first.inputs["annotators"] == 12 and second.inputs["annotators"] == 11
    assert second.inputs["excluded_annotators"] == 1
    assert annotator.pk not in selectors.run_results(second)["subjects"]["annotators"]["annotator"]
    assert selectors.campaign_latest_run(campaign).pk == second.pk


@pytest.mark.django_db
def test_a_failing_stage_marks_the_run_failed_never_complete(django_capture_on_commit_callbacks):
    campaign = Campaign.objects.create(slug="empty", title="Nothing rated")
    with django_capture_on_commit_callbacks(execute=True):
        run = start(campaign)
    run.refresh_from_db()
    assert run.status == AnalysisRun.Status.FAILED
    assert run.stage == "videos" and "no ratings" in run.error
    assert run.summary is None
    assert selectors.campaign_latest_run(campaign) is None


@pytest.mark.django_db
def test_bad_parameters_are_refused():
    from annotation.errors import ApplicationError

    with pytest.raises(ApplicationError) as bad:
        services.analysis_run_start(campaign=Campaign.objects.create(slug="p", title="p"), parameters={"sede": 3})
    assert bad.value.code == "bad_parameters" and "sede" in bad.value.message


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_survives_being_killed_mid_run():
    """Stages run on a real worker over Redis; SIGKILL during a stage, a new worker finishes the run."""
    broker = os.environ.get("CELERY_TEST_BROKER_URL")
    if not broker or connection.vendor != "postgresql":
        pytest.skip("needs CELERY_TEST_BROKER_URL (Redis) and PostgreSQL, as `make test` sets")
    campaign = rated_campaign(slug="killed", n_annotators=20, n_videos=16)
    artifacts = ROOT / "var" / "test" / "jobs-artifacts"
    env, client = drill_setup(broker, artifacts, "analysis-test-client")
    first = worker_start(env)
    second = None
    try:
        # The drill is a task option of this test's queueing, never one of the run's parameters:
        # the consistency stage sleeps 5 s after its work, before the runner records it.
        run = services.analysis_run_start(
            campaign=campaign, trigger=AnalysisRun.Trigger.COMMAND, parameters={"consistency_repetitions": 3},
            enqueue=lambda job_id: enqueue_job(job_id, app=client, pause_after={"consistency": 5}),
        )
        assert "pause" not in str(run.parameters)
        wait_for(lambda: Job.objects.filter(pk=run.job_id, stage="consistency").exists(), seconds=60,
                 failure=lambda: "the worker never reached the consistency stage")
        time.sleep(1.5)
        os.killpg(first.pid, signal.SIGKILL)  # in the pause: the task is not acknowledged, the stage not recorded
        killed_at = time.time()
        first.wait(timeout=10)
        run.refresh_from_db()
        assert run.status == AnalysisRun.Status.RUNNING and "consistency" not in run.job.stage_seconds
        # The stage's output is written (and will be overwritten); the ratings travel between stages as Parquet.
        assert StageResult.objects.filter(run=run, stage="consistency").exists()
        stored = artifacts / "analysis" / str(run.job_id)
        assert sorted(p.name for p in stored.iterdir()) == ["ratings.parquet"]
        assert (stored / "ratings.parquet").read_bytes()[:4] == b"PAR1"
        second = worker_start(env)

        def finished() -> bool:
            run.refresh_from_db()
            return run.status in (AnalysisRun.Status.COMPLETED, AnalysisRun.Status.FAILED)

        wait_for(finished, seconds=90, every=0.5,
                 failure=lambda: f"the run did not finish after the worker was killed (stage {run.stage})")
    finally:
        workers_stop(first, second)
    assert run.status == AnalysisRun.Status.COMPLETED, run.error
    consistency = StageResult.objects.get(run=run, stage="consistency")
    assert consistency.finished_at.timestamp() > killed_at  # written again by the second worker, one row
    assert list(selectors.run_stage_seconds(run)) == list(STAGE_NAMES)
    assert not stored.exists()  # the store stage removed the ratings file
    assert set(StageResult.objects.filter(run=run).values_list("stage", flat=True)) == set(STAGE_NAMES)
    assert np.isfinite(run.summary["sos_a_after"])


@pytest.mark.django_db
def test_schedule_reanalyses_only_campaigns_with_new_ratings(django_capture_on_commit_callbacks):
    from analysis.tasks import refresh_open_campaigns

    campaign = rated_campaign(slug="sched", n_annotators=6, n_videos=5)
    Campaign.objects.create(slug="quiet", title="No ratings")
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_open_campaigns() == 1
    run = AnalysisRun.objects.get()
    assert run.status == AnalysisRun.Status.COMPLETED and run.trigger == AnalysisRun.Trigger.SCHEDULE
    assert services.campaigns_needing_analysis() == []
    rating = Rating.objects.filter(video__campaign=campaign).first()
    rating.pk = None
    rating.attempt = rating.attempt.session.attempts.create(number=9, video_order=[], outcome="qualified")
    rating.save()
    assert services.campaigns_needing_analysis() == [campaign]
