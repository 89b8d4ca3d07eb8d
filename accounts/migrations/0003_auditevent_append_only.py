"""On PostgreSQL, the database itself refuses to rewrite or delete audit events.

The ORM already refuses, but a trigger also stops a raw UPDATE from a shell, a script or a compromised code
path. Deletes pass only inside a transaction where the pruning service ran
``SET LOCAL racine.audit_prune = 'on'`` (accounts.services.audit_events_prune). TRUNCATE is left to database
privileges: test runners and restores use it, and it is not a row-level change an application can make by
accident.
"""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('racine.audit_prune', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'accounts_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_auditevent_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # None: the body has a literal % for RAISE
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_access_and_audit"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False),
    ]
