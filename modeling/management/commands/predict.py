"""`manage.py predict MODEL VIDEO...`: score videos with a trained model (same probe, frames and face crop as the export); JSON out."""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.errors import ApplicationError
from modeling.management.progress import Bars
from modeling.serving import EXPLAIN_K, MODEL_FILE, model_load, videos_predict


class Command(BaseCommand):
    help = (
        "Score each VIDEO with MODEL (a registry id or name, or a model folder): the video is probed as the ingest does and "
        "cropped around the face as the model's export was, then predicted. Prints a JSON list, one object per video: "
        "score (predicted MOS), frames and faces detected, and, when the method explains, the top-K training videos with "
        "their reasons and the 37-share category vector. A video that cannot be used gets code and error instead "
        "(and the command exits with an error after printing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("model", metavar="MODEL", help="A registry id or name, or a model folder (with model.json).")
        parser.add_argument("videos", metavar="VIDEO", nargs="+", help="Video files.")
        parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto).")
        parser.add_argument("--k", type=int, default=EXPLAIN_K, help=f"Training videos in an explanation (default {EXPLAIN_K}).")
        parser.add_argument("--out", default=None, help="Write the JSON to this file too.")

    def handle(self, *args, model, videos, device, k, out, **options):
        bars = Bars(disable=options["verbosity"] == 0)
        try:
            loaded = model_load(self._folder(model))
            results = videos_predict(loaded, [Path(v) for v in videos], names=videos, device=device, k=k, progress=bars)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        finally:
            bars.close()
        text = json.dumps(results, indent=2, allow_nan=False)
        self.stdout.write(text)
        if out:
            Path(out).write_text(text + "\n", encoding="utf-8")
        failed = [r for r in results if "error" in r]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} video(s) could not be scored: " + "; ".join(r["error"] for r in failed))

    @staticmethod
    def _folder(model: str) -> Path:
        """A model folder from a path, a registry name or a registry id."""
        if (Path(model) / MODEL_FILE).is_file():
            return Path(model)
        from modeling.models import TrainedModel

        row = TrainedModel.objects.filter(name=model).first() or (TrainedModel.objects.filter(pk=int(model)).first() if model.isdigit() else None)
        if row is None:
            raise CommandError(f"No model {model!r}: give a registry id or name (see the admin), or a model folder.")
        return Path(row.weights_folder)
