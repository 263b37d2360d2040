"""`manage.py run_analysis --campaign SLUG`: start an analysis run of a campaign (Celery, or in-process)."""
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analysis import services
from analysis.job_stages import STAGE_NAMES
from analysis.models import AnalysisRun
from annotation.errors import ApplicationError
from annotation.models import Campaign


class Command(BaseCommand):
    help = "Start a versioned analysis run of a campaign and follow its stages until it completes or fails."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="Slug of the campaign.")
        parser.add_argument("--no-wait", action="store_true", help="Queue the run and return at once.")
        parser.add_argument("--if-needed", action="store_true",
                            help="Only if the campaign has ratings newer than its latest completed run (or none yet).")

    def handle(self, *args, campaign, no_wait, if_needed=False, **options):
        target = Campaign.objects.filter(slug=campaign).first()
        if target is None:
            raise CommandError(f"No campaign with slug {campaign!r}.")
        if if_needed and target not in services.campaigns_needing_analysis():
            self.stdout.write(f"The analysis of {campaign!r} is up to date; nothing to do.")
            return
        try:
            run = services.analysis_run_start(campaign=target, trigger=AnalysisRun.Trigger.COMMAND)
        except ApplicationError as error:
            raise CommandError(error.message)
        if no_wait:
            self.stdout.write(f"Queued analysis v{run.version} (id {run.pk}).")
            return
        bar = tqdm(total=len(STAGE_NAMES), desc=f"analysis v{run.version}", unit="stage", disable=options["verbosity"] == 0)
        while True:
            run.refresh_from_db()
            progress = services.run_progress(run)
            bar.n = progress["done"]
            bar.set_postfix_str(progress["stage"] or progress["status"])
            bar.refresh()
            if run.status in (AnalysisRun.Status.COMPLETED, AnalysisRun.Status.FAILED):
                break
            time.sleep(0.5)
        bar.close()
        if run.status == AnalysisRun.Status.FAILED:
            raise CommandError(f"Analysis v{run.version} failed in stage {run.stage}: {run.error}")
        s = run.summary or {}
        self.stdout.write(f"Analysis v{run.version} completed: {s.get('videos')} videos, SOS a {s.get('sos_a_before')} -> {s.get('sos_a_after')}.")
