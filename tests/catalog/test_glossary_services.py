"""The glossary (catalog.glossary): terms, hierarchy without cycles, links to assets that also classify columns,
and import/export — all or nothing, with a dry run that changes nothing."""
import csv
import io
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.models import AuditEvent, User
from accounts.roles import Role
from catalog import glossary
from catalog.models import Asset, AssetClassification, GlossaryTerm, GlossaryTermAsset
from catalog.selectors import glossary_term_list
from tests.catalog.classification_factories import AssetClassificationFactory, builtin
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.factories import WorkspaceFactory, membership


@pytest.fixture
def column_a(world):
    return AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a), type=Asset.Type.COLUMN,
                        name="email")


def test_steward_creates_a_term_with_relations_audited(world):
    steward = world.user("steward")
    parent = glossary.glossary_term_create(workspace=world.workspace_a, name="Customer", acting_user=steward)
    term = glossary.glossary_term_create(
        workspace=world.workspace_a, name="Customer e-mail", definition="Where we write to a customer.",
        synonyms=["email", " email ", "mail"], abbreviations=["CE"], parent=parent, status="approved",
        classification=builtin("PII.EMAIL"), related_terms=[parent], stewards=[steward], acting_user=steward)
    assert term.synonyms == ["email", "mail"]
    assert list(term.related_terms.all()) == [parent] and list(parent.related_terms.all()) == [term]
    created = AuditEvent.objects.get(event="glossary_term.created", object_id=str(term.pk))
    assert created.changes["name"] == [None, "Customer e-mail"] and "classification" in created.changes
    changed = AuditEvent.objects.get(event="glossary_term.changed", object_id=str(term.pk))
    assert changed.changes == {"related_terms": [[], ["Customer"]], "stewards": [[], ["steward"]]}


@pytest.mark.parametrize("persona", ["analyst", "auditor", "other_workspace_user"])
def test_readers_and_other_workspaces_cannot_write_terms(world, persona):
    with pytest.raises(PermissionDenied):
        glossary.glossary_term_create(workspace=world.workspace_a, name="X", acting_user=world.user(persona))


def test_hierarchy_refuses_cycles_and_other_workspaces(world):
    steward = world.user("steward")
    top = GlossaryTermFactory(workspace=world.workspace_a, name="Party")
    middle = GlossaryTermFactory(workspace=world.workspace_a, name="Customer", parent=top)
    leaf = GlossaryTermFactory(workspace=world.workspace_a, name="VIP", parent=middle)
    for parent in (leaf, top):
        with pytest.raises(ValidationError) as error:
            glossary.glossary_term_update(term=top if parent is leaf else top, parent=parent, acting_user=steward)
        assert "parent" in error.value.message_dict
    with pytest.raises(ValidationError):
        glossary.glossary_term_update(term=leaf, parent=GlossaryTermFactory(workspace=world.workspace_b),
                                      acting_user=steward)
    with pytest.raises(ValidationError):  # a term with narrower terms is not deleted under them
        glossary.glossary_term_delete(term=middle, acting_user=steward)


def test_stewards_of_a_term_are_members(world):
    with pytest.raises(ValidationError):
        glossary.glossary_term_create(workspace=world.workspace_a, name="X", acting_user=world.user("steward"),
                                      stewards=[world.user("other_workspace_user")])


def test_linking_a_term_to_a_column_confirms_its_classification(world, column_a):
    steward = world.user("steward")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail",
                               classification=builtin("PII.EMAIL"))
    link = glossary.glossary_term_link(term=term, asset=column_a, acting_user=steward)
    applied = AssetClassification.objects.get(asset=column_a, classification__name="PII.EMAIL")
    assert (applied.status, applied.decided_by, applied.source) == ("confirmed", steward, "manual")
    assert link.asset_classification == applied
    column_a.refresh_from_db()
    assert column_a.sensitivity == builtin("PII.EMAIL").sensitivity
    event = AuditEvent.objects.get(event="asset.term_linked", object_id=str(column_a.pk))
    assert event.extra["classification"] == "PII.EMAIL"
    # Unlinking keeps the classification: it is a decision about the data (the steward rejects it to undo).
    glossary.glossary_term_unlink(term=term, asset=column_a, acting_user=steward)
    assert not GlossaryTermAsset.objects.exists()
    applied.refresh_from_db()
    assert applied.status == "confirmed"
    assert AuditEvent.objects.get(event="asset.term_unlinked").extra["classification_kept"] == applied.pk


