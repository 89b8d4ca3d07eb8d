# Data sources moved to the sources app (same table): scans and runs point at sources.DataSource. State only; it
# runs before catalog drops the model from its state, so no reference dangles in between.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scanning', '0006_quote_qualified_names'),
        ('sources', '0001_initial'),
    ]

    run_before = [
        ('catalog', '0006_datasource_moved_to_sources'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='scan',
                    name='data_source',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='scans', to='sources.datasource'),
                ),
                migrations.AlterField(
                    model_name='scanrun',
                    name='data_source',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='scan_runs', to='sources.datasource'),
                ),
            ],
            database_operations=[],
        ),
    ]
