"""Analysis runs (each a job of kind "analysis" over a campaign), their stage outputs, and annotator exclusions."""
from django.conf import settings
from django.db import models

from annotation.models import Annotator, Campaign
from jobs.models import Job


class _FromJob:
    """A read-only attribute of the run that is its job's field of the same name."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, run, owner=None):
        if run is None:
            return self
        return getattr(run.job, self.name)


class AnalysisRun(models.Model):
    """One execution of the analysis over a campaign's ratings: the campaign's side of its job.

    The job (jobs.Job, kind "analysis", subject "campaign:<id>") holds the version, status,
    parameters, inputs, code version, seconds per stage and the summary; this row ties it to the
    campaign and says what started it. A run is complete only when its last stage stored the
    results; dashboards show the latest completed run only.
    """

    Status = Job.Status

    class Trigger(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard"
        COMMAND = "command", "Command"
        SCHEDULE = "schedule", "Schedule"
        API = "api", "API"

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="analysis_run")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="analysis_runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.DASHBOARD)
    withdrawn_after = models.PositiveIntegerField(
        default=0, help_text="Annotators who withdrew consent after this run read their ratings: their per-annotator rows "
                             "were removed from its results (analysis.withdrawals), its aggregates still include them.")

    version = _FromJob()
    status = _FromJob()
    stage = _FromJob()
    error = _FromJob()
    parameters = _FromJob()
    inputs = _FromJob()
    code_version = _FromJob()
    summary = _FromJob()
    requested_by = _FromJob()
    created_at = _FromJob()
    started_at = _FromJob()
    finished_at = _FromJob()

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.campaign.slug} analysis v{self.version} ({self.status})"

    def get_status_display(self) -> str:
        return self.job.get_status_display()


class StageResult(models.Model):
    """The output of one stage of one run; a stage re-run after a crash overwrites its own row."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="stage_results")
    stage = models.CharField(max_length=20)
    output = models.JSONField()
    seconds = models.FloatField()
    finished_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "finished_at"]
        constraints = [models.UniqueConstraint(fields=["run", "stage"], name="stage_result_once")]


class AnnotatorExclusion(models.Model):
    """A researcher's decision to leave an annotator's ratings out of the analysis."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="exclusions")
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="exclusions")
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "annotator"], name="exclusion_once")]

    def __str__(self):
        return f"exclude {self.annotator} from {self.campaign.slug}"
