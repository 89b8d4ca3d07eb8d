"""How fast are the catalog's lists under concurrent clients, against /health/live on the same server?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_api REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python -m bench.api.run [--assets 250000] [--clients 20] [--workers 3] [--seconds 10] [--rounds 3]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL only: the numbers are about its planner),
migrates it and writes ``--assets`` assets with ``COPY`` (five sources of databases, schemas, tables and 24
columns per table; four sources in workspace A, one in B) and three suggested classifications per table. Then it
starts gunicorn in production mode (``DEBUG=false``, sync workers, as the Dockerfile's command) and measures, in
interleaved rounds of ``--seconds`` each with ``--clients`` concurrent clients (threads, one connection per
request like a sync worker serves them):

  health     GET /health/live (no database)
  list       GET /api/v1/assets/?page_size=50 as an analyst of A (who sees four fifths of the assets)
  next page  the list's fifth page, following the cursors
  filtered   GET /api/v1/assets/?type=table&page_size=50
  search     GET /api/v1/assets/?search=email&page_size=50
  detail     GET /api/v1/assets/{id}/

and prints per case the median rate, its spread over the rounds (min–max), the share of health's rate in the
same round, and p50/p99 latency over every request of every round. Then where each case's time goes: the CPU
time per request (over every round) of the gunicorn processes, of the PostgreSQL backends serving the benchmark's
database and of this load generator, read from ``/proc`` — on a machine whose cores are all busy, a case's rate
is the cores' time divided by the sum of these. Last, the server time (in process, median of ``--admin-pages``
requests) of the stewards' admin changelists of columns and of classifications.

``--keep-database`` reuses a database an earlier run built (same ``--assets``) instead of rebuilding it, e.g.
to compare two checkouts against the same rows.

Where one request's time goes, in process: ``bench.api.profile``.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

COLUMN_NAMES = ("id", "customer_email", "created_at", "amount", "status", "first_name", "last_name", "phone",
                "country", "notes", "updated_at", "order_ref", "currency", "vat_rate", "city", "postcode",
                "birth_date", "iban", "quantity", "sku", "channel", "score", "is_active", "payload")
DATA_TYPES = ("bigint", "text", "timestamp with time zone", "numeric(12,2)", "varchar(32)", "varchar(120)")
SCHEMAS = ("sales", "finance", "hr", "ops")
CLASSIFIED_COLUMNS = {"customer_email": "PII.EMAIL", "phone": "PII.PHONE", "first_name": "PII.PERSON_NAME"}
SOURCES = (("A", "crm"), ("A", "billing"), ("A", "warehouse"), ("A", "hr"), ("B", "partner"))


def production_environment(port: int) -> dict[str, str]:
    """Production settings for the benchmark's server and for this process: DEBUG off, no TLS in front."""
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update({
        "DEBUG": "false",
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "RACINE_ENCRYPTION_KEYS": env.get("RACINE_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "RACINE_BEHIND_PROXY": "false",
        "SECURE_SSL_REDIRECT": "false",
        "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL") or env.get("REDIS_URL", ""),
        "RACINE_THROTTLE_USER": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
    })
    return env


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def admin_url(url: str) -> str:
    """The maintenance database of the server ``url`` names."""
    return urlparse(url)._replace(path="/postgres", scheme="postgresql").geturl()


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url(url), autocommit=True) as admin:
        name = sql.Identifier(database_name(url))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))


# --- the catalog ---------------------------------------------------------------------------------------------


