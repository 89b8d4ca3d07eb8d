# Data sources moved here from catalog. The table (catalog_datasource, and catalog_datasource_owners for the
# owners) keeps its name, so this migration changes only Django's state: no table is created, renamed or copied.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import accounts.fields


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        # The table was created by catalog's migrations; it must exist before this state points at it.
        ('catalog', '0005_list_orderings_by_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DataSource',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('engine', models.CharField(choices=[('postgresql', 'PostgreSQL'), ('mysql', 'MySQL / MariaDB'), ('sqlite', 'SQLite'), ('sqlalchemy', 'Other (SQLAlchemy URL)')], max_length=20)),
                        ('host', models.CharField(blank=True, max_length=255)),
                        ('port', models.PositiveIntegerField(blank=True, null=True)),
                        ('database', models.CharField(blank=True, help_text='Database name; for SQLite the file path; for MySQL limits the scan to this schema.', max_length=1024)),
                        ('username', models.CharField(blank=True, max_length=200)),
                        ('options', models.JSONField(blank=True, default=dict, help_text="Driver options from the allowed list (e.g. sslmode); for engine 'sqlalchemy', the URL without its password.")),
                        ('encrypted_secret', models.TextField(blank=True, editable=False)),
                        ('description', accounts.fields.BoundedTextField(blank=True, max_length=10000)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('owners', models.ManyToManyField(blank=True, related_name='owned_data_sources', to=settings.AUTH_USER_MODEL)),
                        ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='data_sources', to='accounts.workspace')),
                    ],
                    options={
                        'db_table': 'catalog_datasource',
                        'ordering': ['workspace_id', 'name'],
                        'permissions': [('test_connection_datasource', 'Can test the connection of a data source'), ('view_secret_datasource', 'Can read the secret of a data source')],
                        'constraints': [models.UniqueConstraint(fields=('workspace', 'name'), name='datasource_unique_name')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
