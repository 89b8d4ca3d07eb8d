"""Reset a user's second factor from the command line (the administrator lost their own phone), through the same
service as the admin action."""
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.actors import SYSTEM
from accounts.models import User
from accounts.wording import counted


class Command(BaseCommand):
    help = ("Remove USERNAME's authenticator and backup codes and end their sessions; they enrol a new "
            "authenticator at their next login.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        outcome = services.mfa_reset(user=user, acting_user=SYSTEM)
        self.stdout.write(self.style.SUCCESS(
            f"Second factor of {username} reset: {counted(len(outcome['devices']), 'device')} removed, "
            f"{counted(outcome['sessions_ended'], 'session')} ended."))
