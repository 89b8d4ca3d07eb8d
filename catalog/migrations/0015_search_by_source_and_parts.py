"""Search documents that answer more from their indexes (docs/benchmarks.md, "Search"): each carries its asset's
data source (a scoped user's visibility is then a condition on the document) and how curated the asset is (exact
names rank the curated first); on PostgreSQL its lexemes name the part of the document they come from
(``a_customer``: the name) instead of carrying weights, and a btree on the names' words finds exact names and
prefixes. The documents already built are rebuilt in the new form (``catalog.search.documents_rebuild``: about
five minutes per 500,000 assets)."""
import django.db.models.deletion
from django.db import migrations, models

from catalog import search

POSTGRESQL_FORWARDS = [
    "CREATE INDEX catalog_assetsearch_name_words ON catalog_assetsearchdocument (name_words text_pattern_ops)",
]
POSTGRESQL_BACKWARDS = ["DROP INDEX IF EXISTS catalog_assetsearch_name_words"]


def _indexes(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)
    return run


def _rebuild(apps, schema_editor):
    # The current code's rebuild (catalog.search, imported above): the documents' form is what this migration
    # introduces.
    if apps.get_model("catalog", "AssetSearchDocument").objects.using(schema_editor.connection.alias).exists():
        search.documents_rebuild()


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0014_source_assets'),
        ('sources', '0002_datasource_content_type'),
    ]

    operations = [
        migrations.AddField(
            model_name='assetsearchdocument',
            name='data_source',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='sources.datasource'),
        ),
        migrations.AddField(
            model_name='assetsearchdocument',
            name='curated',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(_indexes(POSTGRESQL_FORWARDS), _indexes(POSTGRESQL_BACKWARDS)),
        migrations.RunPython(_rebuild, migrations.RunPython.noop),
    ]
