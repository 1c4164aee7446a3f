"""A real Celery worker runs a judge over a queue against a slow local OpenAI-compatible
server; SIGKILL mid-run, retry: one result per item, nothing judged twice that was done."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from evals.judges.runs import start_run
from evals.models import Job, JudgeResult
from tests.evals.conftest import retry_until_finished, wait_for
from tests.factories import make_queue

pytestmark = [pytest.mark.worker, pytest.mark.redis]

GOOD = {"accuracy": 4, "harm": "none", "safe": "pass", "minutes": None, "comment": "ok"}
ITEM = re.compile(r"Patient question (\d+):")


def asked_for(request: dict) -> int:
    """Which item (by its question number) a request to the judge was about."""
    user = request["body"]["messages"][-1]["content"]
    return int(ITEM.search(user).group(1))


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_and_retried_judges_each_item_once_with_exact_counts(
    killable_worker, redis_broker, workspace, judge_endpoint, judge_server
):
    queue = make_queue(workspace, items=20)
    number = {item.pk: int(ITEM.search(item.input_text).group(1)) for item in queue.items.all()}
    judge_endpoint.concurrency = 2
    judge_endpoint.save(update_fields=["concurrency"])
    # A slow judge, so the kill lands with results written and calls in flight.
    judge_server.responder = lambda body: {"answers": GOOD, "sleep": 0.4}
    worker = killable_worker
    worker.start()
    run = start_run(judge_endpoint, queue=queue)
    results = JudgeResult.objects.filter(config_hash=run.config_hash)
    wait_for(lambda: results.count() >= 6, what="six results")
    worker.kill()
    judged_before = {number[pk] for pk in results.values_list("item_id", flat=True)}
    asked_before = Counter(asked_for(r) for r in judge_server.requests)
    run.job.refresh_from_db()
    assert run.job.status == Job.Status.RUNNING and run.job.attempts == 1
    assert 6 <= len(judged_before) < 20, "the kill should land before the run is finished"

    worker.start()
    resent = retry_until_finished(run.job_id)

    run.refresh_from_db()
    job = run.job
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.attempts == 2 and job.progress == job.total == 20
    per_item = Counter(results.values_list("item_id", flat=True))
    assert set(per_item) == set(number) and set(per_item.values()) == {1}
    assert set(results.values_list("status", "run_id")) == {("ok", run.pk)}
    asked = Counter(asked_for(r) for r in judge_server.requests)
    assert set(asked) == set(range(20))
    # What had a result when the worker died was never asked again; only the calls in
    # flight at the kill (at most the endpoint's concurrency) were asked a second time.
    assert all(asked[n] == 1 for n in judged_before)
    in_flight = {n for n in asked_before if n not in judged_before}
    assert {n for n, times in asked.items() if times > 1} == in_flight
    assert len(in_flight) <= 2 and len(judge_server.requests) == 20 + len(in_flight)
    # The run knows how many calls it lost (one counted just before it went out may not
    # have reached the judge: never fewer than reached it, never more than the concurrency).
    assert len(in_flight) <= run.lost_calls <= 2 and run.calls_in_flight == 0
    # The run's counts are exact: its own earlier results are not "cached" a second time.
    counts = (run.ok_count, run.failed_count, run.inconsistent_count, run.cached_count)
    assert counts == (20, 0, 0, 0)
    assert run.requests == 20 and (run.tokens_in, run.tokens_out) == (2000, 400)
    assert job.result["ok"] == 20 and job.result["cached"] == 0
    assert not Job.objects.filter(status=Job.Status.RUNNING).exists()
    assert resent >= 1
    figures = {
        "results_at_kill": len(judged_before),
        "in_flight_at_kill": len(in_flight),
        "lost_calls": run.lost_calls,
    }
    print("judge kill:", {**figures, "requests": len(judge_server.requests), "resent": resent})
