"""A real Celery worker runs export jobs; SIGKILL mid-export, retry: the same bytes, once."""

import time

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from annotate.models import Queue
from evals.exports import pipeline as exports
from evals.exports.jobs import export_dir, exports_root, file_path, start_export
from evals.exports.pipeline import write_export
from evals.models import Job
from quorum.celery import PRELOAD, app
from tests.evals.conftest import grade_queue, retry_until_finished, wait_for
from tests.factories import make_queue


@pytest.mark.redis
@pytest.mark.worker
def test_a_real_worker_runs_an_export_job(
    celery_worker_process, graded_queue, workspace, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"  # where the worker (QUORUM_VAR_DIR) writes
    monkeypatch.setattr("evals.jobs.dispatch", lambda job: None)
    spec = exports.parse_spec(
        workspace, shape="judgments", format="parquet", snapshot_at=timezone.now()
    )
    job = start_export(workspace, spec)
    with app.connection_for_write(celery_worker_process["broker"]) as connection:
        app.send_task("evals.tasks.run_export", args=[job.pk], connection=connection)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.5)
    assert job.status == Job.Status.SUCCEEDED, celery_worker_process["log"].read_text()
    assert job.progress == job.total == 8
    assert file_path(job, "judgments.parquet") is not None


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_export_and_retried_writes_the_same_bytes_once(
    killable_worker, redis_broker, workspace, clinicians, reviewer, second_reviewer, tmp_path
):
    queue = make_queue(workspace, cohorts=[clinicians], k=2, items=30, order=Queue.Order.OLDEST)
    grade_queue(queue, [reviewer, second_reviewer])
    spec = exports.parse_spec(
        workspace, shape="judgments", format="parquet", snapshot_at=timezone.now()
    )
    worker = killable_worker
    worker.start(QUORUM_EXPORT_BATCH_ROWS="6", QUORUM_EXPORT_THROTTLE_SECONDS="0.5")
    job = start_export(workspace, spec)
    wait_for(lambda: Job.objects.get(pk=job.pk).progress > 0, what="the first batch")
    worker.kill()
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.RUNNING, 1)
    killed_at = job.progress
    root = exports_root()
    partial = [p.name for p in root.iterdir()]
    assert len(partial) == 1 and partial[0].startswith(f".{job.pk}-"), partial
    assert not export_dir(job).exists(), "nothing is served before the export is complete"

    worker.start(QUORUM_EXPORT_THROTTLE_SECONDS="0")
    resent = retry_until_finished(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.attempts == 2 and job.progress == job.total == 60
    assert [p.name for p in root.iterdir()] == [str(job.pk)], "no partial folder is left"
    assert Job.objects.filter(kind="export").count() == 1
    reference = tmp_path / "uninterrupted"
    write_export(workspace, exports.spec_from_dict(workspace, job.params), reference, batch_rows=6)
    written = sorted(p.name for p in export_dir(job).iterdir())
    assert written == sorted(p.name for p in reference.iterdir())
    assert written == ["README.md", "judgments.parquet", "manifest.json"]
    for name in written:
        assert (export_dir(job) / name).read_bytes() == (reference / name).read_bytes(), name
    assert pq.read_table(export_dir(job) / "judgments.parquet").num_rows == 60
    assert job.result["counts"]["rows"] == 60
    assert not Job.objects.filter(status=Job.Status.RUNNING).exists()
    assert resent >= 1
    sizes = {name: (reference / name).stat().st_size for name in written}
    print("export kill:", {"rows_at_kill": killed_at, "of": 60, "resent": resent, **sizes})


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_worker_killed_with_both_halves_of_an_export_open_leaves_nothing_behind(
    postgres,
    killable_worker,
    redis_broker,
    workspace,
    clinicians,
    reviewer,
    second_reviewer,
    tmp_path,
    fmt,
):
    """The two-connection COPY path: SIGKILL while both halves' transactions are open and
    the second half's part file exists; the retried export writes the same bytes."""
    queue = make_queue(workspace, cohorts=[clinicians], k=2, items=30, order=Queue.Order.OLDEST)
    grade_queue(queue, [reviewer, second_reviewer])
    spec = exports.parse_spec(workspace, shape="judgments", format=fmt, snapshot_at=timezone.now())
    worker = killable_worker
    worker.start(QUORUM_EXPORT_PARALLEL_MIN_ROWS="1", QUORUM_EXPORT_THROTTLE_SECONDS="60")
    job = start_export(workspace, spec)
    root = exports_root()
    part = f".{job.pk}-*/{spec.file_name}.part"
    wait_for(lambda: any(root.glob(part)), what="the second half's part file")
    worker.kill()
    # The database ends the killed worker's transactions, the exported snapshot with them.
    wait_for(lambda: _open_transactions() == 0, timeout=30, what="the worker's transactions to end")

    worker.start(QUORUM_EXPORT_PARALLEL_MIN_ROWS="1", QUORUM_EXPORT_THROTTLE_SECONDS="0")
    retry_until_finished(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.attempts == 2
    assert [p.name for p in root.iterdir()] == [str(job.pk)], "no partial folder or part file"
    reference = tmp_path / "uninterrupted"
    write_export(workspace, exports.spec_from_dict(workspace, job.params), reference)
    written = sorted(p.name for p in export_dir(job).iterdir())
    assert written == sorted(["README.md", spec.file_name, "manifest.json"])
    for name in written:
        assert (export_dir(job) / name).read_bytes() == (reference / name).read_bytes(), name
    assert job.result["counts"]["rows"] == 60


def _open_transactions() -> int:
    """Other sessions of this database inside a transaction (the worker's, while it runs)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return cursor.fetchone()[0]


def test_a_starting_worker_imports_the_export_modules_before_any_export():
    """In a fresh process, as the worker starts: not imported before, imported after."""
    import subprocess
    import sys

    script = (
        "import sys, django; django.setup()\n"
        "from celery.signals import worker_init\n"
        "from quorum.celery import PRELOAD\n"
        "print(sorted(m for m in PRELOAD if m in sys.modules))\n"
        "worker_init.send(sender=None)\n"
        "print(sorted(m for m in PRELOAD if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = result.stdout.splitlines()[-2:]
    assert before == "[]"
    assert after == str(sorted(PRELOAD))
