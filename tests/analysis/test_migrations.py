"""Migrations 0002-0004 move each analysis run's record to a job without losing a field, and back."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("analysis", "0001_initial")]
CREATED = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def leaves():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.loader.graph.leaf_nodes()


def before():
    """Analysis back at 0001, the other apps at their latest (the campaign rows the test writes need
    today's columns: annotation's own migrations are not under test here)."""
    return BEFORE + [node for node in leaves() if node[0] != "analysis"]


@pytest.mark.django_db(transaction=True)
def test_runs_move_to_jobs_and_back():
    apps = migrate(before())
    Campaign, User = apps.get_model("annotation", "Campaign"), apps.get_model("auth", "User")
    Run, Result = apps.get_model("analysis", "AnalysisRun"), apps.get_model("analysis", "StageResult")
    campaign = Campaign.objects.create(slug="old", title="Old study")
    researcher = User.objects.create(username="researcher")
    done = Run.objects.create(
        campaign=campaign, version=1, status="completed", trigger="command", code_version="analysis-abc",
        parameters={"seed": 3, "pause_after": "", "pause_seconds": 0.0}, inputs={"ratings": 120, "last_rating_at": "2026-03-01"},
        summary={"videos": 12, "sos_a_after": 0.19}, requested_by=researcher, started_at=CREATED, finished_at=CREATED,
    )
    failed = Run.objects.create(campaign=campaign, version=2, status="failed", stage="videos", error="no ratings", parameters={})
    Run.objects.filter(pk=done.pk).update(created_at=CREATED)
    for stage, seconds in (("load", 0.5), ("videos", 0.25), ("store", 0.01)):
        Result.objects.create(run=done, stage=stage, output={stage: [1, 2]}, seconds=seconds)
    Result.objects.create(run=failed, stage="load", output={"inputs": {}}, seconds=0.3)

    apps = migrate(leaves())
    Job, Run = apps.get_model("jobs", "Job"), apps.get_model("analysis", "AnalysisRun")
    moved = Run.objects.get(pk=done.pk)
    job = Job.objects.get(pk=moved.job_id)
    assert (job.kind, job.subject, job.version, job.status, job.code_version) == ("analysis", f"campaign:{campaign.pk}", 1, "completed", "analysis-abc")
    assert job.parameters == {"seed": 3}  # the failure drill is no analysis parameter any more
    assert job.inputs == {"ratings": 120, "last_rating_at": "2026-03-01"} and job.summary == {"videos": 12, "sos_a_after": 0.19}
    assert (job.requested_by_id, job.created_at, job.started_at, job.finished_at) == (researcher.pk, CREATED, CREATED, CREATED)
    assert job.stage_seconds == {"load": 0.5, "videos": 0.25, "store": 0.01}
    assert moved.trigger == "command" and moved.campaign_id == campaign.pk
    other = Job.objects.get(pk=Run.objects.get(pk=failed.pk).job_id)
    assert (other.version, other.status, other.stage, other.error, other.stage_seconds) == (2, "failed", "videos", "no ratings", {"load": 0.3})

    # The app's own code reads the moved runs: results, seconds, latest completed run.
    from analysis import selectors
    from analysis.models import AnalysisRun
    from annotation.models import Campaign as CurrentCampaign

    run = AnalysisRun.objects.get(pk=done.pk)
    assert selectors.run_results(run) == {"load": [1, 2], "videos": [1, 2], "store": [1, 2]}
    assert list(selectors.run_stage_seconds(run)) == ["load", "videos", "store"]
    assert selectors.campaign_latest_run(CurrentCampaign.objects.get(pk=campaign.pk)).pk == done.pk

    apps = migrate(before())
    Run = apps.get_model("analysis", "AnalysisRun")
    back = Run.objects.get(pk=done.pk)
    assert (back.version, back.status, back.code_version, back.summary, back.requested_by_id) == (1, "completed", "analysis-abc", job.summary, researcher.pk)
    assert (back.created_at, back.finished_at, back.parameters) == (CREATED, CREATED, {"seed": 3})
    from jobs.models import Job as CurrentJob  # jobs' own table stays; the runs' jobs are gone from it

    assert not CurrentJob.objects.exists()
    migrate(leaves())  # leave the schema as the other tests expect
