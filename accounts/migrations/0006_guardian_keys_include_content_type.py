"""django-guardian's object permission tables are unique on (user or group, permission, object_pk), without the
content type. Racine keeps a role as guardian rows on the Workspace carrying other models' permissions
(``catalog.change_asset`` held on workspace 7), so the role and a single-object grant of the same permission on
asset 7 are two rows guardian's key calls one: the second write failed (IntegrityError) or was dropped (the role
sync ignores conflicts). This replaces that key, on both tables, by one that includes the content type.

The tables are guardian's, so this changes the database only: guardian's migration state (and its models' Meta)
keep the old ``unique_together``. The constraint is found by introspection, because its name differs per backend
and per installation (PostgreSQL: a constraint named from a hash; SQLite: a unique index). Going back refuses,
and names the table, while rows exist that only the new key allows; it deletes no grant.
"""
from django.db import migrations
from django.db.models import Count

# (model, holder field, name of the key this migration creates). Short names: PostgreSQL truncates at 63.
TABLES = [
    ("UserObjectPermission", "user", "guardian_uop_user_perm_type_object_uniq"),
    ("GroupObjectPermission", "group", "guardian_gop_group_perm_type_object_uniq"),
]


def _fields(holder: str, *, with_type: bool) -> list[str]:
    return [holder, "permission", *(["content_type"] if with_type else []), "object_pk"]


def _unique_names(schema_editor, model, fields: list[str]) -> list[str]:
    """Names of the unique constraints (or unique indexes) of ``model``'s table over exactly ``fields``."""
    columns = {model._meta.get_field(name).column for name in fields}
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
    return sorted(name for name, info in constraints.items()
                  if info["unique"] and not info["primary_key"] and set(info["columns"]) == columns)


def _replace_key(schema_editor, model, *, old_fields: list[str], new_fields: list[str], new_name: str | None):
    found = _unique_names(schema_editor, model, old_fields)
    if len(found) != 1:
        raise RuntimeError(f"{model._meta.db_table}: expected one unique key over ({', '.join(old_fields)}), found "
                           f"{len(found)} ({', '.join(found) or 'none'}); fix the table by hand, then migrate again.")
    schema_editor.execute(schema_editor._delete_unique_sql(model, found[0]))
    fields = [model._meta.get_field(name) for name in new_fields]
    # name=None: Django's own name for a unique_together, the one guardian's migration gave it.
    schema_editor.execute(schema_editor._create_unique_sql(model, fields, name=new_name))


def include_content_type(apps, schema_editor):
    for model_name, holder, name in TABLES:
        _replace_key(schema_editor, apps.get_model("guardian", model_name),
                     old_fields=_fields(holder, with_type=False), new_fields=_fields(holder, with_type=True),
                     new_name=name)


def exclude_content_type(apps, schema_editor):
    models = [(apps.get_model("guardian", model_name), holder) for model_name, holder, _ in TABLES]
    for model, holder in models:  # every table checked before either is changed
        clashes = (model.objects.values(*_fields(holder, with_type=False)).annotate(rows=Count("pk"))
                   .filter(rows__gt=1).count())
        if clashes:
            raise RuntimeError(
                f"{model._meta.db_table}: {clashes} sets of rows differ only by content type (a role on a workspace "
                "and a grant on an object of the same id); guardian's key without it cannot hold them. Revoke the "
                "object grants concerned, then migrate back again.")
    for model, holder in models:
        _replace_key(schema_editor, model, old_fields=_fields(holder, with_type=True),
                     new_fields=_fields(holder, with_type=False), new_name=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_free_text_max_lengths"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
    ]

    operations = [migrations.RunPython(include_content_type, exclude_content_type)]
