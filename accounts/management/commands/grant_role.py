"""Give a user a role in a workspace (or change it) from the command line, through the membership services."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.actors import SYSTEM
from accounts.models import Membership, User, Workspace
from accounts.roles import Role


class Command(BaseCommand):
    help = "Grant ROLE in WORKSPACE (slug) to USERNAME, or change their role there; --sync re-applies every role."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?")
        parser.add_argument("workspace", nargs="?", help="workspace slug")
        parser.add_argument("role", nargs="?", choices=Role.values)
        parser.add_argument("--sync", action="store_true",
                            help="Re-apply every membership's permissions (after new apps were migrated).")

    def handle(self, *args, username, workspace, role, sync, **options):
        if sync:
            self.stdout.write(f"Roles re-applied to {services.roles_sync()} memberships.")
            return
        if not (username and workspace and role):
            raise CommandError("give USERNAME WORKSPACE ROLE, or --sync")
        user = User.objects.filter(username=username).first()
        target = Workspace.objects.filter(slug=workspace).first()
        if user is None or target is None:
            raise CommandError(f"no user {username!r}" if user is None else f"no workspace {workspace!r}")
        existing = Membership.objects.filter(user=user, workspace=target).first()
        try:
            if existing is None:
                services.membership_create(user=user, workspace=target, role=role, acting_user=SYSTEM)
            else:
                services.membership_change_role(membership=existing, role=role, acting_user=SYSTEM)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"{username} is {Role(role).label} in {target.name}."))
        if not user.is_staff:
            # The role alone opens the API; the admin (the stewards' back office) also needs staff status, and its
            # login page only says "enter the correct username and password for a staff account".
            self.stdout.write(self.style.WARNING(
                f"{username} is not staff: they can use the API but not the admin at /admin/ until “Staff status” "
                "is ticked on their user page."))
