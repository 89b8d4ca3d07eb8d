"""The audit trail in the admin reads as words: its labels ("Actor", "IP address", "API tokens") and what changed
as a table of field, before and after, never the JSON it is stored as."""
import pytest
from django.urls import reverse

from accounts import audit
from accounts.admin import changes_table, details_table, readable_value
from accounts.models import ApiToken, AuditEvent
from tests.support.factories import AuditEventFactory

pytestmark = pytest.mark.django_db


def test_values_read_as_words():
    assert [readable_value(value) for value in (None, "", True, False, ["a", "b"], [], {"ip": "10.0.0.1"}, 3)] == [
        "—", "(empty)", "yes", "no", "a, b", "(none)", "ip: 10.0.0.1", "3"]


def test_a_diff_is_a_table_of_before_and_after_and_escapes_what_it_shows():
    changes = audit.diff({"name": "HR", "port": None, "owners": ["ana"]},
                         {"name": "<b>HR</b>", "port": 5432, "owners": ["ana", "bob"]})
    html = str(changes_table({**changes, "note": "written by hand"}))
    assert "<th scope=\"row\">name</th><td>HR</td><td>&lt;b&gt;HR&lt;/b&gt;</td>" in html
    assert "<th scope=\"row\">port</th><td>—</td><td>5432</td>" in html
    assert "<td>ana</td><td>ana, bob</td>" in html
    assert "<td colspan=\"2\">written by hand</td>" in html
    assert changes_table({}) == "—" and details_table({}) == "—"
    assert "<th scope=\"row\">ip</th><td>10.0.0.1</td>" in str(details_table({"ip": "10.0.0.1"}))


def test_the_audit_pages_show_labels_and_tables_not_json(world):
    event = AuditEventFactory(workspace=world.workspace_a, event="datasource.changed", actor_label="ana",
                              object_repr="HR", changes={"host": ["db1", "db2"]}, extra={"ip": "10.0.0.1"},
                              ip="10.0.0.1")
    client = world.client("superuser")
    listing = client.get(reverse("admin:accounts_auditevent_changelist")).content.decode()
    assert "Actor" in listing and "Actor label" not in listing
    assert "Workspace A" in listing and "Workspace id" not in listing
    assert '<td class="field-changed_fields">host</td>' in listing
    page = client.get(reverse("admin:accounts_auditevent_change", args=[event.pk])).content.decode()
    assert "IP address" in page and "Ip:" not in page
    assert "<td>db1</td><td>db2</td>" in page and "[&quot;db1&quot;" not in page and '["db1"' not in page
    assert '{"ip"' not in page and "{&quot;ip&quot;" not in page


def test_api_tokens_are_named_so():
    assert (ApiToken._meta.verbose_name, ApiToken._meta.verbose_name_plural) == ("API token", "API tokens")
    assert AuditEvent._meta.get_field("ip").verbose_name == "IP address"
