"""A real Celery worker computes an agreement snapshot job; SIGKILL mid-report, retry."""

from __future__ import annotations

import json
import time

import pytest

from evals.models import AgreementSnapshot, Job
from evals.results import snapshots as agreement_snapshots
from evals.results.agreement import queue_report
from tests.evals.conftest import retry_until_finished, wait_for
from tests.evals.stats.agreement_data import record, two_cohort_queue


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


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_report_and_retried_leaves_one_snapshot_with_the_same_figures(
    killable_worker, redis_broker, workspace
):
    data = two_cohort_queue(workspace, items=8)
    queue = data["queue"]
    people = data["clinicians"] + data["lay_reviewers"]
    for i, item in enumerate(data["items"]):
        for j, person in enumerate(people):
            answers = {
                "accuracy": 1 + (i + j * (i % 3)) % 5,
                "harm": ["none", "mild", "severe"][(i * j) % 3],
                "safe": (i + j) % 4 != 0,
                "minutes": (i * 7 + j) % 11,
            }
            record(queue, item, person, answers)
    worker = killable_worker
    # Four criteria with agreement, one heartbeat and a pause after each.
    worker.start(QUORUM_AGREEMENT_THROTTLE_SECONDS="1.0", QUORUM_AGREEMENT_RESAMPLES="200")
    job = agreement_snapshots.request_snapshot(queue)
    wait_for(lambda: Job.objects.get(pk=job.pk).progress >= 1, what="the first criterion")
    worker.kill()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.total) == (Job.Status.RUNNING, 1, 4)
    assert 1 <= job.progress < 4, "the kill should land before the report is finished"
    killed_at = job.progress
    assert not AgreementSnapshot.objects.filter(queue=queue).exists()

    worker.start(QUORUM_AGREEMENT_THROTTLE_SECONDS="0")
    resent = retry_until_finished(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.attempts == 2 and job.progress == job.total == 4
    [snapshot] = AgreementSnapshot.objects.filter(queue=queue)
    assert snapshot.job_id == job.pk and snapshot.judgment_count == 40
    assert job.result == {"snapshot_id": snapshot.pk, "judgment_count": 40}
    uninterrupted = json.loads(json.dumps(queue_report(queue, resamples=200)))
    for report in (uninterrupted, snapshot.report):
        report.pop("computed_at")
    assert snapshot.report == uninterrupted
    assert agreement_snapshots.run_job(job.pk) is None, "a late duplicate delivery does nothing"
    assert AgreementSnapshot.objects.filter(queue=queue).count() == 1
    assert not Job.objects.filter(status=Job.Status.RUNNING).exists()
    assert resent >= 1
    print("agreement kill:", {"criteria_done_at_kill": killed_at, "of": 4, "resent": resent})
