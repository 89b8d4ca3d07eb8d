"""Where does one API request's time go? In process, production settings, the whole middleware stack.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_api_profile REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python -m bench.api.profile [--assets 5000] [--requests 300] [--top 40]

Drops and recreates the database named in ``DATABASE_URL``, builds the same catalog as ``bench.api.run`` (smaller:
the database side does not depend on its size), then requests the assets list (``?page_size=50``), a detail and
``/health/live`` through Django's WSGI handler as the analyst's API token, and prints per request the median
wall time and the median CPU time of this thread (which, unlike the wall time, other processes on a shared
machine hardly move), then a cProfile of the list and the detail in CPU time (cumulative, the ``--top``
heaviest functions). ``--no-build`` reuses the database of an earlier run (e.g. to compare two checkouts).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time

from accounts.actors import SYSTEM
from bench.api.run import build, detail_asset, production_environment, recreate_database


def timed(client, url: str, headers: dict, requests: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``requests`` GETs of ``url`` (after a warm-up)."""
    for _ in range(10):
        assert client.get(url, headers=headers).status_code == 200, url
    wall, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.thread_time()
        client.get(url, headers=headers)
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def profiled(client, url: str, headers: dict, requests: int, top: int) -> str:
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    for _ in range(requests):
        client.get(url, headers=headers)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-build", action="store_true", help="reuse the database of an earlier run")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database the benchmark may drop and recreate")
    os.environ.update(production_environment(0))
    if not args.no_build:
        recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    if args.no_build:
        built = rebuild_token()
    else:
        call_command("migrate", verbosity=0)
        built = build(args.assets)
    headers = {"Authorization": f"Bearer {built['token']}"}
    client = Client()
    cases = {"health": "/health/live", "list": "/api/v1/assets/?page_size=50",
             "detail": f"/api/v1/assets/{built['detail_id']}/"}
    for name, path in cases.items():
        wall, cpu = timed(client, path, headers, args.requests)
        print(f"{name:<8}{wall:7.2f} ms wall, {cpu:6.2f} ms CPU per request (medians)")
    for name in ("list", "detail"):
        print(f"\n--- {name} ---")
        print(profiled(client, cases[name], headers, args.requests, args.top))


def rebuild_token() -> dict:
    """A fresh token for the analyst of an earlier build, and the same detail asset."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.authentication import api_token_create
    from accounts.models import ApiToken, User

    analyst = User.objects.get(username="bench-analyst")
    _, token = api_token_create(user=analyst, name="profile", scope=ApiToken.Scope.READ,
                                expires_at=timezone.now() + timedelta(days=1), acting_user=SYSTEM)
    return {"token": token, "detail_id": detail_asset().pk}


if __name__ == "__main__":
    main()
