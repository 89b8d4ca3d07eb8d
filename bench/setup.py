"""The set-up benchmarks that run Racine in process share: a fresh PostgreSQL database, migrated, with production
settings, and a workspace with members in given roles."""
from __future__ import annotations

import os

from bench.api.run import production_environment, recreate_database


def fresh_django_on_postgres() -> None:
    """Drop and recreate the database ``DATABASE_URL`` names (PostgreSQL only), set up Django with production
    settings and migrate it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database the benchmark may drop and recreate")
    os.environ.update(production_environment(port=0))
    recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def workspace_with_members(name: str, roles: dict[str, str]):
    """The workspace ``name`` of the organization, and a user per name of ``roles`` (username -> role) made a member
    in that role: ``(workspace, {username: user})``."""
    from accounts.actors import SYSTEM
    from accounts.models import User
    from accounts.services import membership_create, organization_ensure, workspace_ensure

    organization, _ = organization_ensure()
    workspace, _ = workspace_ensure(organization=organization, name=name)
    users = {}
    for username, role in roles.items():
        users[username] = User.objects.create_user(username=username, password=None)
        membership_create(user=users[username], workspace=workspace, role=role, acting_user=SYSTEM)
    return workspace, users
