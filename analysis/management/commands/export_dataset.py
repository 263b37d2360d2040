"""`manage.py export_dataset SLUG --out DIR`: build a versioned dataset export of a campaign in this process and copy it to DIR."""
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analysis.export import selectors, services
from analysis.export.stages import MEDIA, RATINGS, STAGE_NAMES
from annotation.errors import ApplicationError
from annotation.models import Campaign


class Command(BaseCommand):
    help = (
        "Build the next version of a campaign's dataset export (videos, ratings, splits, sureal file, manifest; the "
        "MP4s with --with-videos) as a job run in this process, no broker needed, and copy it to --out, which must not "
        "exist or be empty. The export is assembled in a temporary folder beside --out and renamed when complete."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Slug of the campaign.")
        parser.add_argument("--out", type=Path, required=True, help="Folder to create for the export (absent or empty).")
        parser.add_argument("--all-attempts", action="store_true",
                            help="Export the ratings of every attempt (disqualified, in progress, abandoned), not qualified ones only.")
        parser.add_argument("--with-videos", action="store_true", help="Copy the transcoded MP4s as videos/<pseudonymous name>.mp4.")
        parser.add_argument("--splits", type=int, default=10, help="Train/test splits to draw (default 10; 0: none).")
        parser.add_argument("--seed", type=int, default=0, help="Split k is drawn with seed + k (default 0).")

    def handle(self, *args, slug, out, all_attempts, with_videos, splits, seed, **options):
        out = Path(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"{out} exists and is not an empty folder; choose a new --out (an export never overwrites files).")
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with slug {slug!r}.")
        parameters = {"include": "all" if all_attempts else "qualified", "with_videos": with_videos, "splits": splits, "seed": seed}
        quiet = options["verbosity"] == 0
        try:
            job = services.export_start(campaign=campaign, parameters=parameters, enqueue=lambda job_id: None)
            stages = tqdm(total=len(STAGE_NAMES), desc=f"export v{job.version}", unit="stage", disable=quiet, position=0)
            work = {RATINGS: tqdm(desc="ratings", unit=" ratings", disable=quiet, position=1, leave=False),
                    MEDIA: tqdm(desc="videos copied", unit=" files", disable=quiet or not with_videos, position=1, leave=False)}

            def on_stage(name):
                stages.n = STAGE_NAMES.index(name)
                stages.set_postfix_str(name)

            try:
                job = services.export_run_here(job, report=lambda stage, amount: work[stage].update(amount), on_stage=on_stage)
            finally:
                for bar in work.values():
                    bar.close()
            stages.n = len(STAGE_NAMES)
            stages.close()
        except ApplicationError as error:
            raise CommandError(error.message)
        self._copy(selectors.export_folder(job), out, job.pk)
        summary = job.summary or {}
        self.stdout.write(f"Export v{job.version} of {slug!r}: {summary.get('ratings')} ratings of {summary.get('videos')} videos, "
                          f"{summary.get('splits')} splits, {summary.get('files')} files ({summary.get('bytes', 0) / 1e6:.1f} MB) in {out}/")

    @staticmethod
    def _copy(source: Path, out: Path, job_id: int) -> None:
        """Copy the finished export to `out` through a temporary folder beside it, so `out` appears only complete."""
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.export-{job_id}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            shutil.copytree(source, tmp)
            if out.exists():
                out.rmdir()  # empty, checked above
            tmp.rename(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
