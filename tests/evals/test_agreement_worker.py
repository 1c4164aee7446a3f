"""A real Celery worker computes an agreement snapshot job."""

from __future__ import annotations

import time

import pytest

from evals import agreement_snapshots
from evals.models import AgreementSnapshot, Job

from .agreement_data import record, two_cohort_queue


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_computes_the_snapshot_job(celery_worker_process, workspace, monkeypatch):
    data = two_cohort_queue(workspace, items=3)
    queue = data["queue"]
    for doc, scores in zip(data["clinicians"], [[1, 2, 3], [1, 3, 3], [2, 2, 3]], strict=True):
        for item, score in zip(data["items"], scores, strict=True):
            record(queue, item, doc, {"accuracy": score, "safe": True, "harm": "none"})
    from quorum.celery import app

    sent = []
    monkeypatch.setattr(agreement_snapshots.jobs, "dispatch", lambda job: sent.append(job.pk))
    job = agreement_snapshots.request_snapshot(queue)
    assert sent == [job.pk]
    with app.connection_for_write(celery_worker_process["broker"]) as connection:
        app.send_task(agreement_snapshots.TASK, args=[job.pk], connection=connection)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.3)
    assert job.status == Job.Status.SUCCEEDED, celery_worker_process["log"].read_text()[-2000:]
    snapshot = AgreementSnapshot.objects.get(queue=queue)
    assert snapshot.job_id == job.pk and snapshot.judgment_count == 9
    assert snapshot.report["criteria"][0]["overall"]["n_items"] == 3
