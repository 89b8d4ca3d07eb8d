"""factory_boy factories for accounts objects. Memberships go through the service, so guardian grants exist."""
from __future__ import annotations

from functools import lru_cache

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts import services
from accounts.actors import SYSTEM
from accounts.models import AuditEvent, Membership, Organization, User, Workspace
from accounts.roles import Role


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = "Racine test organization"


TEST_PASSWORD = "a long test passphrase"


@lru_cache(maxsize=1)
def _test_password_hash() -> str:
    # Hashing is deliberately slow (PBKDF2); hash once per process, not once per user.
    return make_password(TEST_PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = factory.LazyFunction(_test_password_hash)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace
        django_get_or_create = ("slug",)

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.LazyAttribute(lambda ws: ws.name.lower().replace(" ", "-"))


def membership(user: User, workspace: Workspace, role: str = Role.ANALYST) -> Membership:
    """A membership with its guardian grants, as the system would create it."""
    return services.membership_create(user=user, workspace=workspace, role=role, acting_user=SYSTEM)


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    event = factory.Sequence(lambda n: f"test.event{n}")
    actor_label = "system"
    workspace = None
    created_at = factory.LazyFunction(timezone.now)
