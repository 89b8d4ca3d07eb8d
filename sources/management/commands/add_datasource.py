"""Register a data source (or update the one with that name); the password never comes from the command line."""
from __future__ import annotations

import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.actors import SYSTEM
from accounts.models import Workspace
from sources import services
from sources.models import DataSource


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(text)
    return key.strip(), value


class Command(BaseCommand):
    help = ("Register a data source in a workspace, or update the one with that name (safe to re-run). The "
            "password is read from the environment variable named by --password-env, or prompted for; never "
            "from the command line, where it would land in the shell history and the process list.")

    def add_arguments(self, parser):
        parser.add_argument("workspace", help="Workspace slug (e.g. 'default').")
        parser.add_argument("name")
        parser.add_argument("engine", choices=DataSource.Engine.values)
        parser.add_argument("--host", default="")
        parser.add_argument("--port", type=int)
        parser.add_argument("--database", default="", help="Database name; for SQLite the file path.")
        parser.add_argument("--username", default="")
        parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", dest="options",
                            help="A driver option (repeat for several), e.g. --option sslmode=require.")
        parser.add_argument("--password-env", metavar="VAR", help="Read the password from this variable.")
        parser.add_argument("--no-input", action="store_false", dest="interactive",
                            help="Never prompt: no password unless --password-env gives one.")

    def _password(self, *, password_env: str | None, interactive: bool, existing: bool) -> str | None:
        if password_env:
            if password_env not in os.environ:
                raise CommandError(f"The environment variable {password_env} is not set.")
            return os.environ[password_env]
        if interactive and sys.stdin.isatty():
            hint = " (empty keeps the stored one)" if existing else " (empty for none)"
            return getpass.getpass(f"Password{hint}: ") or (None if existing else "")
        return None if existing else ""

    def handle(self, *args, workspace, name, engine, host, port, database, username, options,
               password_env, interactive, **kwargs):
        try:
            target = Workspace.objects.get(slug=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"No workspace with slug {workspace!r}.") from None
        try:
            parsed = dict(_key_value(option) for option in options)
        except ValueError as exc:
            raise CommandError(f"--option {exc.args[0]!r}: use KEY=VALUE") from None
        fields = {"engine": engine, "host": host, "port": port, "database": database, "username": username,
                  "options": parsed}
        existing = DataSource.objects.filter(workspace=target, name=name).first()
        password = self._password(password_env=password_env, interactive=interactive, existing=existing is not None)
        try:
            if existing is None:
                source = services.datasource_create(workspace=target, name=name, acting_user=SYSTEM,
                                                    password=password or "", **fields)
                self.stdout.write(self.style.SUCCESS(f"Data source {source.name!r} created (id {source.pk})."))
            else:
                source = services.datasource_update(data_source=existing, acting_user=SYSTEM, password=password,
                                                    **fields)
                self.stdout.write(self.style.SUCCESS(f"Data source {source.name!r} updated (id {source.pk})."))
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(errors)}" if field != "__all__" else " ".join(errors)
                                         for field, errors in exc.message_dict.items())) from None
        self.stdout.write(f"  secret stored: {'yes' if source.has_secret else 'no'}")
