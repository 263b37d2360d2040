"""`manage.py extract_frames EXPORT_DIR`: face crops of one of every 6 frames of an export's videos."""
from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.errors import ApplicationError
from modeling.frames import detectors
from modeling.frames.extract import FRAMES_DIR, IMAGE_FORMATS, MANIFEST, FrameSettings, export_frames_extract


class Command(BaseCommand):
    help = (
        "Crop the face out of one of every --step frames (default 6) of each video of a dataset export "
        "(EXPORT_DIR/videos.csv and EXPORT_DIR/videos/, as made by the export with videos) into "
        "EXPORT_DIR/frames/<video>/<frame index>.png, squares of --size pixels around the detected face "
        "with --margin of it on each side. A frame without a face takes the video's previous face box, "
        "or the frame's centre before any; frames/manifest.json counts both per video and gives the "
        "detector and its version (the export's own manifest.json is not changed). Videos run in "
        "parallel; a rerun skips videos already complete with the same settings and redoes interrupted ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("export_dir", metavar="EXPORT_DIR", help="The folder of a dataset export made with its videos.")
        parser.add_argument("--detector", default="auto", choices=["auto", *detectors.DETECTORS],
                            help=f"Face detector (default auto: the first installed of {', '.join(detectors.AUTO_ORDER)}).")
        parser.add_argument("--size", type=int, default=224, help="Side of the square crops in pixels (default 224).")
        parser.add_argument("--margin", type=float, default=0.25,
                            help="Added on each side of the face box, as a fraction of its longer side (default 0.25: a square 1.5 times the face).")
        parser.add_argument("--step", type=int, default=6, help="Take one frame of every STEP (default 6, as in the paper).")
        parser.add_argument("--format", dest="image_format", choices=IMAGE_FORMATS, default="png",
                            help="Crop file format (default png: lossless, the video's own artifacts and no JPEG blocking).")
        parser.add_argument("--workers", type=int, default=None, help="Processes, one video each (default: one per core).")

    def handle(self, *args, export_dir, detector, size, margin, step, image_format, workers, **options):
        export = Path(export_dir)
        workers = workers or os.cpu_count() or 1
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        quiet = options["verbosity"] == 0
        try:
            settings = FrameSettings.for_detector(detector, size=size, margin=margin, step=step, image_format=image_format)
            self.stdout.write(f"Detector {settings.detector} ({settings.detector_version}); {settings.size}-pixel crops, "
                              f"margin {settings.margin:g}, one frame of every {settings.step}.")
            outcome = export_frames_extract(
                export, settings=settings, workers=workers,
                progress=lambda it, total: tqdm(it, total=total, unit="video", disable=quiet),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message)
        totals = outcome.totals()
        per_video = f", {totals['seconds_per_video']:.2f} s per video made" if totals["seconds_per_video"] is not None else ""
        self.stdout.write(
            f"{len(outcome.extracted)} video(s) made, {len(outcome.skipped)} already complete{per_video}. "
            f"{totals['frames']} frames: a face detected in {totals['detected']} ({100 * totals['detection_rate']:.1f}%), "
            f"{totals['previous_box']} on the previous face box, {totals['centre']} centre crops. "
            f"Manifest: {export / FRAMES_DIR / MANIFEST}"
        )
        if outcome.failed:
            for name, why in sorted(outcome.failed.items()):
                self.stderr.write(f"{name}: {why}")
            raise CommandError(f"{len(outcome.failed)} video(s) failed; the others are complete. Fix them and run again.")
