"""The OpenLineage namespaces a data source answers to (sources.openlineage): derived from its connection settings
where OpenLineage's naming convention says how, declared otherwise; validated and normalized in the API and the
admin form."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from sources.forms import DataSourceForm
from sources.models import DataSource
from sources.openlineage import namespace_derived, namespaces_in_use, namespaces_validated
from tests.catalog.factories import DataSourceFactory


@pytest.mark.parametrize(("engine", "host", "port", "options", "expected"), [
    ("postgresql", "DB.Example.com", None, {}, "postgres://db.example.com:5432"),
    ("postgresql", "db", 6432, {}, "postgres://db:6432"),
    ("mysql", "maria", None, {}, "mysql://maria:3306"),
    ("sqlalchemy", "", None, {"url": "postgresql+psycopg://u@pg.internal:5433/shop"}, "postgres://pg.internal:5433"),
    ("sqlalchemy", "", None, {"url": "mariadb+pymysql://u@m/shop"}, "mysql://m:3306"),
    ("sqlalchemy", "", None, {"url": "snowflake://u@account/db"}, None),  # the account is declared, not guessed
    ("sqlite", "", None, {}, None),
    ("postgresql", "", None, {}, None),
])
def test_the_derived_namespace_follows_openlineage_naming(engine, host, port, options, expected):
    assert namespace_derived(engine=engine, host=host, port=port, options=options) == expected


def test_declared_namespaces_are_normalized_and_replace_the_derived_one():
    assert namespaces_validated(["Postgres://DB:5432/", "postgres://db:5432", "bigquery", "s3://Bucket/Path"]) == [
        "postgres://db:5432", "bigquery", "s3://bucket/Path"]
    source = DataSource(engine="postgresql", host="db", port=5432, openlineage_namespaces=["snowflake://org-acct"])
    assert namespaces_in_use(source) == ["snowflake://org-acct"]
    source.openlineage_namespaces = []
    assert namespaces_in_use(source) == ["postgres://db:5432"]


@pytest.mark.parametrize("bad", ["", "postgres://user:secret@db:5432", "not a namespace", "://db", "1pg://db"])
def test_a_bad_namespace_is_refused_saying_which(bad):
    with pytest.raises(ValidationError):
        namespaces_validated([bad])


@pytest.mark.django_db
def test_the_api_stores_declared_namespaces_and_shows_those_in_use(world):
    client = world.client("steward")
    created = client.post(reverse("api:datasource-list"), {
        "workspace": world.workspace_a.pk, "name": "Warehouse", "engine": "postgresql", "host": "wh.example.test",
        "openlineage_namespaces": ["POSTGRES://WH-Primary.example.test:5432"]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["openlineage_namespaces"] == ["postgres://wh-primary.example.test:5432"]
    assert body["openlineage_namespaces_in_use"] == ["postgres://wh-primary.example.test:5432"]
    cleared = client.patch(reverse("api:datasource-detail", args=[body["id"]]), {"openlineage_namespaces": []},
                           format="json").json()
    assert cleared["openlineage_namespaces_in_use"] == ["postgres://wh.example.test:5432"]


@pytest.mark.django_db
def test_the_api_refuses_a_bad_namespace_naming_the_field(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    response = world.client("steward").patch(reverse("api:datasource-detail", args=[source.pk]),
                                             {"openlineage_namespaces": ["postgres://u:pw@db"]}, format="json")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["openlineage_namespaces"]


@pytest.mark.django_db
def test_the_admin_form_takes_one_namespace_a_line(world):
    data = {"workspace": world.workspace_a.pk, "name": "Lake", "engine": "postgresql", "host": "h.example.test",
            "port": 5432, "openlineage_namespaces": "postgres://h.example.test:5432\n\n  mysql://legacy:3306  \n"}
    form = DataSourceForm(data=data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["openlineage_namespaces"] == ["postgres://h.example.test:5432", "mysql://legacy:3306"]
    refused = DataSourceForm(data={**data, "openlineage_namespaces": "has spaces in it"})
    assert not refused.is_valid() and list(refused.errors) == ["openlineage_namespaces"]


@pytest.mark.django_db
def test_the_admin_page_shows_the_namespaces_in_use_and_saves_declared_ones(world):
    from tests.scanning.test_admin import staff

    source = DataSourceFactory(workspace=world.workspace_a, host="wh.example.test", port=5432)
    client = staff(world, "steward")
    url = reverse("admin:sources_datasource_change", args=[source.pk])
    html = client.get(url).content.decode()
    assert "postgres://wh.example.test:5432</div> (from the connection settings)" in html
    assert 'name="openlineage_namespaces"' in html
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "owners"}
    data.update({"workspace": world.workspace_a.pk, "openlineage_namespaces": "snowflake://org-acct"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert source.openlineage_namespaces == ["snowflake://org-acct"]
