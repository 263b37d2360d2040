"""The known truth of the demo study's generated videos: what the simulated crowd and the tests compare ratings with."""
from django.db import models

from annotation.models import Video


class SyntheticTruth(models.Model):
    """The known truth of a generated demo-study video: never shown to annotators.

    `realism` is the latent realism in [1, 5] computed from the artifact strengths by the documented
    function (demo/realism.py, docs/synthetic_study.md); `artifacts` maps each artifact kind
    present to its strength in [0, 1].
    """

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="synthetic_truth")
    realism = models.FloatField()
    artifacts = models.JSONField(default=dict, blank=True)
    target_identity = models.CharField(max_length=20, help_text="The person whose video it is.")
    source_identity = models.CharField(max_length=20, help_text="The person whose face it shows.")
    person = models.JSONField(default=dict, blank=True, help_text="What a viewer can tell about the person shown.")
    generator = models.CharField(max_length=40, help_text="Version of the generator that made it.")

    def __str__(self):
        return f"truth of video {self.video_id}: {self.realism:.2f}"
