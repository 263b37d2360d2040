"""`manage.py import_videos DIR --campaign SLUG --metadata FILE.csv`: ingest a folder of videos."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.ingest import MetadataError, import_videos
from annotation.models import Campaign


class Command(BaseCommand):
    help = (
        "Probe, transcode (H.264/yuv420p MP4 with faststart, plus a poster) and register the videos "
        "listed in a metadata CSV. Columns: file (required), identity_pair, method, is_real, "
        "gold_score (checkers only), demo_grade and demo_reason (lecture videos only). Files are "
        "stored under their content hash; re-running updates labels without transcoding again. "
        "Exits with status 1 if any row failed (the others are still imported)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="Folder holding the video files named in the CSV.")
        parser.add_argument("--campaign", required=True, help="Slug of the campaign the videos belong to.")
        parser.add_argument("--metadata", required=True, type=Path, help="The metadata CSV file.")
        parser.add_argument("--workers", type=int, default=None, help="Parallel transcodes (default: one per core).")

    def handle(self, *args, directory: Path, campaign: str, metadata: Path, workers, **options):
        target = Campaign.objects.filter(slug=campaign).first()
        if target is None:
            raise CommandError(f"No campaign with slug {campaign!r}. Create it in the admin first.")
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        try:
            report = import_videos(
                campaign=target,
                source_dir=directory,
                metadata=metadata,
                workers=workers,
                progress=lambda it: tqdm(it, desc="videos", unit="video", disable=options["verbosity"] == 0),
            )
        except MetadataError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"{len(report.created)} imported, {len(report.updated)} already present (updated), {len(report.errors)} failed.")
        for error in report.errors:
            self.stderr.write(f"  {error}")
        if not report.ok:
            raise CommandError(f"{len(report.errors)} row(s) could not be imported; see above. The other videos were imported.", returncode=1)
