# Data sources moved to the sources app (same table): assets point at sources.DataSource, and catalog's state
# drops the model. State only; the database is unchanged.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_list_orderings_by_index'),
        ('sources', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='asset',
                    name='data_source',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='assets', to='sources.datasource'),
                ),
                migrations.DeleteModel(
                    name='DataSource',
                ),
            ],
            database_operations=[],
        ),
    ]
