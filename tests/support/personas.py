"""Fixed personas for access tests, each with a logged-in API client.

Workspace A and B; the personas are:

    anonymous             no login
    outsider              logged in, no grants at all
    analyst               analyst in A
    steward               data steward in A
    workspace_admin       workspace admin in A
    auditor               organization-wide reader (auditor role → Auditors group)
    other_workspace_user  data steward in B
    staff_unverified      is_staff without a verified second factor (MFA gate: 403 mfa_required)
    superuser             superuser with a verified session

Clients log in with a real session (``force_login``) and, unless ``verified=False``, a confirmed TOTP device
recorded in the session the way ``django_otp.login`` does, so the MFA gate sees a verified session.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from tests.support.factories import OrganizationFactory, UserFactory, WorkspaceFactory, membership
from tests.support.replay import Recorder

PERSONAS = ("anonymous", "outsider", "analyst", "steward", "workspace_admin", "auditor", "other_workspace_user",
            "staff_unverified", "superuser")
UNVERIFIED = {"staff_unverified"}


def verified_client(user: User, *, verified: bool = True) -> APIClient:
    """An API client logged in as ``user`` by session; with ``verified`` its session passed a second factor."""
    client = APIClient()
    client.force_login(user)
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="test authenticator", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def staff_client(world: World, persona: str = "steward") -> APIClient:
    """A verified client of ``world``'s ``persona``, made staff: what the admin site's pages need."""
    user = world.user(persona)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return verified_client(user)


@dataclass
class World:
    workspace_a: Workspace
    workspace_b: Workspace
    users: dict[str, User]
    memberships: dict[str, Membership]
    _clients: dict[str, APIClient] = field(default_factory=dict)

    def user(self, persona: str) -> User | None:
        return self.users.get(persona)

    def client(self, persona: str) -> APIClient:
        if persona not in self._clients:
            if persona == "anonymous":
                self._clients[persona] = APIClient()
            else:
                self._clients[persona] = verified_client(self.users[persona],
                                                         verified=persona not in UNVERIFIED)
        return self._clients[persona]

    def log_in_everyone(self) -> None:
        """Create every persona's client now (sessions, second factors), e.g. before the world is shared."""
        for persona in PERSONAS:
            self.client(persona)

    def __deepcopy__(self, memo) -> World:
        """A copy for one test of a world that several tests share (tests.support.permission_matrix): its own
        model instances, and clients of its own that present the same sessions, so that whatever one test's
        client is given (a new session cookie, a logout) stays with that test."""
        clients = {}
        for persona, client in self._clients.items():
            clients[persona] = APIClient()
            clients[persona].cookies = copy.deepcopy(client.cookies, memo)
        return World(copy.deepcopy(self.workspace_a, memo), copy.deepcopy(self.workspace_b, memo),
                     copy.deepcopy(self.users, memo), copy.deepcopy(self.memberships, memo), clients)


def build_world() -> World:
    organization = OrganizationFactory()
    workspace_a = WorkspaceFactory(organization=organization, name="Workspace A", slug="workspace-a")
    workspace_b = WorkspaceFactory(organization=organization, name="Workspace B", slug="workspace-b")
    users = {name: UserFactory(username=name) for name in PERSONAS if name != "anonymous"}
    users["staff_unverified"].is_staff = True
    users["staff_unverified"].save(update_fields=["is_staff"])
    users["superuser"].is_staff = users["superuser"].is_superuser = True
    users["superuser"].save(update_fields=["is_staff", "is_superuser"])
    memberships = {
        "analyst": membership(users["analyst"], workspace_a, Role.ANALYST),
        "steward": membership(users["steward"], workspace_a, Role.DATA_STEWARD),
        "workspace_admin": membership(users["workspace_admin"], workspace_a, Role.WORKSPACE_ADMIN),
        "auditor": membership(users["auditor"], workspace_a, Role.AUDITOR),
        "other_workspace_user": membership(users["other_workspace_user"], workspace_b, Role.DATA_STEWARD),
    }
    # Reload: the services above cached permissions on these instances.
    users = {name: User.objects.get(pk=user.pk) for name, user in users.items()}
    return World(workspace_a, workspace_b, users, memberships)


def _world_keys(world: World) -> tuple:
    return (world.workspace_a.pk, world.workspace_b.pk, {name: user.pk for name, user in world.users.items()},
            {name: member.pk for name, member in world.memberships.items()})


def _world_from(keys: tuple, instance) -> World:
    workspace_a, workspace_b, users, memberships = keys
    return World(instance(Workspace, workspace_a), instance(Workspace, workspace_b),
                 {name: instance(User, pk) for name, pk in users.items()},
                 {name: instance(Membership, pk) for name, pk in memberships.items()})


# The world of the ``world`` fixture (tests/conftest.py) and of SharedWorld: built through the services once per
# process, then its rows inserted again for each test (tests.support.replay).
recorded_world = Recorder(build=build_world, keys=_world_keys, load=_world_from)
