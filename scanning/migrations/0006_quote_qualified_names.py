"""Rewrite stored qualified names to the quoting rule of ``sources.connectors.names`` (reserved words, upper
case, backslashes and non-ASCII parts are now quoted).

Without it the next rescan of a source would compute ``"Users"`` where the catalog holds ``Users``, record every
such asset as removed and a new one as added, and the removed asset would keep its classifications, owners and
descriptions. Rewriting in place keeps every asset's primary key, so nothing that points at an asset moves.

No two assets can collide while rows are rewritten one by one: every rewritten name has a quoted part that the
earlier rule left bare, so it cannot equal any name spelled by the earlier rule.
"""
from django.db import migrations

from sources.connectors.names import parse_qualified_name, qualified_name

BATCH = 2000


def _legacy_quote(part: str) -> str:
    """The earlier rule, for going back: quote a part only when it is empty or holds ``.``, ``"`` or white
    space."""
    if part == "" or any(ch in '."' or ch.isspace() for ch in part):
        return '"' + part.replace('"', '""') + '"'
    return part


def _rewrite(apps, connection, spell) -> None:
    Asset = apps.get_model("catalog", "Asset")
    quote = connection.ops.quote_name
    # One plain UPDATE per changed row, sent in batches (psycopg pipelines executemany): bulk_update's CASE WHEN
    # over 2,000 ids is quadratic per batch and took 66 s for 78,000 changed rows of 250,000.
    update = (f"UPDATE {quote(Asset._meta.db_table)} SET {quote(Asset._meta.get_field('qualified_name').column)} = %s "
              f"WHERE {quote(Asset._meta.pk.column)} = %s")
    pending = []
    with connection.cursor() as cursor:
        for pk, name in Asset.objects.order_by("pk").values_list("pk", "qualified_name").iterator(chunk_size=BATCH):
            new = spell(parse_qualified_name(name))
            if new != name:
                pending.append((new, pk))
            if len(pending) >= BATCH:
                cursor.executemany(update, pending)
                pending.clear()
        if pending:
            cursor.executemany(update, pending)


def quote_names(apps, schema_editor) -> None:
    _rewrite(apps, schema_editor.connection, qualified_name)


def unquote_names(apps, schema_editor) -> None:
    _rewrite(apps, schema_editor.connection, lambda path: ".".join(_legacy_quote(part) for part in path))


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0004_free_text_max_lengths"),
        ("scanning", "0005_scanrun_due_at_resent_at"),
    ]

    operations = [
        migrations.RunPython(quote_names, unquote_names, elidable=False),
    ]
