"""A real Celery worker on Redis runs a sampling job; SIGKILL mid-run, retry, exact items."""

import pytest

from annotate.models import Item
from evals.ingest.pipeline import ingest_lines
from evals.models import Job, QueuedLog, SamplingRule, SamplingRun
from evals.sampling import rules as sampling
from tests.evals.conftest import log_line, numbered, retry_until_finished, wait_for
from tests.factories import make_queue

pytestmark = [pytest.mark.worker, pytest.mark.redis]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sampling_and_retried_adds_exactly_the_planned_items(
    killable_worker, redis_broker, source, workspace, author
):
    ingest_lines(source, numbered([log_line(n) for n in range(300)]))
    queue = make_queue(workspace)
    rule = SamplingRule.objects.create(
        workspace=workspace, queue=queue, name="per topic", seed=7,
        strategy="quota", count=30, strata=["metadata.topic"],
    )  # fmt: skip
    expected = {log_id for log_id, _ in sampling.plan(rule).picks}
    assert len(expected) == 90

    worker = killable_worker
    worker.start(QUORUM_SAMPLING_BATCH="10", QUORUM_SAMPLING_THROTTLE_SECONDS="0.3")
    run = sampling.start_run(rule, user=author)
    added = QueuedLog.objects.filter(queue=queue)
    wait_for(lambda: added.count() >= 20, what="two batches")
    worker.kill()
    assert 20 <= added.count() < 90
    assert Item.objects.filter(queue=queue).count() == added.count()

    worker.start(QUORUM_SAMPLING_THROTTLE_SECONDS="0")
    retry_until_finished(run.job_id)

    run.refresh_from_db()
    assert run.job.status == Job.Status.SUCCEEDED, run.job.error
    assert run.status == SamplingRun.Status.DONE
    assert set(added.values_list("log_id", flat=True)) == expected
    assert Item.objects.filter(queue=queue).count() == 90
    assert set(Item.objects.filter(queue=queue).values_list("source_log_id", flat=True)) == expected
    assert (run.picked, run.added, run.skipped_duplicates) == (90, 90, 0)
    queue.refresh_from_db()
    assert queue.items_total == 90
