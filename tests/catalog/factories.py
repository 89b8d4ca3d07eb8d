"""factory_boy factories for catalog and scanning objects, written straight to the database (no service, no
audit row): tests that exercise the services call them directly."""
from __future__ import annotations

import factory
from django.utils import timezone

from catalog.models import Asset
from scanning.models import AssetChange, Scan, ScanRuleSet, ScanRun
from sources import crypto
from sources.models import DataSource
from tests.support.factories import WorkspaceFactory


class DataSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataSource
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Source {n}")
    engine = DataSource.Engine.POSTGRESQL
    host = "db.example.test"
    port = 5432
    database = "shop"
    username = "scanner"
    encrypted_secret = factory.LazyFunction(lambda: crypto.encrypt("factory-secret-value"))


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    data_source = factory.SubFactory(DataSourceFactory)
    type = Asset.Type.TABLE
    name = factory.Sequence(lambda n: f"table_{n}")
    qualified_name = factory.LazyAttribute(lambda asset: f"shop.public.{asset.name}")


class ScanRuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScanRuleSet

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Rule set {n}")


class ScanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scan

    data_source = factory.SubFactory(DataSourceFactory)
    rule_set = factory.SubFactory(ScanRuleSetFactory, workspace=factory.SelfAttribute("..data_source.workspace"))
    name = factory.Sequence(lambda n: f"Scan {n}")


class ScanRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScanRun

    scan = factory.SubFactory(ScanFactory)
    data_source = factory.SelfAttribute("scan.data_source")
    status = ScanRun.Status.SUCCEEDED
    trigger = ScanRun.Trigger.MANUAL
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda run: run.started_at if run.status not in ScanRun.ACTIVE else None)


class AssetChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssetChange

    run = factory.SubFactory(ScanRunFactory)
    asset = factory.SubFactory(AssetFactory, data_source=factory.SelfAttribute("..run.data_source"))
    kind = AssetChange.Kind.ADDED
