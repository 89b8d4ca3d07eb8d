"""A data source's description and owners are curation now, held on the source's own asset in the catalog
(catalog.source_assets): migration ``catalog.0014_source_assets`` copies them there before this one drops them."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sources', '0003_datasource_openlineage_namespaces'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='datasource',
            name='description',
        ),
        migrations.RemoveField(
            model_name='datasource',
            name='owners',
        ),
    ]
