"""First-run set-up, safe to re-run: migrate, organization, default workspace, an administrator (created as the
default workspace's admin)."""
from __future__ import annotations

import getpass
import os
import secrets
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.actors import SYSTEM
from accounts.models import User
from accounts.roles import Role


class Command(BaseCommand):
    help = ("Prepare a Racine installation: apply migrations, create the organization, the default workspace "
            "and an administrator (RACINE_ADMIN_USERNAME / RACINE_ADMIN_EMAIL / RACINE_ADMIN_PASSWORD, "
            "a prompt, or a generated password printed once).")

    def add_arguments(self, parser):
        parser.add_argument("--no-input", action="store_false", dest="interactive",
                            help="Never prompt; generate the administrator's password when none is given.")
        parser.add_argument("--skip-migrate", action="store_true", help="Do not run migrate first.")

    def handle(self, *args, interactive: bool, skip_migrate: bool, **options):
        if not skip_migrate:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Migrations applied.")
        organization, created = services.organization_ensure()
        self.stdout.write(f"Organization: {organization.name}{' (created)' if created else ''}")
        workspace, created = services.workspace_ensure(organization=organization,
                                                       name=services.DEFAULT_WORKSPACE_NAME)
        self.stdout.write(f"Workspace: {workspace.name}{' (created)' if created else ''}")
        self._ensure_admin(workspace, interactive=interactive and sys.stdin.isatty())

    def _ensure_admin(self, workspace, *, interactive: bool) -> None:
        username = os.environ.get("RACINE_ADMIN_USERNAME") or "admin"
        email = os.environ.get("RACINE_ADMIN_EMAIL") or ""
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Administrator: {username} (exists; `manage.py changepassword {username}` "
                              "sets a new password)")
            return
        password = os.environ.get("RACINE_ADMIN_PASSWORD")
        generated = False
        if not password and interactive:
            password = self._prompt_password(username)
        if not password:
            password, generated = secrets.token_urlsafe(16), True
        else:
            try:
                validate_password(password, User(username=username, email=email))
            except ValidationError as exc:
                raise CommandError("RACINE_ADMIN_PASSWORD is too weak: " + " ".join(exc.messages)) from None
        administrator, _ = services.superuser_ensure(username=username, email=email, password=password)
        # A member of the default workspace, as whoever creates a workspace is: a superuser sees everything, but
        # owning an asset or stewarding a glossary term is for members (the first glossary import named the
        # administrator as a steward and was refused).
        services.membership_create(user=administrator, workspace=workspace, role=Role.WORKSPACE_ADMIN,
                                   acting_user=SYSTEM)
        self.stdout.write(self.style.SUCCESS(f"Administrator: {username} (created; workspace admin of "
                                             f"{workspace.name})"))
        if generated:
            self.stdout.write(self.style.WARNING(
                f"  Log in at /admin/ as {username} with password: {password}\n"
                "  It is shown only this once; change it after logging in."))

    def _prompt_password(self, username: str) -> str:
        while True:
            password = getpass.getpass(f"Password for the administrator {username!r}: ")
            if password != getpass.getpass("Again: "):
                self.stderr.write("The passwords differ.")
                continue
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                self.stderr.write(" ".join(exc.messages))
                continue
            return password
