"""How long does a depth-5 downstream lineage walk take over 100,000 edges on PostgreSQL?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_lineage \\
        .venv/bin/python -m bench.lineage.graph [--width 800] [--layers 26] [--fan-out 5] [--starts 20] [--rounds 5]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL), migrates it, and builds, set-based
(``INSERT … SELECT`` over ``generate_series``, a few statements whatever the size), a layered graph of tables:
``--layers`` layers of ``--width`` tables, each table feeding ``--fan-out`` tables of the next layer near its own
position (offsets 0, 3, 7, 12, 18: a walk widens as lineage does, it does not flood the layer), so
(layers - 1) × width × fan-out edges — 100,000 by default. One table in five belongs to a data source of
another workspace, so a steward of the first workspace walks through nodes they may not see (counted, collapsed).

Then, for ``--starts`` start tables spread over the first layers (visible to the steward), ``--rounds`` walks each
of ``catalog.lineage.selectors.lineage_graph(direction="downstream", depth=5)`` as a superuser and as the
workspace's steward, in process (production settings), after one untimed walk per start; prints p50 and p95 of
all the walks, the nodes and edges an answer holds, and the statements a walk costs (one).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.setup import fresh_django_on_postgres, workspace_with_members  # noqa: E402  (after the path is set)

OFFSETS = (0, 3, 7, 12, 18)


def build(*, width: int, layers: int, fan_out: int, sources: tuple, workspace) -> int:
    """The tables (one in five in the second source) and their edges; the number of edges."""
    from django.db import connection

    from catalog.models import Asset, LineageEdge

    asset, edge = Asset._meta.db_table, LineageEdge._meta.db_table
    visible, hidden = sources
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {asset} (data_source_id, type, qualified_name, name, data_type, source_description,
                                 description, properties, fingerprint, sensitivity, profile, first_seen_at,
                                 changed_at)
            SELECT CASE WHEN (l * %(width)s + i) %% 5 = 4 THEN %(hidden)s ELSE %(visible)s END, 'table',
                   'bench.public.t_' || l || '_' || i, 't_' || l || '_' || i, '', '', '', '{{}}', '',
                   CASE WHEN i %% 7 = 0 THEN 'restricted' ELSE '' END, '{{}}', now(), now()
            FROM generate_series(0, %(layers)s - 1) l, generate_series(0, %(width)s - 1) i""",
                       {"width": width, "layers": layers, "visible": visible.pk, "hidden": hidden.pk})
        cursor.execute(f"""
            INSERT INTO {edge} (workspace_id, origin, origin_key, level, source_asset_id, target_asset_id, direct,
                                first_seen_at, last_seen_at)
            SELECT %(workspace)s, 'sql', 'bench', 'table', s.id, t.id, false, now(), now()
            FROM generate_series(0, %(layers)s - 2) l CROSS JOIN generate_series(0, %(width)s - 1) i
            CROSS JOIN unnest(%(offsets)s::int[]) k
            JOIN {asset} s ON s.data_source_id IN (%(visible)s, %(hidden)s)
                          AND s.qualified_name = 'bench.public.t_' || l || '_' || i
            JOIN {asset} t ON t.data_source_id IN (%(visible)s, %(hidden)s)
                          AND t.qualified_name = 'bench.public.t_' || (l + 1) || '_' || ((i + k) %% %(width)s)""",
                       {"width": width, "layers": layers, "offsets": list(OFFSETS[:fan_out]), "workspace": workspace.pk,
                        "visible": visible.pk, "hidden": hidden.pk})
        cursor.execute(f"ANALYZE {asset}; ANALYZE {edge}")
        cursor.execute(f"SELECT count(*) FROM {edge}")
        return cursor.fetchone()[0]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--layers", type=int, default=26)
    parser.add_argument("--fan-out", type=int, default=5, choices=range(1, len(OFFSETS) + 1))
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--depth", type=int, default=5)
    args = parser.parse_args()

    fresh_django_on_postgres()
    from django.db import connection

    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import organization_ensure, workspace_ensure
    from catalog.lineage.selectors import lineage_graph
    from catalog.models import Asset
    from sources.models import DataSource

    workspace, members = workspace_with_members("Bench", {"steward": Role.DATA_STEWARD})
    steward = members["steward"]
    other, _ = workspace_ensure(organization=organization_ensure()[0], name="Other team")
    superuser = User.objects.create_superuser(username="root", password=None)
    sources = (DataSource.objects.create(workspace=workspace, name="warehouse", engine="postgresql"),
               DataSource.objects.create(workspace=other, name="staging", engine="postgresql"))
    started = time.perf_counter()
    edges = build(width=args.width, layers=args.layers, fan_out=args.fan_out, sources=sources, workspace=workspace)
    print(f"built {edges:,} edges between {args.width * args.layers:,} tables in "
          f"{time.perf_counter() - started:.1f} s; load average {Path('/proc/loadavg').read_text().split()[:3]}",
          flush=True)

    layer_span = max(1, args.layers - args.depth - 1)
    starts = [Asset.objects.get(data_source=sources[0],
                                qualified_name=f"bench.public.t_{n % layer_span}_{(n * 97) % args.width}")
              for n in range(args.starts * 2) if (n % layer_span * args.width + (n * 97) % args.width) % 5 != 4]
    starts = starts[:args.starts]
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    for label, user in (("superuser", superuser), ("steward (scoped)", steward)):
        user = User.objects.get(pk=user.pk)
        sizes, seconds = [], []
        for asset in starts:
            lineage_graph(user=user, asset=asset, direction="downstream", depth=args.depth)  # warm, grants read
            for _ in range(args.rounds):
                statements = 0
                with connection.execute_wrapper(count):
                    begin = time.perf_counter()
                    graph = lineage_graph(user=user, asset=asset, direction="downstream", depth=args.depth)
                    seconds.append(time.perf_counter() - begin)
            sizes.append((len(graph.nodes), len(graph.edges), graph.hidden_count))
        nodes = statistics.median(size[0] for size in sizes)
        shown = statistics.median(size[1] for size in sizes)
        hidden = statistics.median(size[2] for size in sizes)
        print(f"depth-{args.depth} downstream walk, {label:<17} p50 {percentile(seconds, 0.5) * 1000:6.1f} ms  "
              f"p95 {percentile(seconds, 0.95) * 1000:6.1f} ms  (max {max(seconds) * 1000:.1f}; {len(seconds)} walks "
              f"from {len(starts)} tables; median answer {nodes:.0f} nodes, {shown:.0f} edges, {hidden:.0f} hidden; "
              f"{statements} statement)", flush=True)


if __name__ == "__main__":
    main()
