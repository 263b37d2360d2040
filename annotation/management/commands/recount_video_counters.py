"""`manage.py recount_video_counters`: find and fix drift in the per-video session counters."""
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import selectors, services
from annotation.models import Campaign


class Command(BaseCommand):
    help = (
        "Compare each regular video's counter of sessions in progress or qualified (what assignment balances) "
        "with a recount from the sessions, report the drift, and fix it unless --check is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", metavar="SLUG", help="only this campaign (default: every campaign)")
        parser.add_argument("--check", action="store_true", help="report only; exit 1 if any counter drifted")

    def handle(self, *args, campaign=None, check=False, **options):
        campaigns = Campaign.objects.order_by("slug")
        if campaign:
            campaigns = campaigns.filter(slug=campaign)
            if not campaigns.exists():
                raise CommandError(f"No campaign with the slug {campaign!r}.")
        drifted = 0
        for one in tqdm(list(campaigns), desc="campaigns", unit="campaign", disable=None):
            drift = selectors.video_counter_drift(one) if check else services.video_counters_recount(campaign=one)
            drifted += len(drift)
            for video_id, (stored, counted) in sorted(drift.items()):
                self.stdout.write(f"{one.slug}: video {video_id}: counter {stored}, recount {counted}")
        verb = "drifted" if check else "fixed"
        self.stdout.write(f"{drifted} counter(s) {verb}.")
        if check and drifted:
            raise SystemExit(1)
