"""Each data source gets its own asset of type ``source`` (catalog.source_assets): the root of its asset tree, the
parent of its databases, so that a source is curated, searched and filtered as any asset.

For every existing source the migration makes that asset, makes it the parent of the source's databases, gives it
the sensitivity of its most sensitive database, and moves what the source itself held of curation onto it — its
description becomes the asset's stewards' description, its owners the asset's technical owners — before
``sources.0004`` drops those two fields (``run_before``). Its search document is written when the source is next
scanned or renamed, or at once by ``manage.py search_reindex``."""

from django.db import migrations, models

SENSITIVITY_RANK = {"": 0, "public": 1, "internal": 2, "confidential": 3, "restricted": 4}


def source_qualified_name(name: str) -> str:
    # catalog.source_assets.source_qualified_name, as it was when this migration was written.
    return f"{name}/"


def create_source_assets(apps, schema_editor):
    DataSource = apps.get_model("sources", "DataSource")
    Asset = apps.get_model("catalog", "Asset")
    AssetOwner = apps.get_model("catalog", "AssetOwner")
    for source in DataSource.objects.order_by("pk").prefetch_related("owners"):
        root, created = Asset.objects.get_or_create(
            data_source=source, type="source",
            defaults={"name": source.name[:512], "qualified_name": source_qualified_name(source.name),
                      "description": source.description})
        if not created and not root.description and source.description:
            root.description = source.description
            root.save(update_fields=["description"])
        databases = Asset.objects.filter(data_source=source, type="database", parent__isnull=True)
        databases.update(parent=root)
        levels = Asset.objects.filter(parent=root, removed_at__isnull=True).values_list("sensitivity", flat=True)
        sensitivity = max(levels, key=lambda level: SENSITIVITY_RANK.get(level, 0), default="")
        if root.sensitivity != sensitivity:
            root.sensitivity = sensitivity
            root.save(update_fields=["sensitivity"])
        AssetOwner.objects.bulk_create(
            [AssetOwner(asset=root, user=user, owner_type="technical") for user in source.owners.all()],
            ignore_conflicts=True)


def restore_source_fields(apps, schema_editor):
    """Backwards: the sources' description and technical owners back from their assets, then the assets gone (their
    databases roots again)."""
    Asset = apps.get_model("catalog", "Asset")
    for root in Asset.objects.filter(type="source").select_related("data_source"):
        source = root.data_source
        source.description = root.description
        source.save(update_fields=["description"])
        source.owners.set([owner.user for owner in root.owners.filter(user__isnull=False, owner_type="technical")])
    Asset.objects.filter(type="database", parent__type="source").update(parent=None)
    Asset.objects.filter(type="source").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0013_search_ranked_from_documents'),
        ('sources', '0003_datasource_openlineage_namespaces'),
    ]
    run_before = [
        ('sources', '0004_curation_moved_to_source_assets'),
    ]

    operations = [
        migrations.CreateModel(
            name='SourceAsset',
            fields=[
            ],
            options={
                'verbose_name': 'source (catalog)',
                'verbose_name_plural': 'sources (catalog)',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('catalog.asset',),
        ),
        migrations.AlterField(
            model_name='asset',
            name='type',
            field=models.CharField(choices=[('source', 'Data source'), ('database', 'Database'), ('schema', 'Schema'), ('table', 'Table'), ('view', 'View'), ('routine', 'Routine'), ('column', 'Column')], max_length=10),
        ),
        migrations.AlterField(
            model_name='propertydefinition',
            name='applies_to',
            field=models.JSONField(blank=True, default=list, help_text='The asset types that may carry it (source, database, schema, table, view, routine, column); empty: every type.'),
        ),
        migrations.AddConstraint(
            model_name='asset',
            constraint=models.UniqueConstraint(condition=models.Q(('type', 'source')), fields=('data_source',), name='asset_one_source_root'),
        ),
        migrations.RunPython(create_source_assets, restore_source_fields),
    ]
