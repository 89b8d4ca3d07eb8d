"""manage.py lineage_sql: a file or a folder of .sql files (dbt's compiled models) recorded against a source."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import ExternalAsset, LineageEdge
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import table

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(world):
    source = DataSourceFactory(workspace=world.workspace_a, name="Shop")
    return source, table(source, "orders", columns=("id", "total")), table(source, "daily", columns=("total",))


def run(*args) -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("lineage_sql", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return out.getvalue(), err.getvalue(), code


def test_a_folder_of_compiled_models_is_recorded_and_a_rerun_adds_nothing(shop, tmp_path):
    source, orders, daily = shop
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "daily.sql").write_text("insert into daily select sum(total) from orders")
    (tmp_path / "models" / "export.sql").write_text("create table lake_export as select id from orders")
    out, _err, code = run(str(tmp_path), "--source", "Shop", "--dialect", "postgres", "--default-schema", "public")
    assert code == 0 and "2 files" in out
    assert LineageEdge.objects.filter(source_asset=orders, target_asset=daily, level="table").exists()
    assert ExternalAsset.objects.filter(name="public.lake_export", field="").exists()
    count = LineageEdge.objects.count()
    out, _err, _code = run(str(tmp_path), "--source", str(source.pk), "--dialect", "postgres",
                           "--default-schema", "public")
    assert "0 new edges recorded" in out and LineageEdge.objects.count() == count


def test_unreadable_statements_are_listed_with_their_line_and_exit_1(shop, tmp_path):
    log = tmp_path / "queries.sql"
    log.write_text("insert into daily select total from orders;\nselect from where;\n")
    out, err, code = run(str(log), "--source", "Shop", "--dialect", "postgres", "--dry-run")
    assert code == 1 and f"{log}:2:" in err
    assert "dry run, nothing recorded" in out and not LineageEdge.objects.exists()


def test_bad_arguments_are_refused(shop, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(str(tmp_path / "missing.sql"), "--source", "Shop", "--dialect", "postgres")
    (tmp_path / "a.sql").write_text("select 1")
    with pytest.raises(CommandError, match="use one of: .*postgres"):
        run(str(tmp_path / "a.sql"), "--source", "Shop", "--dialect", "cobol")
    with pytest.raises(CommandError, match="No data source"):
        run(str(tmp_path / "a.sql"), "--source", "Nope", "--dialect", "postgres")


def test_a_file_over_the_statement_cap_is_refused_naming_the_cap(shop, tmp_path, monkeypatch):
    from catalog.lineage import services

    monkeypatch.setattr(services, "MAX_SQL_STATEMENTS", 2)
    log = tmp_path / "day.sql"
    log.write_text("insert into daily select total from orders;\n" * 3)
    with pytest.raises(CommandError, match="holds 3 statements; at most 2 are read at once"):
        run(str(log), "--source", "Shop", "--dialect", "postgres")
