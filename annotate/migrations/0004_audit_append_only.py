from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION annotate_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER annotate_audit_no_update BEFORE UPDATE OR DELETE ON annotate_auditevent
    FOR EACH ROW EXECUTE FUNCTION annotate_audit_append_only();
"""
ALLOW = """
DROP TRIGGER IF EXISTS annotate_audit_no_update ON annotate_auditevent;
DROP FUNCTION IF EXISTS annotate_audit_append_only();
"""
# On SQLite only updates are refused in the database: Django's test flush empties
# tables with DELETE there. The model refuses deletes on every database.
SQLITE_FORBID = [
    "CREATE TRIGGER annotate_audit_no_update BEFORE UPDATE ON annotate_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
]
SQLITE_ALLOW = [
    "DROP TRIGGER IF EXISTS annotate_audit_no_update;",
]


def forbid(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [FORBID] if vendor == "postgresql" else SQLITE_FORBID if vendor == "sqlite" else []
    for sql in statements:
        schema_editor.execute(sql)


def allow(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [ALLOW] if vendor == "postgresql" else SQLITE_ALLOW if vendor == "sqlite" else []
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("annotate", "0003_audit_log")]
    operations = [migrations.RunPython(forbid, allow)]
