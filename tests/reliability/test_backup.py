"""Backup and restore as docs/admin.md describes: pg_dump -Fc, pg_restore into a fresh database.

The test database is populated (the demo workspace and judgments, with an edit so there
are revisions and audit events), dumped, restored into a new database, and compared:
the row count of every table, a checksum of every judgment's answers, and the audit
log's append-only trigger.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection

from annotate.assignment import claim_next
from annotate.judging import Outcome, edit_judgment, submit_judgment
from annotate.models import Judgment, Queue

CHECKSUM = (
    "SELECT count(*), md5(coalesce(string_agg(id || ':' || item_id || ':' || reviewer_id || ':' "
    "|| revision || ':' || answers::text, ',' ORDER BY id), '')) FROM annotate_judgment"
)
TRIGGER = "SELECT count(*) FROM pg_trigger WHERE tgname = 'annotate_audit_no_update'"


def _pg_args(name: str) -> tuple[list[str], dict]:
    db = connection.settings_dict
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        args += ["-U", db["USER"]]
    env = {"PGPASSWORD": db.get("PASSWORD") or ""}
    return args, env


def _run(cmd: list[str], env: dict) -> None:
    import os

    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr


def _facts(dbname: str) -> dict:
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname=dbname,
    ) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        return {
            "counts": counts,
            "judgments": conn.execute(CHECKSUM).fetchone(),
            "trigger": conn.execute(TRIGGER).fetchone()[0],
        }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_has_every_row_and_judgment(postgres, tmp_path):
    for tool in ("pg_dump", "pg_restore", "createdb", "dropdb"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is needed (apt-get install postgresql-client)")
    call_command("load_demo", verbosity=0)
    queue = Queue.objects.filter(judgments_per_item=2).order_by("pk").first()
    reviewers = [c.members.order_by("pk") for c in queue.cohorts.all()][0]
    criteria = list(queue.rubric_version.criteria.all())
    saved = 0
    for reviewer in reviewers:
        for _ in range(5):
            lease = claim_next(queue, reviewer)
            answers = {c.key: (c.choices()[0]["value"] if c.choices() else "") for c in criteria}
            answers = {k: v for k, v in answers.items() if v != ""}
            result = submit_judgment(queue, lease, criteria, answers)
            assert result.outcome == Outcome.SAVED, result.errors
            saved += 1
    edit_judgment(Judgment.objects.order_by("pk").first(), criteria, answers)

    source = connection.settings_dict["NAME"]
    restored = f"{source}_restored"
    args, env = _pg_args(source)
    dump = tmp_path / "quorum.dump"
    _run(["pg_dump", *args, "-Fc", "-f", str(dump), source], env)
    _run(["dropdb", *args, "--if-exists", restored], env)
    _run(["createdb", *args, restored], env)
    try:
        _run(["pg_restore", *args, "--no-owner", "-d", restored, str(dump)], env)
        before, after = _facts(source), _facts(restored)
    finally:
        _run(["dropdb", *args, "--if-exists", restored], env)

    assert before["judgments"][0] == saved
    assert after["counts"] == before["counts"]
    assert after["judgments"] == before["judgments"]
    assert after["trigger"] == before["trigger"] == 1
    assert before["counts"]["evals_log"] >= 300
    assert before["counts"]["annotate_judgmentrevision"] == 1
