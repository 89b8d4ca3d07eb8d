"""Who performs a change: a user, or ``SYSTEM``.

Every service takes ``acting_user`` as a required keyword. A request passes its user; Celery tasks, management
commands, the reaper, migrations and bootstrap pass ``SYSTEM``, which ``accounts.permissions.authorize`` lets
through without a check. ``None`` is refused (``require_actor``): a forgotten argument fails loudly instead of
silently skipping authorisation, as it did when ``None`` meant the system.

``SYSTEM`` has no database row. What is stored for it is what was stored for ``None`` before, so existing rows
read the same: the audit trail's ``actor`` is NULL with ``actor_label`` ``"system"``, and a ``created_by``-style
foreign key is NULL (``user_or_none``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from accounts.models import User

SYSTEM_LABEL: Final = "system"


class SystemActor:
    """The system acting on its own behalf. One instance, ``SYSTEM``; compare with ``is``.

    It holds no grant: ``restrict`` and ``has_perm`` treat it like an inactive user (deny by default), so it can
    only pass where a service asks ``authorize`` — never by being mistaken for a user with rights.
    """

    pk = None
    is_authenticated = False
    is_active = False
    is_superuser = False

    def get_username(self) -> str:
        return SYSTEM_LABEL

    def __repr__(self) -> str:
        return "SYSTEM"

    def __reduce__(self) -> str:
        return "SYSTEM"  # pickled (a Celery argument, a cache) and read back as the same instance


SYSTEM: Final = SystemActor()

def is_system(actor) -> bool:
    return actor is SYSTEM


def require_actor(actor) -> None:
    """Refuse ``None`` as an actor, saying what to pass instead."""
    if actor is None:
        raise TypeError("acting_user is None: pass the user who acts, or accounts.actors.SYSTEM for a task, "
                        "command or migration (None no longer means the system)")


def user_or_none(actor) -> User | None:
    """What a ``created_by``-style foreign key stores for ``actor``: the user, or NULL for the system."""
    require_actor(actor)
    return None if actor is SYSTEM else actor
