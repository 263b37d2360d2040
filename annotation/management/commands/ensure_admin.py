"""`manage.py ensure_admin`: make sure a researcher login exists and print it."""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the superuser 'admin' with a random password (printed) unless one already exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin login: user {username!r} already exists (password unchanged).")
            return
        password = secrets.token_urlsafe(9)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"Admin login: user {username!r}, password {password!r}")
