# The data source's content type follows the model to its new app. Updating the row in place keeps its id, so
# everything that points at it survives: Permission rows (and with them role grants and model-level grants),
# guardian object permissions on single sources, audit events and the admin's log.

from django.db import migrations


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model('contenttypes', 'ContentType')
    if ContentType.objects.filter(app_label=new, model='datasource').exists():
        return  # a fresh database: post_migrate created the new label and there is nothing to carry over
    ContentType.objects.filter(app_label=old, model='datasource').update(app_label=new)
    ContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _relabel(apps, 'catalog', 'sources')


def backwards(apps, schema_editor):
    _relabel(apps, 'sources', 'catalog')


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('sources', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
