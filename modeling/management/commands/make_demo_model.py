"""`manage.py make_demo_model`: a small DA-CLIP trained on the demo study and registered, so a fresh clone's predict page works."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analysis.export import selectors as export_selectors
from analysis.export import services as export_services
from annotation.errors import ApplicationError
from annotation.models import Campaign
from jobs import services as job_services
from modeling import services, weights
from modeling.data.export import ExportData
from modeling.job_stages import TRAIN, frames_missing
from modeling.models import TrainedModel
from modeling.protocol import device_resolve


def _queue_nothing(job_id: int) -> None:
    """Jobs of this command run here, stage by stage, whatever broker is configured."""


def frames_or_videos(export: ExportData) -> bool:
    """The export has its face crops, or the videos to make them from (an export without videos has neither)."""
    return not frames_missing(export) or (export.folder / "videos").is_dir()


class Command(BaseCommand):
    help = (
        "Train the default DA-CLIP (frozen pretrained EfficientNet-Lite2, MiniLM reasons) on split 0 of the demo "
        "study and register it: exports the campaign with its videos (10 splits) unless an export exists, converts "
        "the offline pretrained weights (fetch_weights), makes the face crops and trains, all in this process. "
        "Does nothing when the campaign has a registered model of that configuration already (--force trains "
        "another). About a minute on two CPU cores for the small demo study. `make run` calls it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", default="demo-study", help="The campaign's slug (default demo-study).")
        parser.add_argument("--config", default="daclip", help="The configuration to train (default daclip).")
        parser.add_argument("--split", type=int, default=0, help="The split to train on (default 0).")
        parser.add_argument("--force", action="store_true", help="Train and register another model even if one exists.")

    def handle(self, *args, campaign, config, split, force, **options):
        found = Campaign.objects.filter(slug=campaign).first()
        if found is None:
            raise CommandError(f"No campaign {campaign!r}: run `manage.py make_demo_study` first.")
        if not force and TrainedModel.objects.filter(campaign=found, config=config).exists():
            self.stdout.write(f"{campaign} has a registered {config} model already; nothing to do (--force trains another).")
            return
        say = (lambda text: None) if options["verbosity"] == 0 else (lambda text: self.stdout.write(text))
        try:
            if not weights.weights_file("tf_efficientnet_lite2"):
                say("converting the offline pretrained weights (EfficientNet-Lite2)...")
                weights.weights_fetch(["tf_efficientnet_lite2"])
            latest = export_selectors.campaign_latest_export(found)
            if latest is None or not frames_or_videos(ExportData.read(export_selectors.export_folder(latest))):
                say(f"exporting {campaign} with its videos and 10 splits...")
                export = export_services.export_start(campaign=found, parameters={"with_videos": True, "splits": 10},
                                                      enqueue=_queue_nothing)
                job_services.job_run_here(export)
            job = services.train_start(campaign=found, config=config, split=split, device=device_resolve("auto"),
                                       enqueue=_queue_nothing)
            job_services.job_run_here(job, on_stage=lambda stage: say(f"{TRAIN}: {stage}..."))
        except ApplicationError as exc:
            raise CommandError(exc.message)
        model = TrainedModel.objects.filter(job=job).first()
        if model is None:
            raise CommandError(f"The training job {job.pk} finished without registering a model; see its record in the admin.")
        metrics = model.metrics
        self.stdout.write(f"registered model {model.name} ({config}, split {split}): avr {metrics.get('avr', float('nan')):.3f}, "
                          f"PLCC-avr {metrics.get('plcc_avr', float('nan')):.3f}, SRCC-avr {metrics.get('srcc_avr', float('nan')):.3f}")
