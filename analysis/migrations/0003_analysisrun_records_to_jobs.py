"""Analysis runs become jobs (2 of 3): each run's record is copied to a jobs.Job of kind "analysis".

Every existing run gets a job with its version, status, stage, error, parameters, inputs, code
version, summary, requester and times, and the seconds of its stored stage results; the run keeps
its id (so its stage results stay attached), its campaign and its trigger. Unapplied, the job's
fields are copied back onto the run. The failure drill's parameters (pause_after, pause_seconds)
are no longer analysis parameters and are dropped from the stored ones.
"""
from django.db import migrations

MOVED = ("version", "status", "stage", "error", "parameters", "inputs", "code_version", "summary", "requested_by_id",
         "created_at", "started_at", "finished_at")
DRILL_PARAMETERS = ("pause_after", "pause_seconds")


def runs_to_jobs(apps, schema_editor):
    AnalysisRun = apps.get_model("analysis", "AnalysisRun")
    StageResult = apps.get_model("analysis", "StageResult")
    Job = apps.get_model("jobs", "Job")
    for run in AnalysisRun.objects.order_by("id").iterator():
        seconds = dict(StageResult.objects.filter(run_id=run.pk).order_by("finished_at", "id").values_list("stage", "seconds"))
        parameters = {k: v for k, v in (run.parameters or {}).items() if k not in DRILL_PARAMETERS}
        job = Job.objects.create(
            kind="analysis", subject=f"campaign:{run.campaign_id}", version=run.version, status=run.status, stage=run.stage,
            error=run.error, parameters=parameters, inputs=run.inputs or {}, code_version=run.code_version,
            summary=run.summary, requested_by_id=run.requested_by_id, started_at=run.started_at,
            finished_at=run.finished_at, stage_seconds=seconds,
        )
        Job.objects.filter(pk=job.pk).update(created_at=run.created_at)  # auto_now_add set it to now
        AnalysisRun.objects.filter(pk=run.pk).update(job_id=job.pk)


def jobs_to_runs(apps, schema_editor):
    AnalysisRun = apps.get_model("analysis", "AnalysisRun")
    Job = apps.get_model("jobs", "Job")
    for run in AnalysisRun.objects.filter(job__isnull=False).order_by("id").iterator():
        job = Job.objects.get(pk=run.job_id)
        AnalysisRun.objects.filter(pk=run.pk).update(job=None, **{field: getattr(job, field) for field in MOVED})
        job.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("analysis", "0002_analysisrun_job"),
    ]

    operations = [
        migrations.RunPython(runs_to_jobs, jobs_to_runs),
    ]
