"""Create an API token for a user, as an operator (for a service account, or for a user who cannot reach a
session). The token is printed once; only its hash is stored."""
from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.authentication import api_token_create
from accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create an API token for --user and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username of the token's owner.")
        parser.add_argument("--name", required=True, help="What the token is for (shown in the token list).")
        parser.add_argument("--scope", required=True, choices=ApiToken.Scope.values)
        parser.add_argument("--days", required=True, type=int,
                            help="Lifetime in days; at most the organization's max_token_lifetime_days.")

    def handle(self, *args, user: str, name: str, scope: str, days: int, **options):
        owner = User.objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")
        if days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            # acting_user=SYSTEM: the audit trail records the system as the actor (an operator at the console).
            api_token, secret = api_token_create(user=owner, name=name, scope=scope, acting_user=SYSTEM,
                                                 expires_at=timezone.now() + timedelta(days=days))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Token {api_token.prefix} for {owner.username} ({scope}), expires "
                          f"{api_token.expires_at:%Y-%m-%d %H:%M} UTC:")
        self.stdout.write(secret)
        self.stdout.write(self.style.WARNING("It is shown only this once; store it now."))
