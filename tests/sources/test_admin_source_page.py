"""A data source's admin page: the Test connection button (posted with its CSRF token, offered only to who may test,
audited by the service), the driver options as form fields, the workspace chosen for a user who has one."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from sources.connectors.base import ALLOWED_OPTIONS
from sources.forms import DRIVER_OPTIONS
from sources.models import DataSource
from tests.catalog.factories import DataSourceFactory
from tests.scanning.test_admin import staff
from tests.support.dead_services import closed_port
from tests.support.personas import verified_client


def change_url(source):
    return reverse("admin:sources_datasource_change", args=[source.pk])


def button_url(source, name="test-connection"):
    return reverse("admin:sources_datasource_button", args=[source.pk, name])


@pytest.fixture
def source(world):
    return DataSourceFactory(workspace=world.workspace_a, name="hr-postgres", engine="postgresql", host="127.0.0.1",
                             port=closed_port(), database="hr", username="scanner")


def test_the_button_is_a_form_posting_with_its_csrf_token(world, source):
    html = staff(world, "steward").get(change_url(source)).content.decode()
    form = re.search(rf'<form method="post" action="{button_url(source)}" class="object-button">(.*?)</form>', html,
                     re.S)
    assert form is not None, html
    assert 'name="csrfmiddlewaretoken"' in form.group(1) and ">Test connection</button>" in form.group(1)


def test_failed_test_is_said_on_the_page_with_the_precise_error_and_audited(world, source):
    client = staff(world, "workspace_admin")  # may read the secret: the precise reason
    response = client.post(button_url(source), follow=True)
    assert response.redirect_chain == [(change_url(source), 302)]
    messages = [str(message) for message in response.context["messages"]]
    assert len(messages) == 1 and messages[0].startswith("Test: connection failed: ")
    assert "refused" in messages[0].lower(), messages
    event = AuditEvent.objects.get(event="datasource.connection_tested")
    assert event.object_id == str(source.pk) and event.extra["ok"] is False
    assert event.actor_label == world.user("workspace_admin").username


def test_a_steward_who_may_not_read_the_secret_gets_the_general_words(world, source):
    response = staff(world, "steward").post(button_url(source), follow=True)
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["Test: connection failed: cannot connect to the source (a workspace admin can see the reason)"]


def test_a_successful_test_names_the_server(world, source, monkeypatch):
    from sources import services
    from sources.connectors.base import ConnectionInfo

    info = ConnectionInfo(engine="postgresql", server_version="15.20 (Debian 15.20-0+deb12u1)",
                          current_user="scanner", database="hr", read_only=True, statement_timeout_s=30)
    monkeypatch.setattr(services, "_test_connection", lambda data_source, acting_user: info)
    response = staff(world, "steward").post(button_url(source), follow=True)
    assert [str(message) for message in response.context["messages"]] == [
        "Test: connected to PostgreSQL 15.20 (Debian 15.20-0+deb12u1) as scanner (read-only session)."]


def test_an_analyst_has_no_button_and_is_refused(world, source):
    client = staff(world, "analyst")
    assert "test-connection" not in client.get(change_url(source)).content.decode()
    assert client.post(button_url(source)).status_code == 403
    assert not AuditEvent.objects.filter(event="datasource.connection_tested").exists()


def test_another_workspaces_source_is_not_found(world):
    theirs = DataSourceFactory(workspace=world.workspace_b)
    assert staff(world, "steward").post(button_url(theirs)).status_code == 404
    assert staff(world, "steward").post(button_url(DataSourceFactory(workspace=world.workspace_a), "nothing")
                                        ).status_code == 404


def test_a_get_does_nothing(world, source):
    assert staff(world, "steward").get(button_url(source)).status_code == 405
    assert not AuditEvent.objects.filter(event="datasource.connection_tested").exists()


def test_a_post_without_the_csrf_token_is_refused(world, source):
    client = Client(enforce_csrf_checks=True)
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    client.cookies = verified_client(steward).cookies
    assert client.get(change_url(source)).status_code == 200  # signed in and verified
    assert client.post(button_url(source)).status_code == 403
    assert not AuditEvent.objects.filter(event="datasource.connection_tested").exists()


# --- the form ------------------------------------------------------------------------------------------------


def test_every_allowed_option_has_a_form_field():
    assert {(option.engine, option.key) for option in DRIVER_OPTIONS} == {
        (engine, key) for engine, options in ALLOWED_OPTIONS.items() for key in options}


def test_options_are_fields_with_help_not_json(world, source):
    source.options = {"sslmode": "require", "connect_timeout": "5"}
    source.save()
    html = staff(world, "steward").get(change_url(source)).content.decode()
    assert 'name="options"' not in html
    assert re.search(r'<option value="require" selected>require: always TLS', html)
    assert 'name="postgresql_connect_timeout" value="5"' in html
    assert "can only shorten Racine's own limit" in html
    assert 'class="module aligned engine-options engine-mysql"' in html  # hidden by the form's script
    assert "racine/datasource_form.js" in html


def _form(source, **changes):
    data = {"name": source.name, "engine": source.engine, "host": source.host, "port": source.port or "",
            "database": source.database, "username": source.username, "password": ""}
    return {**data, **changes}


def test_options_are_saved_from_their_fields_through_the_service(world, source):
    client = staff(world, "workspace_admin")
    response = client.post(change_url(source), _form(source, postgresql_sslmode="verify-full",
                                                     postgresql_connect_timeout="4",
                                                     mysql_charset="latin1"))  # another engine's: ignored
    assert response.status_code == 302, response.content.decode()[:3000]
    source.refresh_from_db()
    assert source.options == {"sslmode": "verify-full", "connect_timeout": "4"}
    event = AuditEvent.objects.get(event="datasource.changed")
    assert event.changes == {"options": [{}, {"sslmode": "verify-full", "connect_timeout": "4"}]}


def test_a_save_that_leaves_the_options_keeps_them(world):
    source = DataSourceFactory(workspace=world.workspace_a, engine="mysql", host="db.example.test", port=3306,
                               options={"ssl_verify_cert": "false", "charset": "latin1"})
    named = source.name
    response = staff(world, "steward").post(change_url(source), _form(source, mysql_charset="latin1",
                                                                      name="Orders"))
    assert response.status_code == 302, response.content.decode()[:3000]
    source.refresh_from_db()
    assert source.options == {"ssl_verify_cert": "false", "charset": "latin1"}  # "false" kept, not rewritten
    assert AuditEvent.objects.get(event="datasource.changed").changes == {"name": [named, "Orders"]}


def test_a_bad_option_value_is_an_error_on_its_field(world, source):
    response = staff(world, "steward").post(change_url(source), _form(source, postgresql_application_name="x\ty"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "postgresql_application_name": ["This value is not accepted by the driver."]}


def test_a_sqlalchemy_url_error_is_on_the_url_field(world):
    client = staff(world, "steward")
    response = client.post(reverse("admin:sources_datasource_add"), {
        "workspace": world.workspace_a.pk, "name": "Other", "engine": "sqlalchemy",
        "sqlalchemy_url": "postgresql+psycopg2://scanner@db.example.test/shop"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["sqlalchemy_url"] and "driver 'psycopg2' is not allowed" in errors["sqlalchemy_url"][0]


def test_a_viewer_reads_the_options_in_words(world, source):
    source.options = {"sslmode": "require"}
    source.save()
    html = staff(world, "analyst").get(change_url(source)).content.decode()
    assert "<div>TLS (sslmode): require</div>" in html and 'name="postgresql_sslmode"' not in html


def test_the_workspace_is_chosen_for_a_user_with_one(world):
    html = staff(world, "steward").get(reverse("admin:sources_datasource_add")).content.decode()
    assert re.search(rf'<option value="{world.workspace_a.pk}" selected>Workspace A</option>', html), html
    superuser_html = staff(world, "superuser").get(reverse("admin:sources_datasource_add")).content.decode()
    assert " selected>Workspace" not in superuser_html  # several workspaces: the user chooses


def test_a_source_added_with_options(world):
    response = staff(world, "steward").post(reverse("admin:sources_datasource_add"), {
        "workspace": world.workspace_a.pk, "name": "Shop", "engine": "mysql", "host": "db.example.test",
        "port": "3306", "database": "shop", "username": "scanner", "password": "pw",
        "mysql_ssl_verify_cert": "on", "mysql_charset": "utf8mb4"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert DataSource.objects.get(name="Shop").options == {"ssl_verify_cert": "true", "charset": "utf8mb4"}
