"""The record of one job: what it ran on, with which parameters and code, how it went, stage by stage."""
from django.conf import settings
from django.db import models


class Job(models.Model):
    """One execution of a registered job kind (analysis, export, training) over one subject.

    Versions count 1, 2, 3... per (kind, subject), so "the analysis v7 of campaign 12" names one
    record for good. A job is completed only when its last stage returned; any stage that raises
    marks it failed with the error, and the stages after it do not run.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=40, help_text="A kind registered with jobs.registry (e.g. analysis).")
    subject = models.CharField(max_length=100, help_text='What the job is about, e.g. "campaign:12"; versions count per kind and subject.')
    version = models.PositiveIntegerField(help_text="1, 2, 3... per kind and subject.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    parameters = models.JSONField(default=dict, help_text="The kind's typed parameters, as stored.")
    inputs = models.JSONField(default=dict, blank=True, help_text="A fingerprint of the input data the job saw (counts, last change).")
    code_version = models.CharField(max_length=80, blank=True, help_text="A fingerprint of the code that computed the outputs.")
    stage = models.CharField(max_length=40, blank=True, help_text="The stage running now, or the one that failed.")
    stage_seconds = models.JSONField(default=dict, blank=True, help_text="Seconds of every finished stage, by name (jsonb keeps no order: see selectors.job_stage_seconds).")
    error = models.TextField(blank=True)
    summary = models.JSONField(null=True, blank=True, help_text="Headline outputs, written by the job's stages.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "subject", "version"], name="job_version_unique")]
        indexes = [models.Index(fields=["kind", "subject", "status", "-version"], name="job_latest_by_status")]

    def __str__(self):
        return f"{self.kind} v{self.version} of {self.subject} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)
