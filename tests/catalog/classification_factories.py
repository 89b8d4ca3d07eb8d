"""Factories and builders for classification tests: classifications, their applications, custom rules, and a
source's database → schema → table → columns tree with canonical qualified names."""
from __future__ import annotations

import factory

from catalog.models import Asset, AssetClassification, Classification
from scanning.models import ClassificationRule
from sources.connectors import qualified_name
from tests.catalog.factories import DataSourceFactory


class ClassificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Classification
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"CUSTOM.KIND_{n}")
    category = "CUSTOM"
    sensitivity = Asset.Sensitivity.CONFIDENTIAL


def builtin(name: str) -> Classification:
    """A seeded built-in (post_migrate puts them in every test database)."""
    return Classification.objects.get(name=name, is_builtin=True)


class ClassificationRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClassificationRule

    workspace = factory.SubFactory("tests.support.factories.WorkspaceFactory")
    classification = factory.SubFactory(ClassificationFactory)
    column_name_regex = r"^emp(loyee)?_?(no|number|id)$"
    value_regex = r"E\d{6}"
    min_match_share = 0.8
    min_distinct = 1


def asset_tree(source=None, *, schema: str = "public", table: str = "customers",
               columns: dict[str, str] | None = None, table_type: str = Asset.Type.TABLE):
    """(database, schema, table, {column name: column asset}) under ``source``, named like a scan names them."""
    source = source or DataSourceFactory()
    db_path = (source.database or "db",)

    def get(kind, path, parent, data_type=""):
        asset, _ = Asset.objects.get_or_create(
            data_source=source, qualified_name=qualified_name(path),
            defaults={"type": kind, "name": path[-1], "parent": parent, "data_type": data_type})
        return asset

    database = get(Asset.Type.DATABASE, db_path, None)
    schema_asset = get(Asset.Type.SCHEMA, (*db_path, schema), database)
    table_asset = get(table_type, (*db_path, schema, table), schema_asset)
    cols = {}
    for ordinal, (name, data_type) in enumerate((columns or {}).items(), start=1):
        col = get(Asset.Type.COLUMN, (*db_path, schema, table, name), table_asset, data_type)
        if col.ordinal != ordinal:
            col.ordinal = ordinal
            col.save(update_fields=["ordinal"])
        cols[name] = col
    return database, schema_asset, table_asset, cols


class AssetClassificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssetClassification

    asset = factory.LazyFunction(lambda: asset_tree(columns={"email": "text"})[3]["email"])
    classification = factory.LazyFunction(lambda: builtin("PII.EMAIL"))
    status = AssetClassification.Status.SUGGESTED
    source = AssetClassification.Source.SCAN
    confidence = 0.9
    evidence = factory.LazyFunction(lambda: {"match_share": 1.0, "distinct": 40, "name_signal": "email",
                                             "masked_examples": ["j***@e***.com"]})
