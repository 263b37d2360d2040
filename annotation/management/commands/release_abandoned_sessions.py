"""`manage.py release_abandoned_sessions`: abandon idle sessions so their videos go back to the pool."""
from django.core.management.base import BaseCommand

from annotation.services import sessions_release_abandoned


class Command(BaseCommand):
    help = "Mark sessions idle past their campaign's timeout as abandoned (Celery beat also runs this every 5 minutes)."

    def handle(self, *args, **options):
        self.stdout.write(f"{sessions_release_abandoned()} session(s) released.")
