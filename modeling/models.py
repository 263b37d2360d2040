"""The model registry: one row per trained model, saying what it learned from, how well it did, and where its files are."""
from django.conf import settings
from django.db import models


class TrainedModel(models.Model):
    """A model trained on one split of an export (modeling.protocol.split_run), its folder saved by modeling.serving.

    The row repeats what the folder's model.json says (so lists and filters need no file) and adds
    who made it and from where: the campaign and export job when it was trained from the platform,
    the export's path and manifest SHA-256 in every case.
    """

    name = models.CharField(max_length=120, unique=True, help_text="The model's folder name under MODELS_ROOT.")
    config = models.CharField(max_length=120, help_text="The configuration (modeling/configs/<config>.json).")
    method = models.CharField(max_length=60, help_text="The registered method class's name.")
    config_values = models.JSONField(default=dict, blank=True, help_text="The configuration after overrides.")
    campaign = models.ForeignKey("annotation.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="trained_models",
                                 help_text="The campaign of the export; none for an export from elsewhere (then superusers only see it).")
    export_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   help_text="The export job whose folder it trained on, when trained from the platform.")
    export_path = models.CharField(max_length=500, help_text="The export folder it trained on.")
    export_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the export's manifest.json: the export's identity.")
    split = models.PositiveIntegerField(help_text="The split it trained on (splits/<split>/).")
    seed = models.BigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True, help_text="Table II's columns on the split's test sets.")
    weights_folder = models.CharField(max_length=500, help_text="The model folder (model.json and method/).")
    weights_used = models.JSONField(default=list, blank=True, help_text="The pretrained files it started from: name, file, sha256.")
    device = models.CharField(max_length=20, blank=True)
    torch_version = models.CharField(max_length=40, blank=True)
    seconds = models.JSONField(default=dict, blank=True, help_text="Seconds to fit and to predict the test sets.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            help_text="The training job that made it (none when trained with manage.py train).")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["campaign", "-created_at"], name="trainedmodel_campaign_recent")]
        constraints = [models.UniqueConstraint(fields=["job"], condition=models.Q(job__isnull=False), name="trainedmodel_one_per_job")]

    def __str__(self):
        return f"{self.name} ({self.config}, split {self.split})"

    @property
    def avr(self) -> float | None:
        return self.metrics.get("avr")