def tables_per_schema(assets: int) -> int:
    per_source = assets // len(SOURCES)
    return max(1, (per_source - 1 - len(SCHEMAS)) // (len(SCHEMAS) * (1 + len(COLUMN_NAMES))))


def assets_written(assets: int) -> int:
    """How many assets ``build(assets)`` writes (whole tables of columns: a few fewer than asked)."""
    return len(SOURCES) * (1 + len(SCHEMAS) * (1 + tables_per_schema(assets) * (1 + len(COLUMN_NAMES))))


def asset_rows(source_ids: list[int], assets: int):
    """(id, values) of every asset, parents before children, ids assigned here (the table is empty)."""
    next_id = 0

    def row(**values):
        nonlocal next_id
        next_id += 1
        return {"id": next_id, **values}

    for source_id in source_ids:
        database = row(data_source_id=source_id, type="database", parent_id=None, qualified_name="db", name="db")
        yield database
        for schema_name in SCHEMAS:
            schema = row(data_source_id=source_id, type="schema", parent_id=database["id"],
                         qualified_name=f"db.{schema_name}", name=schema_name)
            yield schema
            for t in range(tables_per_schema(assets)):
                table_name = f"t{t:05d}"
                table = row(data_source_id=source_id, type="table", parent_id=schema["id"],
                            qualified_name=f"{schema['qualified_name']}.{table_name}", name=table_name,
                            row_count=1000 + t)
                yield table
                for ordinal, column_name in enumerate(COLUMN_NAMES, start=1):
                    yield row(data_source_id=source_id, type="column", parent_id=table["id"],
                              qualified_name=f"{table['qualified_name']}.{column_name}", name=column_name,
                              data_type=DATA_TYPES[ordinal % len(DATA_TYPES)], is_nullable=ordinal % 3 != 0,
                              ordinal=ordinal)


def copy_rows(model, rows, *, with_ids: bool = False) -> int:
    """COPY ``rows`` (dicts by column name) into ``model``'s table; the other columns get the field defaults,
    the primary key its sequence unless ``with_ids``."""
    from django.db import connection

    fields = [field for field in model._meta.concrete_fields if with_ids or not field.primary_key]
    defaults = {}
    for field in fields:
        if field.has_default():
            value = field.get_default()
            defaults[field.column] = json.dumps(value) if isinstance(value, dict | list) else value
        else:
            defaults[field.column] = None if field.null else ""
    columns = [field.column for field in fields]
    count = 0
    with connection.cursor() as cursor:
        quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({quoted}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row([values.get(column, defaults[column]) for column in columns])
                count += 1
    return count


def catalog_world(assets: int):
    """An organization with workspaces A and B, the data sources of ``SOURCES`` and ``assets`` assets under them
    (written by COPY); returns the workspaces by label, the data sources and the number of assets written."""
    from django.db import connection

    from catalog.models import Asset
    from sources.models import DataSource
    from tests.support.factories import OrganizationFactory, WorkspaceFactory

    organization = OrganizationFactory()
    workspaces = {label: WorkspaceFactory(organization=organization, name=label, slug=label.lower())
                  for label in ("A", "B")}
    sources = [DataSource.objects.create(workspace=workspaces[label], name=name, engine=DataSource.Engine.POSTGRESQL,
                                         host="db.example.org", database=name) for label, name in SOURCES]
    written = copy_rows(Asset, asset_rows([source.pk for source in sources], assets), with_ids=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Asset._meta.db_table, written])
    return workspaces, sources, written


def build(assets: int) -> dict:
    """The organization, two workspaces, the personas and the catalog; returns what the measurements need."""
    from django.db import connection
    from django.utils import timezone

    from accounts import services
    from accounts.actors import SYSTEM
    from accounts.authentication import api_token_create
    from accounts.models import ApiToken
    from accounts.roles import Role
    from catalog.models import Asset, AssetClassification, Classification
    from tests.support.factories import UserFactory

    started = time.perf_counter()
    workspaces, sources, written = catalog_world(assets)

    classifications = {}
    for name in CLASSIFIED_COLUMNS.values():
        classifications[name], _ = Classification.objects.get_or_create(
            name=name, defaults={"category": "PII", "sensitivity": Asset.Sensitivity.CONFIDENTIAL})
    # A list, not an iterator: the COPY holds the connection while it reads.
    targets = list(Asset.objects.filter(type=Asset.Type.COLUMN, name__in=CLASSIFIED_COLUMNS)
                   .values_list("pk", "name"))
    now = timezone.now()
    copy_rows(AssetClassification, (
        {"asset_id": pk, "classification_id": classifications[CLASSIFIED_COLUMNS[name]].pk, "confidence": 0.9,
         "created_at": now, "updated_at": now} for pk, name in targets))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    analyst = UserFactory(username="bench-analyst")
    services.membership_create(user=analyst, workspace=workspaces["A"], role=Role.ANALYST, acting_user=SYSTEM)
    steward = UserFactory(username="bench-steward", is_staff=True)
    services.membership_create(user=steward, workspace=workspaces["A"], role=Role.DATA_STEWARD, acting_user=SYSTEM)
    _, token = api_token_create(user=analyst, name="bench", scope=ApiToken.Scope.READ,
                                expires_at=now + timedelta(days=1), acting_user=SYSTEM)
    detail = detail_asset()
    visible = Asset.objects.filter(data_source__workspace=workspaces["A"]).count()
    print(f"built {written:,} assets ({visible:,} visible to the analyst), "
          f"{AssetClassification.objects.count():,} classifications in {time.perf_counter() - started:.0f}s")
    return {"token": token, "detail_id": detail.pk, "steward": steward}


def reuse(assets: int) -> dict:
    """What ``build`` returns, for the catalog an earlier ``build(assets)`` wrote: a new token for its analyst."""
    from django.utils import timezone

    from accounts.actors import SYSTEM
    from accounts.authentication import api_token_create
    from accounts.models import ApiToken, User
    from catalog.models import Asset

    written = Asset.objects.count()
    if written != assets_written(assets):
        raise SystemExit(f"--keep-database: the database holds {written:,} assets, not the "
                         f"{assets_written(assets):,} of --assets {assets:,}")
    _, token = api_token_create(user=User.objects.get(username="bench-analyst"), name="bench",
                                scope=ApiToken.Scope.READ, expires_at=timezone.now() + timedelta(days=1),
                                acting_user=SYSTEM)
    return {"token": token, "detail_id": detail_asset().pk, "steward": User.objects.get(username="bench-steward")}


def detail_asset():
    """The asset the detail case reads: a column of the second source (the analyst's workspace)."""
    from catalog.models import Asset
    from sources.models import DataSource

    second_source = DataSource.objects.order_by("pk").values_list("pk", flat=True)[1]
    return Asset.objects.filter(data_source_id=second_source, type=Asset.Type.COLUMN).order_by("pk")[1000]


# --- the load ------------------------------------------------------------------------------------------------


def wait_until_up(base: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not come up")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds spent by the server (gunicorn's master and workers), the PostgreSQL backends connected to the
    benchmark's database, and this process (the load generator), between ``start()`` and ``stop()``."""

    PARTS = ("server", "postgresql", "client")

    def __init__(self, server_pid: int, database: str):
        import psycopg

        self.server_pid, self.database = server_pid, database
        self.admin = psycopg.connect(admin_url(os.environ["DATABASE_URL"]), autocommit=True)

    def _pids(self) -> dict[str, list[int]]:
        workers = subprocess.run(["pgrep", "-P", str(self.server_pid)], capture_output=True, text=True).stdout
        backends = self.admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                                      "pg_backend_pid()", [self.database]).fetchall()
        return {"server": [self.server_pid, *map(int, workers.split())], "postgresql": [pid for pid, in backends]}

    def start(self) -> None:
        self.began = {part: {pid: process_cpu_seconds(pid) for pid in pids} for part, pids in self._pids().items()}
        self.began_client = time.process_time()

    def stop(self) -> dict[str, float]:
        spent = {"client": time.process_time() - self.began_client}
        for part, pids in self._pids().items():
            began = self.began[part]
            # A process that started meanwhile counts from 0; one that ended meanwhile is lost (pools keep theirs).
            spent[part] = sum(process_cpu_seconds(pid) - began.get(pid, 0.0) for pid in {*pids, *began})
        return spent


def raw_get(request: bytes, address: tuple[str, int], timeout: float = 30.0) -> bool:
    """Send ``request`` on a new connection and read the response to its end (the sync worker closes each
    connection after its response): True when the status is 200. A plain socket, not an HTTP client library: the
    load generator shares the server's cores, and httpx's parsing, with 20 threads taking turns on one
    interpreter lock, cost this process more CPU per request than gunicorn spent serving it (docs/benchmarks.md,
    "Third round")."""
    with socket.create_connection(address, timeout=timeout) as connection:
        connection.sendall(request)
        first = connection.recv(65536)
        while connection.recv(65536):
            pass
    return first.startswith((b"HTTP/1.1 200 ", b"HTTP/1.0 200 "))


def hammer(url: str, headers: dict, clients: int, seconds: float) -> tuple[float, list[float], int]:
    """``clients`` threads requesting ``url`` for ``seconds``, one connection per request: (rate, latencies in
    s, errors). A request counts when its whole response has arrived."""
    parsed = urlparse(url)
    target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parsed.netloc}", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    address = (parsed.hostname, parsed.port)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        nonlocal errors
        mine, failed = [], 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                ok = raw_get(request, address)
            except OSError:
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - began), latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def fifth_page_url(base: str, headers: dict) -> str:
    import httpx

    url = f"{base}/api/v1/assets/?page_size=50"
    for _ in range(4):
        url = httpx.get(url, headers=headers, timeout=30).json()["next"]
    return url


