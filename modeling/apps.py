"""Realism models (DA-CLIP and the baselines) trained on exported labels."""
from django.apps import AppConfig


class ModelingConfig(AppConfig):
    name = "modeling"
    verbose_name = "Modeling"

    def ready(self):
        from jobs import registry

        from .job_stages import kinds

        for kind in kinds():
            registry.register(kind)
