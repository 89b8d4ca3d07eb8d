"""How much does restrict() cost a list request?

Builds a throw-away test database (``test_<name>`` of the configured DATABASE_URL, or SQLite in memory), fills
two workspaces with ROWS audit events each, and measures for SECONDS each:

  http unrestricted     GET /api/v1/audit-events/ as a workspace admin of A with restrict() and the action
                        check switched off (same user, same MFA gate: only the scoping differs)
  http superuser        the same as a superuser (restrict() returns the queryset as it is)
  http restricted       as the workspace admin of A, scoped (workspace grants → one IN filter)
  http restricted+50    the same with 50 extra direct ObjectGrants on single rows
  qs restrict           queryset only (count + first page + serialize), restrict()
  qs guardian           queryset only, guardian's get_objects_for_user over one object permission per row
                        (the per-row design restrict() replaces)

    DEBUG=true .venv/bin/python bench/permissions/run.py [--rows 2500] [--seconds 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench DEBUG=true .venv/bin/python bench/permissions/run.py
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2500, help="audit events per workspace")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median rate is reported")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(rows=args.rows, seconds=args.seconds, rounds=args.rounds)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _rate(fn, seconds: float) -> float:
    fn()  # warm-up
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - started)


def run(*, rows: int, seconds: float, rounds: int) -> None:
    import statistics
    from unittest import mock

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.utils import timezone
    from guardian.models import UserObjectPermission
    from guardian.shortcuts import get_objects_for_user

    from accounts import services
    from accounts.actors import SYSTEM
    from accounts.api.serializers import AuditEventSerializer
    from accounts.models import AuditEvent, User
    from accounts.permissions import restrict
    from accounts.roles import Role
    from tests.support.factories import OrganizationFactory, UserFactory, WorkspaceFactory
    from tests.support.personas import verified_client

    organization = OrganizationFactory()
    workspace_a = WorkspaceFactory(organization=organization, name="A", slug="a")
    workspace_b = WorkspaceFactory(organization=organization, name="B", slug="b")
    now = timezone.now()
    for workspace in (workspace_a, workspace_b):
        AuditEvent.objects.bulk_create(
            [AuditEvent(event="bench.row", workspace=workspace, actor_label="bench", object_repr=f"row {i}",
                        changes={"field": [i, i + 1]}, created_at=now - timedelta(seconds=i))
             for i in range(rows)], batch_size=2000)
    superuser = UserFactory(username="bench-superuser", is_staff=True, is_superuser=True)
    admin = UserFactory(username="bench-admin")
    services.membership_create(user=admin, workspace=workspace_a, role=Role.WORKSPACE_ADMIN, acting_user=SYSTEM)
    granted = UserFactory(username="bench-granted")
    services.membership_create(user=granted, workspace=workspace_a, role=Role.WORKSPACE_ADMIN, acting_user=SYSTEM)
    view = services._permissions_for(["accounts.view_auditevent"])[0][0]
    event_ct = ContentType.objects.get_for_model(AuditEvent)
    b_ids = list(AuditEvent.objects.filter(workspace=workspace_b).values_list("pk", flat=True))
    UserObjectPermission.objects.bulk_create([
        UserObjectPermission(user=granted, permission=view, content_type=event_ct, object_pk=str(pk))
        for pk in b_ids[:50]])
    # The per-row design: one guardian row per visible object.
    per_row = UserFactory(username="bench-per-row")
    a_ids = list(AuditEvent.objects.filter(workspace=workspace_a).values_list("pk", flat=True))
    UserObjectPermission.objects.bulk_create([
        UserObjectPermission(user=per_row, permission=view, content_type=event_ct, object_pk=str(pk))
        for pk in a_ids], batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    url = "/api/v1/audit-events/?page_size=50"
    clients = {"superuser": verified_client(superuser), "admin": verified_client(admin),
               "granted": verified_client(granted)}

    def http(name):
        def go():
            response = clients[name].get(url)
            assert response.status_code == 200, response.content[:200]
        return go

    def queryset(make):
        def go():
            user = User.objects.get(pk=make[1].pk)  # a fresh user per "request", as in the API
            qs = make[0](user).order_by("-created_at", "-id")
            qs.count()
            # reading .data is what serialises the page: the cost being measured
            AuditEventSerializer(list(qs.select_related("content_type")[:50]), many=True).data  # noqa: B018
        return go

    def unrestricted():
        # Patched where the API base looks them up (it imports them by name): patching accounts.permissions left
        # the scoping on.
        with mock.patch("accounts.api.base.visible", lambda queryset, user, action="view": queryset), \
                mock.patch("accounts.api.base.has_any_grant", lambda user, model, action: True):
            http("admin")()

    cases = [
        ("http unrestricted (same user, scoping off)", unrestricted),
        ("http superuser", http("superuser")),
        ("http restricted (workspace admin)", http("admin")),
        ("http restricted + 50 direct grants", http("granted")),
        ("qs restrict() (workspace admin)",
         queryset((lambda user: restrict(AuditEvent.objects.all(), user, "view"), admin))),
        ("qs guardian get_objects_for_user (per row)",
         queryset((lambda user: get_objects_for_user(user, "accounts.view_auditevent",
                                                     klass=AuditEvent.objects.all()), per_row))),
    ]
    # Interleaved rounds, median per case: the machine's load drifts more than the differences measured.
    rates = {name: [] for name, _ in cases}
    for _ in range(rounds):
        for name, fn in cases:
            rates[name].append(_rate(fn, seconds))
    results = [(name, statistics.median(values)) for name, values in rates.items()]
    print(f"database: {connection.vendor}; rows: {2 * rows} audit events ({rows} per workspace); "
          f"page size 50; median of {rounds} rounds of {seconds:.0f}s")
    for name, rate in results:
        print(f"  {name:<45} {rate:8.1f} req/s")


if __name__ == "__main__":
    main()