def measure_api(base: str, built: dict, meter: CpuMeter, *, clients: int, seconds: float, rounds: int) -> None:
    headers = {"Authorization": f"Bearer {built['token']}"}
    cases = {
        "health": f"{base}/health/live",
        "list": f"{base}/api/v1/assets/?page_size=50",
        "next page": fifth_page_url(base, headers),
        "filtered (?type=table)": f"{base}/api/v1/assets/?type=table&page_size=50",
        "search (?search=email)": f"{base}/api/v1/assets/?search=email&page_size=50",
        "detail": f"{base}/api/v1/assets/{built['detail_id']}/",
    }
    rates = {name: [] for name in cases}
    shares = {name: [] for name in cases}
    latencies = {name: [] for name in cases}
    errors = dict.fromkeys(cases, 0)
    cpu = {name: dict.fromkeys(CpuMeter.PARTS, 0.0) for name in cases}
    for _ in range(rounds):
        for name, url in cases.items():
            meter.start()
            rate, times, failed = hammer(url, headers, clients, seconds)
            for part, spent in meter.stop().items():
                cpu[name][part] += spent
            rates[name].append(rate)
            latencies[name].extend(times)
            errors[name] += failed
        for name in cases:
            shares[name].append(rates[name][-1] / rates["health"][-1])
    print(f"\n{clients} clients, {rounds} interleaved rounds of {seconds:.0f}s; rate = median (min–max) over rounds; "
          "share = of health's rate in the same round (median)")
    print(f"  {'case':<24}{'req/s':>8}  {'spread':>13}  {'share':>6}  {'p50 ms':>7}  {'p99 ms':>7}  errors")
    for name in cases:
        spread = f"{min(rates[name]):.0f}–{max(rates[name]):.0f}"
        print(f"  {name:<24}{statistics.median(rates[name]):8.1f}  {spread:>13}  "
              f"{statistics.median(shares[name]):6.0%}  {percentile(latencies[name], 0.5) * 1000:7.1f}  "
              f"{percentile(latencies[name], 0.99) * 1000:7.1f}  {errors[name]}")
    print("\nCPU time per request (ms, all rounds): gunicorn (master and workers), PostgreSQL backends of this "
          "database, this load generator; share = health's total over the case's")
    print(f"  {'case':<24}{'server':>8}{'postgres':>10}{'client':>8}{'total':>8}  {'share':>6}")
    per_request = {name: {part: spent * 1000 / max(1, len(latencies[name])) for part, spent in cpu[name].items()}
                   for name in cases}
    health_total = sum(per_request["health"].values())
    for name in cases:
        parts = per_request[name]
        total = sum(parts.values())
        print(f"  {name:<24}{parts['server']:8.2f}{parts['postgresql']:10.2f}{parts['client']:8.2f}{total:8.2f}  "
              f"{health_total / total:6.0%}")


