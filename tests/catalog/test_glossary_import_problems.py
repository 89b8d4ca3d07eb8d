"""A refused glossary import names every problem at once (issue 13, new-user pass): an unknown column in the header
no longer hides the rows' own problems, nor an unknown JSON field a term's other ones — in the service, the
command and the admin's import page, never a 500."""
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.actors import SYSTEM
from catalog import glossary
from catalog.models import GlossaryTerm
from tests.support.personas import verified_client

IMPORT = reverse("admin:catalog_glossaryterm_import")

# An unknown column ("colour") and, below it, a bad status on row 2 and an unknown parent on row 3.
BAD_CSV = ("name,definition,colour,status,parent\n"
           "Customer,A buyer.,red,approved,\n"
           "Order,What is bought.,blue,final,\n"
           "Invoice,A bill.,green,draft,Nowhere\n")


def _problems(world, data: str, fmt: str = "csv") -> list[tuple]:
    with pytest.raises(glossary.ImportRejected) as rejected:
        glossary.glossary_import(workspace=world.workspace_a, data=data, fmt=fmt, acting_user=SYSTEM)
    return [(error["row"], error["column"]) for error in rejected.value.errors]


def test_an_unknown_column_is_named_with_the_rows_problems(world):
    assert _problems(world, BAD_CSV) == [(0, "colour"), (2, "status"), (3, "parent")]
    assert not GlossaryTerm.objects.exists()


def test_the_message_names_the_header_and_counts_the_rest(world):
    with pytest.raises(glossary.ImportRejected) as rejected:
        glossary.glossary_import(workspace=world.workspace_a, data=BAD_CSV, fmt="csv", acting_user=SYSTEM)
    assert str(rejected.value.message).startswith("header, column colour: Unknown column")
    assert str(rejected.value.message).endswith("(and 2 more)")


def test_every_unknown_duplicated_or_unnamed_column_is_named(world):
    assert _problems(world, "name,colour,size,definition,definition,\nA,red,big,x,y,\n") == [
        (0, "colour"), (0, "size"), (0, "definition"), (0, "")]


def test_without_a_name_column_the_header_and_the_rows_unreadable_cells_are_named_not_every_nameless_row(world):
    assert _problems(world, "definition,colour\nok,red\nnul\x00here,blue\nok,red,extra\n") == [
        (0, "name"), (0, "colour"), (2, "definition"), (3, "")]


def test_an_unreadable_cell_is_named_once_not_again_by_the_checks_after_it(world):
    assert _problems(world, "name,status\nA\x00,approved\nB,final\n") == [(1, "name"), (2, "status")]


def test_json_names_each_unknown_field_and_each_wrong_value_with_the_terms_other_problems(world):
    document = json.dumps({"terms": [{"name": "A", "colour": "red", "status": "final"},
                                     {"name": "B", "synonyms": "not a list", "parent": "Nowhere"},
                                     "not an object",
                                     {"name": 7}]})
    assert _problems(world, document, "json") == [(1, "colour"), (1, "status"), (2, "synonyms"), (2, "parent"), (3, ""),
                                           (4, "name")]


def test_a_good_file_beside_an_unknown_column_still_imports_nothing_and_the_fixed_file_imports(world):
    data = "name,colour\nCustomer,red\n"
    assert _problems(world, data) == [(0, "colour")]
    plan = glossary.glossary_import(workspace=world.workspace_a, data="name\nCustomer\n", fmt="csv",
                                    acting_user=SYSTEM)
    assert plan.count("create") == 1


def test_the_command_lists_every_problem(world, tmp_path):
    path = tmp_path / "glossary.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    with pytest.raises(CommandError) as failed:
        call_command("glossary", "import", world.workspace_a.slug, str(path))
    lines = str(failed.value).splitlines()[1:]
    assert [line.split(":")[0] for line in lines] == ["row 0, column colour", "row 2, column status",
                                                      "row 3, column parent"]


def _upload(world, client, content: str, name="glossary.csv"):
    return client.post(IMPORT, {"workspace": world.workspace_a.pk,
                                "file": SimpleUploadedFile(name, content.encode()), "format": ""},
                       format="multipart")


def _steward(world):
    user = world.user("steward")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return verified_client(user)


def test_the_admin_import_page_lists_the_header_problem_and_the_rows(world):
    response = _upload(world, _steward(world), BAD_CSV)
    assert response.status_code == 200
    html = response.content.decode()
    rows = re.findall(r"<tr><td>(\w+)</td><td>([\w—]+)</td><td>(.*?)</td></tr>", html)
    assert [(row, column) for row, column, _ in rows] == [("header", "colour"), ("2", "status"), ("3", "parent")]
    assert "nothing was imported" in html
    assert not GlossaryTerm.objects.exists()


def test_the_admin_import_page_shows_the_first_problems_of_a_file_full_of_them_and_counts_the_others(world):
    terms = 250
    bad_rows = "".join(f"T{n},final,x\n" for n in range(terms))
    response = _upload(world, _steward(world), "name,status,colour\n" + bad_rows)
    assert response.status_code == 200
    html = response.content.decode()
    assert len(re.findall(r"<tr><td>\w+</td>", html)) == 200
    assert f"And {terms + 1 - 200} more problems not shown." in html


@pytest.mark.parametrize("content", [
    "name,\x00\nA,b\n",  # a NUL in the header
    '"name\nA',  # an unclosed quote
    "\ufeffname,definition\nA,b\n",  # a byte-order mark the form's decoding leaves none of, here given twice
    "",
])
def test_odd_files_are_answered_not_a_500(world, content):
    response = _upload(world, _steward(world), content)
    assert response.status_code == 200
