"""`manage.py train CONFIG --export DIR --split K`: train one configuration on one split, print its metrics, save (and register) the model."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotation.errors import ApplicationError
from modeling.data.export import ExportData
from modeling.management.progress import Bars, add_common_arguments, overrides_parse
from modeling.metrics import METRIC_COLUMNS
from modeling.protocol import split_run
from modeling.serving import model_save


class Command(BaseCommand):
    help = (
        "Train configuration CONFIG (a name of modeling/configs/, or a JSON file's path) on the training videos of split K "
        "of a dataset export (its face crops extracted: manage.py extract_frames), score it on Test-1/2/3 (PLCC, SRCC, "
        "their averages and avr, the paper's Table II for one split), and save the model folder under MODELS_ROOT/<name>/ "
        "(var/models/ by default). --register adds it to the model registry (admin, dashboard, API)."
    )

    def add_arguments(self, parser):
        parser.add_argument("config", metavar="CONFIG", help="A configuration name (modeling/configs/<name>.json) or a .json file.")
        parser.add_argument("--export", required=True, help="The dataset export's folder.")
        parser.add_argument("--split", type=int, required=True, help="The split to train on (splits/<K>/).")
        parser.add_argument("--name", default=None, help="The model's name and folder (default <config>-split<K>-<date-time>).")
        parser.add_argument("--register", action="store_true", help="Add the model to the registry (database).")
        add_common_arguments(parser)

    def handle(self, *args, config, export, split, name, register, overrides, device, seed, cache, **options):
        bars = Bars(disable=options["verbosity"] == 0)
        try:
            data = ExportData.read(export)
            run = split_run(data, config, split, overrides=overrides_parse(overrides), device=device, seed=seed, progress=bars,
                            work=Path(settings.VAR_DIR) / "work",
                            cache_root=Path(cache) if cache else None)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        finally:
            bars.close()
        name = name or f"{run.row['config']}-split{split}-{time.strftime('%Y%m%d-%H%M%S')}"
        folder = Path(settings.MODELS_ROOT) / name
        model_save(folder, run, data, name=name)
        shutil.rmtree(run.work, ignore_errors=True)  # its checkpoints: the model folder holds the result
        metrics = run.row["metrics"]
        self.stdout.write(f"{run.row['config']} on split {split} ({run.row['videos']['train']} training videos, {run.row['device']}, "
                          f"fit {run.row['seconds']['fit']:.1f} s):")
        self.stdout.write("  " + "  ".join(f"{column} {metrics[column]:.3f}" for column in METRIC_COLUMNS))
        if run.row.get("weights_used"):
            self.stdout.write("  pretrained: " + ", ".join(f"{w.get('name')} ({str(w.get('sha256', ''))[:12]})" for w in run.row["weights_used"]))
        self.stdout.write(f"Model saved in {folder}")
        if register:
            from modeling.services import model_register

            model = model_register(folder=folder, export=data)
            self.stdout.write(f"Registered as model {model.pk} ({model.name}).")