def measure_admin(steward, pages: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.support.personas import verified_client

    # Production serves the admin's static files from collectstatic's manifest, which a checkout has not built.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    client = verified_client(steward)
    print(f"\nadmin changelists as a data steward of A (server time in process, median of {pages})")
    for label, url in (("columns", "/admin/catalog/columnasset/"),
                       ("columns, page 100", "/admin/catalog/columnasset/?p=100"),
                       ("classifications", "/admin/catalog/assetclassification/")):
        assert client.get(url).status_code == 200, url
        times = []
        for _ in range(pages):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, url
        print(f"  {label:<24}{statistics.median(times) * 1000:8.1f} ms  (min {min(times) * 1000:.1f}, "
              f"max {max(times) * 1000:.1f}; {len(queries)} queries)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=250_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--admin-pages", type=int, default=20)
    parser.add_argument("--keep-database", action="store_true",
                        help="reuse the catalog an earlier run built in this database")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database the benchmark may drop and recreate")
    port = free_port()
    env = production_environment(port)
    os.environ.update(env)
    if not args.keep_database:
        recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    built = reuse(args.assets) if args.keep_database else build(args.assets)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--worker-class", "sync", "--access-logfile", "/dev/null"],
        env=env, cwd=ROOT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        print(f"gunicorn: {args.workers} sync workers; machine: {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f} at start")
        measure_api(base, built, CpuMeter(server.pid, database_name(url)), clients=args.clients,
                    seconds=args.seconds, rounds=args.rounds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    measure_admin(built["steward"], args.admin_pages)


if __name__ == "__main__":
    main()
