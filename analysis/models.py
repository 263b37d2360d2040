"""Analysis runs (versioned, with their inputs, parameters, timings and results) and annotator exclusions."""
from django.conf import settings
from django.db import models

from annotation.models import Annotator, Campaign


class AnalysisRun(models.Model):
    """One execution of the analysis pipeline over a campaign's ratings.

    A run is complete only when its last stage stored the results; a failure in any stage marks it
    failed with the error, and dashboards show the latest completed run only.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard"
        COMMAND = "command", "Command"
        SCHEDULE = "schedule", "Schedule"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="analysis_runs")
    version = models.PositiveIntegerField(help_text="1, 2, 3... per campaign.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.DASHBOARD)
    parameters = models.JSONField(default=dict)
    inputs = models.JSONField(default=dict, help_text="Counts and the last rating time the run saw.")
    code_version = models.CharField(max_length=80, blank=True)
    stage = models.CharField(max_length=20, blank=True, help_text="The stage running now, or the one that failed.")
    error = models.TextField(blank=True)
    summary = models.JSONField(null=True, blank=True, help_text="Headline numbers, written by the last stage.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "version"], name="analysis_run_version_unique")]
        indexes = [models.Index(fields=["campaign", "status", "-version"])]

    def __str__(self):
        return f"{self.campaign.slug} analysis v{self.version} ({self.status})"


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