def test_linking_confirms_a_suggestion_and_refuses_deprecated_terms(world, column_a):
    suggestion = AssetClassificationFactory(asset=column_a, classification=builtin("PII.EMAIL"), status="suggested")
    term = GlossaryTermFactory(workspace=world.workspace_a, classification=builtin("PII.EMAIL"))
    glossary.glossary_term_link(term=term, asset=column_a, acting_user=world.user("steward"))
    suggestion.refresh_from_db()
    assert suggestion.status == "confirmed"
    old = GlossaryTermFactory(workspace=world.workspace_a, status="deprecated")
    with pytest.raises(ValidationError):
        glossary.glossary_term_link(term=old, asset=column_a, acting_user=world.user("steward"))
    with pytest.raises(ValidationError):
        glossary.glossary_term_link(term=GlossaryTermFactory(workspace=world.workspace_b), asset=column_a,
                                    acting_user=SYSTEM)
    with pytest.raises(PermissionDenied):
        glossary.glossary_term_link(term=term, asset=column_a, acting_user=world.user("analyst"))


# --- import / export ---------------------------------------------------------------------------------------------

def _csv(rows, columns=glossary.COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _thousand_terms():
    rows = [{"name": "Term 0", "definition": "The root.", "status": "approved", "synonyms": "root;origin"}]
    rows += [{"name": f"Term {n}", "definition": f"Term number {n}.", "parent": f"Term {(n - 1) // 10}",
              "related_terms": f"Term {n - 1}", "stewards": "steward", "classification": "PII.EMAIL" if n % 7 else ""}
             for n in range(1, 1000)]
    return _csv(rows)


def test_a_thousand_term_csv_imports_in_one_transaction(world):
    plan = glossary.glossary_import(workspace=world.workspace_a, data=_thousand_terms(), fmt="csv",
                                    acting_user=world.user("steward"))
    assert plan.count("create") == 1000
    assert GlossaryTerm.objects.filter(workspace=world.workspace_a).count() == 1000
    term = GlossaryTerm.objects.get(name="Term 15")
    assert term.parent.name == "Term 1" and term.classification.name == "PII.EMAIL"
    assert GlossaryTerm.objects.get(name="Term 0").synonyms == ["root", "origin"]
    assert sorted(term.related_terms.values_list("name", flat=True)) == ["Term 14", "Term 16"]  # symmetrical
    assert list(term.stewards.values_list("username", flat=True)) == ["steward"]
    assert AuditEvent.objects.filter(event="glossary.imported").get().extra["created"] == 1000
    # One audit row per term, as the term services write it: its fields, relations and stewards by name.
    created = AuditEvent.objects.filter(event="glossary_term.created")
    assert created.count() == 1000
    row = created.get(object_id=str(term.pk))
    assert row.changes["parent"] == [None, term.parent_id] and row.changes["stewards"] == [[], ["steward"]]
    assert row.actor == world.user("steward") and row.workspace_id == world.workspace_a.pk
    # Again, unchanged: nothing is written.
    before = AuditEvent.objects.count()
    again = glossary.glossary_import(workspace=world.workspace_a, data=_thousand_terms(), fmt="csv",
                                     acting_user=world.user("steward"))
    assert again.count("unchanged") == 1000
    assert AuditEvent.objects.count() == before + 1  # glossary.imported only


def test_a_failure_after_the_thousandth_term_is_written_imports_none(world, monkeypatch):
    """One transaction: the import's last write (its ``glossary.imported`` row) failing takes back the 1,000
    terms, their links and their audit rows written before it."""
    record = glossary.audit.record

    def failing(**kwargs):
        if kwargs["event"] == "glossary.imported":
            assert GlossaryTerm.objects.filter(workspace=world.workspace_a).count() == 1000  # written by then
            raise RuntimeError("the database went away")
        return record(**kwargs)

    monkeypatch.setattr(glossary.audit, "record", failing)
    with pytest.raises(RuntimeError):
        glossary.glossary_import(workspace=world.workspace_a, data=_thousand_terms(), fmt="csv",
                                 acting_user=world.user("steward"))
    assert not GlossaryTerm.objects.exists() and not GlossaryTerm.related_terms.through.objects.exists()
    assert not AuditEvent.objects.filter(event__startswith="glossary").exists()


def _queries_of_import(workspace, data, acting_user) -> int:
    with CaptureQueriesContext(connection) as queries:
        glossary.glossary_import(workspace=workspace, data=data, fmt="csv", acting_user=acting_user)
    return len(queries)


def test_import_costs_the_same_queries_for_ten_terms_or_sixty(world):
    """The import writes in bulk: the number of statements does not grow with the terms, created or changed
    (docs/benchmarks.md times 1,000), nor with the depth of their hierarchy (three and four levels below; both
    files within one batch of SQLite's 999 parameters)."""
    steward = world.user("steward")

    def rows(count, label, fan_out):
        return _csv([{"name": f"T{n}", "definition": f"{label} {n}", "parent": f"T{n // fan_out}" if n else "",
                      "related_terms": f"T{n - 1}" if n else "", "stewards": "steward" if n % fan_out else "",
                      "classification": "PII.EMAIL" if n % 2 else ""} for n in range(count)])

    other, warm = WorkspaceFactory(), WorkspaceFactory()
    for workspace in (other, warm):
        membership(steward, workspace, Role.DATA_STEWARD)
    steward = User.objects.get(pk=steward.pk)
    # Warm the caches (content types, the steward's grants) on a third glossary.
    _queries_of_import(warm, _csv([{"name": "warm"}]), steward)
    few = _queries_of_import(world.workspace_a, rows(10, "new", 3), steward)
    many = _queries_of_import(other, rows(60, "new", 4), steward)
    assert many == few
    # Changing every term (definition, parent, stewards; relations stay) also costs a fixed number.
    few = _queries_of_import(world.workspace_a, rows(10, "changed", 2), steward)
    many = _queries_of_import(other, rows(60, "changed", 3), steward)
    assert many == few
    assert GlossaryTerm.objects.get(workspace=other, name="T9").parent.name == "T3"


def test_a_malformed_row_rejects_the_whole_file_naming_row_and_column(world):
    rows = [{"name": f"Term {n}", "status": "approved"} for n in range(1, 50)]
    rows[41]["status"] = "published"
    with pytest.raises(glossary.ImportRejected) as error:
        glossary.glossary_import(workspace=world.workspace_a, data=_csv(rows), fmt="csv", acting_user=SYSTEM)
    assert error.value.errors[0] == {"row": 42, "column": "status", "message": "Choose one of: draft, approved, "
                                                                              "deprecated."}
    assert str(error.value.message).startswith("row 42, column status")
    assert not GlossaryTerm.objects.exists()


@pytest.mark.parametrize(("rows", "where"), [
    ([{"name": "A", "parent": "B"}, {"name": "B", "parent": "A"}], (1, "parent")),
    ([{"name": "A", "parent": "Nowhere"}], (1, "parent")),
    ([{"name": "A"}, {"name": "A"}], (2, "name")),
    ([{"name": "A", "stewards": "other_workspace_user"}], (1, "stewards")),
    ([{"name": "A", "classification": "NOT.A_CLASS"}], (1, "classification")),
    ([{"name": ""}], (1, "name")),
])
def test_invalid_files_are_refused_with_row_and_column(world, rows, where):
    with pytest.raises(glossary.ImportRejected) as error:
        glossary.glossary_import(workspace=world.workspace_a, data=_csv(rows), fmt="csv", acting_user=SYSTEM)
    assert (error.value.errors[0]["row"], error.value.errors[0]["column"]) == where


@pytest.mark.parametrize(("data", "fmt", "where"), [
    ("[" * 100_000 + "]" * 100_000, "json", (0, "")),  # json.loads raised RecursionError
    ("name,definition\nA," + "x" * 200_000 + "\n", "csv", (1, "")),  # csv.Error: past the field size limit
    ("name,definition\nA,nul\x00here\n", "csv", (1, "definition")),  # PostgreSQL refuses NUL at the write
    ('[{"name": "A"}, {"name": "B\\u0000"}]', "json", (2, "name")),
    ('[{"name": "A", "synonyms": ["\\ud800"]}]', "json", (1, "synonyms")),  # a lone surrogate is no text
])
def test_files_the_parsers_or_the_database_cannot_read_are_refused_with_row_and_column(world, data, fmt, where):
    with pytest.raises(glossary.ImportRejected) as error:
        glossary.glossary_import(workspace=world.workspace_a, data=data, fmt=fmt, acting_user=SYSTEM)
    assert (error.value.errors[0]["row"], error.value.errors[0]["column"]) == where
    assert not GlossaryTerm.objects.exists()


def test_unknown_csv_column_is_refused(world):
    with pytest.raises(glossary.ImportRejected) as error:
        glossary.glossary_import(workspace=world.workspace_a, data="name,colour\nA,red\n", fmt="csv",
                                 acting_user=SYSTEM)
    assert error.value.errors[0]["column"] == "colour"


def test_dry_run_lists_changes_and_changes_nothing(world):
    steward = world.user("steward")
    GlossaryTermFactory(workspace=world.workspace_a, name="Customer", definition="Old.")
    GlossaryTermFactory(workspace=world.workspace_a, name="Order", definition="Same.", status="approved")
    before = AuditEvent.objects.count()
    data = json.dumps({"terms": [{"name": "Customer", "definition": "New."},
                                 {"name": "Order", "definition": "Same.", "status": "approved"},
                                 {"name": "Invoice", "parent": "Order"}]})
    plan = glossary.glossary_import(workspace=world.workspace_a, data=data, fmt="json", acting_user=steward,
                                    dry_run=True)
    assert [(item["name"], item["action"], item.get("fields")) for item in plan.items] == [
        ("Customer", "update", ["definition", "status"]), ("Order", "unchanged", []), ("Invoice", "create", None)]
    assert GlossaryTerm.objects.get(name="Customer").definition == "Old."
    assert not GlossaryTerm.objects.filter(name="Invoice").exists() and AuditEvent.objects.count() == before


def test_reversing_a_hierarchy_imports_without_a_transient_cycle(world):
    parent = GlossaryTermFactory(workspace=world.workspace_a, name="A")
    GlossaryTermFactory(workspace=world.workspace_a, name="B", parent=parent)
    data = _csv([{"name": "A", "parent": "B"}, {"name": "B", "parent": ""}])
    glossary.glossary_import(workspace=world.workspace_a, data=data, fmt="csv", acting_user=SYSTEM)
    assert GlossaryTerm.objects.get(name="A").parent.name == "B"


def test_import_needs_the_right_to_write_terms(world):
    with pytest.raises(PermissionDenied):
        glossary.glossary_import(workspace=world.workspace_a, data=_csv([{"name": "A"}]), fmt="csv",
                                 acting_user=world.user("analyst"))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_reads_back_unchanged(world, fmt):
    glossary.glossary_import(workspace=world.workspace_a, data=_thousand_terms(), fmt="csv", acting_user=SYSTEM)
    GlossaryTermFactory(workspace=world.workspace_a, name="Formula", definition="=1+1")
    # Regression (attack22): a name starting with a quote then a formula sign exported as it was and imported as
    # "=x", a change.
    GlossaryTermFactory(workspace=world.workspace_a, name="'=x", definition="'quoted")
    exported = glossary.glossary_export(terms=glossary_term_list(user=world.user("analyst")), fmt=fmt)
    if fmt == "csv":
        assert "'=1+1" in exported and "''=x" in exported  # spreadsheet-safe
    plan = glossary.glossary_import(workspace=world.workspace_a, data=exported, fmt=fmt, acting_user=SYSTEM,
                                    dry_run=True)
    assert plan.count("unchanged") == 1002


def test_command_imports_with_dry_run_and_exports(world, tmp_path):
    path = tmp_path / "glossary.csv"
    path.write_text(_csv([{"name": "Customer", "definition": "Someone who buys."}]))
    out = io.StringIO()
    call_command("glossary", "import", "workspace-a", str(path), "--dry-run", stdout=out)
    assert "1 term created" in out.getvalue() and "dry run" in out.getvalue()
    assert not GlossaryTerm.objects.exists()
    call_command("glossary", "import", "workspace-a", str(path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("glossary", "export", "workspace-a", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["terms"][0]["name"] == "Customer"
