"""`manage.py api_token USERNAME [--rotate]`: the API token of a user, created if they have none."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Print the API token of USERNAME (created if the user has none) for scripts: send it as the header "
        "'Authorization: Token <key>' to /api/v1/. The token acts with the user's roles and permissions. "
        "--rotate replaces an existing token (the old one stops working)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The user the token belongs to.")
        parser.add_argument("--rotate", action="store_true", help="Replace the user's token with a new one.")

    def handle(self, *args, username: str, rotate: bool, **options):
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user {username!r}. Create it first (manage.py createsuperuser, or in the admin).")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; a token would not authenticate.")
        if rotate:
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
        if options["verbosity"] > 1 or created or rotate:
            self.stderr.write(f"{'New' if created else 'Existing'} token of {username}:")
        self.stdout.write(token.key)
