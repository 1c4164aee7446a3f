import time

import pytest
from django.utils import timezone

from evals import exports
from evals.export_jobs import file_path, start_export
from evals.models import Job
from quorum.celery import app


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
