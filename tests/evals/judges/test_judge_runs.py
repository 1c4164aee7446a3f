"""Judge runs: caching, budget stop, cancel, fatal faults, progress, sampling hook."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from annotate.models import Item
from evals import jobs
from evals.judges import runs as judge_runs
from evals.judges.judge import OK, Outcome
from evals.judges.runs import cancel_run, judge_scores_below, start_run
from evals.judges.tasks import run_judge
from evals.judges.urlcheck import UnsafeURL
from evals.models import Job, JudgeResult, JudgeRun, Log, Source
from tests.factories import make_queue

GOOD = {"accuracy": 4, "harm": "none", "safe": "pass", "minutes": None, "comment": "ok"}
COST_PER_CALL = Decimal("0.2")  # 100 tokens in at 1000/M + 20 out at 5000/M


def _run(run: JudgeRun) -> JudgeRun:
    run_judge(run.job_id)
    run.refresh_from_db()
    run.job.refresh_from_db()
    return run


@pytest.fixture
def queue(workspace):
    return make_queue(workspace, items=4)


def test_a_run_judges_every_item_and_records_tokens_and_cost(judge_endpoint, queue, judge_server):
    judge_server.default = {"answers": GOOD}
    run = _run(start_run(judge_endpoint, queue=queue))
    assert run.job.status == Job.Status.SUCCEEDED
    assert run.job.progress == run.job.total == 4
    assert (run.ok_count, run.failed_count, run.requests) == (4, 0, 4)
    assert (run.tokens_in, run.tokens_out) == (400, 80)
    assert run.cost == 4 * COST_PER_CALL
    results = JudgeResult.objects.filter(run=run)
    assert results.count() == 4
    assert all(r.answers["accuracy"] == 4 and r.cost == COST_PER_CALL for r in results)


def test_a_second_run_with_the_same_configuration_makes_zero_requests(
    judge_endpoint, queue, judge_server
):
    judge_server.default = {"answers": GOOD}
    _run(start_run(judge_endpoint, queue=queue))
    assert judge_server.count == 4
    again = _run(start_run(judge_endpoint, queue=queue))
    assert judge_server.count == 4
    assert again.job.status == Job.Status.SUCCEEDED
    assert (again.cached_count, again.requests, again.cost) == (4, 0, 0)
    assert JudgeResult.objects.count() == 4


def test_a_changed_prompt_is_a_new_configuration_and_is_asked_again(
    judge_endpoint, queue, judge_server
):
    judge_server.default = {"answers": GOOD}
    _run(start_run(judge_endpoint, queue=queue))
    judge_endpoint.temperature = 0.5
    judge_endpoint.save()
    _run(start_run(judge_endpoint, queue=queue))
    assert judge_server.count == 8
    assert JudgeResult.objects.values("config_hash").distinct().count() == 2


def test_a_rerun_asks_again_only_for_failed_items(judge_endpoint, queue, judge_server):
    judge_server.script({"answers": GOOD}, {"content": "nope"}, {"content": "nope"})
    judge_server.default = {"answers": GOOD}
    first = _run(start_run(judge_endpoint, queue=queue))
    assert (first.ok_count, first.failed_count) == (3, 1)
    before = judge_server.count
    second = _run(start_run(judge_endpoint, queue=queue))
    assert judge_server.count == before + 1
    assert (second.cached_count, second.ok_count) == (3, 1)
    assert JudgeResult.objects.filter(status="ok").count() == 4


def test_the_budget_stops_the_run_cleanly(judge_endpoint, queue, judge_server):
    judge_server.default = {"answers": GOOD}
    run = _run(start_run(judge_endpoint, queue=queue, budget=Decimal("0.5")))
    assert run.stop_reason == JudgeRun.StopReason.BUDGET
    assert run.job.status == Job.Status.SUCCEEDED
    assert "budget" in run.job.error
    assert run.ok_count == 2
    assert run.cost == 2 * COST_PER_CALL <= Decimal("0.5")
    assert JudgeResult.objects.count() == 2
    assert judge_server.count == 2


def _died_after(run: JudgeRun, judged: int, out: int) -> None:
    """Leave ``run`` as a worker leaves it when it dies: ``judged`` outcomes written,
    ``out`` more calls sent and never answered, its job running with an old heartbeat."""
    config = judge_runs.endpoint_config(run.endpoint)
    outcome = Outcome(OK, answers=GOOD, tokens_in=100, tokens_out=20, attempts=1, requests=1)
    for item in Item.objects.filter(queue=run.queue).order_by("id")[:judged]:
        JudgeRun.objects.filter(pk=run.pk).update(calls_in_flight=F("calls_in_flight") + 1)
        judge_runs.record(run, item, outcome, config)
    JudgeRun.objects.filter(pk=run.pk).update(calls_in_flight=F("calls_in_flight") + out)
    Job.objects.filter(pk=run.job_id).update(
        status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - jobs.STALE_AFTER * 2
    )


def test_a_resumed_run_counts_what_it_spent_and_lost_against_its_budget(
    judge_endpoint, queue, judge_server
):
    """Spent 0.4 on two items, one call lost (about 0.2): with a budget of 0.7 the
    resumed run may not ask for more (0.4 + 0.2 lost + 0.2 next). Counting neither
    it would ask twice; counting only what was spent, once."""
    judge_server.default = {"answers": GOOD}
    run = start_run(judge_endpoint, queue=queue, budget=Decimal("0.7"))
    _died_after(run, judged=2, out=1)
    run = _run(run)
    assert judge_server.count == 0
    assert run.stop_reason == JudgeRun.StopReason.BUDGET
    assert (run.ok_count, run.cost, run.lost_calls, run.calls_in_flight) == (
        2,
        2 * COST_PER_CALL,
        1,
        0,
    )
    assert run.lost_cost_estimate == COST_PER_CALL
    assert run.job.result["lost_calls"] == 1


def test_a_resumed_run_without_a_budget_finishes_and_shows_its_lost_calls(
    client, judge_endpoint, queue, judge_server, author
):
    judge_server.default = {"answers": GOOD}
    run = start_run(judge_endpoint, queue=queue)
    _died_after(run, judged=1, out=2)
    run = _run(run)
    assert judge_server.count == 3
    assert (run.ok_count, run.lost_calls, run.calls_in_flight) == (4, 2, 0)
    assert run.cost == 4 * COST_PER_CALL  # what was recorded; the lost calls are apart
    client.force_login(author)
    page = client.get(reverse("judge-run", args=[run.workspace.slug, run.pk])).content.decode()
    assert "2 calls were out when a worker stopped" in page
    assert "about 0.4000 at this run" in page


def test_lost_calls_before_any_recorded_one_have_no_cost_yet(client, judge_endpoint, queue, author):
    run = start_run(judge_endpoint, queue=queue)
    JudgeRun.objects.filter(pk=run.pk).update(lost_calls=1)
    client.force_login(author)
    page = client.get(reverse("judge-run", args=[run.workspace.slug, run.pk])).content.decode()
    assert "1 call was out when a worker stopped" in page
    assert "what it cost is not known until a call is recorded" in page


def test_a_late_outcome_from_a_worker_taken_for_dead_is_still_recorded(judge_endpoint, queue):
    """The resume set the calls in flight to 0; the old worker's outcome arrives after."""
    run = start_run(judge_endpoint, queue=queue)
    outcome = Outcome(OK, answers=GOOD, tokens_in=100, tokens_out=20, attempts=1, requests=1)
    item = Item.objects.filter(queue=queue).first()
    judge_runs.record(run, item, outcome, judge_runs.endpoint_config(judge_endpoint))
    run.refresh_from_db()
    assert (run.ok_count, run.calls_in_flight) == (1, 0)


def test_a_run_that_ends_normally_has_no_calls_in_flight_or_lost(
    judge_endpoint, queue, judge_server
):
    judge_server.default = {"answers": GOOD}
    run = _run(start_run(judge_endpoint, queue=queue))
    assert (run.calls_in_flight, run.lost_calls) == (0, 0)


def test_a_wrong_key_fails_the_item_and_stops_the_run(judge_endpoint, queue, judge_server):
    judge_server.default = {"status": 401, "error": "Incorrect API key provided"}
    run = _run(start_run(judge_endpoint, queue=queue))
    assert run.job.status == Job.Status.FAILED
    assert "rejected the API key (401)" in run.job.error
    assert run.stop_reason == JudgeRun.StopReason.FATAL
    assert judge_server.count == 1
    result = JudgeResult.objects.get()
    assert result.status == "failed" and result.answers == {}


def test_a_missing_model_fails_the_item_and_stops_the_run(judge_endpoint, queue, judge_server):
    judge_server.default = {"status": 404, "error": "The model `judge-test` does not exist"}
    run = _run(start_run(judge_endpoint, queue=queue))
    assert run.job.status == Job.Status.FAILED
    assert "not found (404)" in run.job.error


def test_item_faults_get_their_own_status_and_the_run_continues(
    judge_endpoint, queue, judge_server
):
    judge_server.script(
        {"content": '{"accuracy": 4,'},
        {"refusal": "I can't"},  # item 1: partial JSON, then a refusal
        {"status": 429},
        {"answers": GOOD},  # item 2: rate limited once, then fine
        {"drop": True},
        {"status": 503},
        {"status": 500},  # item 3: dropped, 5xx, 5xx: gave up
        {"answers": GOOD},  # item 4
    )
    run = _run(start_run(judge_endpoint, queue=queue))
    assert run.job.status == Job.Status.SUCCEEDED
    results = list(JudgeResult.objects.order_by("item_id"))
    assert [r.status for r in results] == ["failed", "ok", "failed", "ok"]
    assert "refused to answer" in results[0].reason and results[0].raw_text == "I can't"
    assert "Gave up after 3 requests" in results[2].reason
    assert (run.ok_count, run.failed_count, run.requests) == (2, 2, 8)


def test_a_rate_limit_storm_stops_the_run_by_its_failure_policy(
    judge_endpoint, queue, judge_server
):
    judge_server.default = {"status": 429, "retry_after": 0}
    run = _run(start_run(judge_endpoint, queue=queue, stop_after_failures=2))
    assert run.job.status == Job.Status.FAILED
    assert run.stop_reason == JudgeRun.StopReason.FAILURES
    assert "2 failures in a row" in run.job.error
    assert JudgeResult.objects.filter(status="failed").count() == 2


def test_a_cancelled_run_makes_no_request(judge_endpoint, queue, judge_server):
    judge_server.default = {"answers": GOOD}
    run = start_run(judge_endpoint, queue=queue)
    assert cancel_run(run)
    run = _run(run)
    assert run.job.status == Job.Status.CANCELLED
    assert judge_server.count == 0


@pytest.mark.django_db(transaction=True)
def test_cancelling_mid_run_stops_after_the_calls_in_flight(judge_endpoint, queue, judge_server):
    run = start_run(judge_endpoint, queue=queue)

    def answer_and_cancel(body):
        jobs.cancel(run.job)
        return {"answers": GOOD}

    judge_server.responder = answer_and_cancel
    run = _run(run)
    assert run.job.status == Job.Status.CANCELLED
    assert judge_server.count == 1
    assert JudgeResult.objects.count() == 1


def test_a_run_is_refused_for_a_forbidden_address(judge_endpoint, queue):
    judge_endpoint.allow_private_network = False
    with pytest.raises(UnsafeURL, match="private"):
        start_run(judge_endpoint, queue=queue)


def test_the_address_is_checked_again_right_before_calling(judge_endpoint, queue, judge_server):
    run = start_run(judge_endpoint, queue=queue)
    judge_endpoint.allow_private_network = False
    judge_endpoint.save()
    run = _run(run)
    assert run.job.status == Job.Status.FAILED
    assert "private" in run.job.error
    assert judge_server.count == 0


def test_a_redirecting_endpoint_gets_one_request_and_the_item_records_why(
    judge_endpoint, workspace, judge_server
):
    judge_server.script({"status": 307, "location": "/internal-secret"})
    run = _run(start_run(judge_endpoint, queue=make_queue(workspace, items=2)))
    assert [r["path"] for r in judge_server.requests] == ["/v1/chat/completions"]
    result = JudgeResult.objects.get(run=run)
    message = (
        "The judge endpoint answered a redirect (307 to /internal-secret); "
        "Quorum does not follow redirects"
    )
    assert result.status == "failed" and message in result.reason
    assert run.job.status == Job.Status.FAILED and message in run.job.error
    assert run.stop_reason == JudgeRun.StopReason.FATAL


def test_judge_scores_below_a_threshold_give_logs_for_sampling(
    workspace, judge_endpoint, judge_server
):
    from django.utils import timezone

    source = Source.objects.create(workspace=workspace, name="app")
    logs = [
        Log.objects.create(
            workspace=workspace,
            source=source,
            external_id=str(n),
            timestamp=timezone.now(),
            output=f"answer {n}",
        )
        for n in range(3)
    ]
    judge_server.script(
        {"answers": {**GOOD, "accuracy": 2}},
        {"answers": {**GOOD, "accuracy": 5}},
        {"answers": {**GOOD, "accuracy": 3, "safe": "fail"}},
    )
    queue = make_queue(workspace)
    run = _run(start_run(judge_endpoint, logs=logs, rubric_version=queue.rubric_version))
    assert run.ok_count == 3
    below = judge_scores_below(workspace, "accuracy", 3)
    assert list(below.values_list("external_id", flat=True)) == ["0"]
    assert set(judge_scores_below(workspace, "safe", 1).values_list("external_id", flat=True)) == {
        "2"
    }
    assert not judge_scores_below(workspace, "harm", 1).exists()
    # Results on queue items count for the item's source log.
    assert Item.objects.count() == 0


@pytest.fixture
def shared_encryption_key(monkeypatch, settings):
    """The worker process must decrypt the key with the same QUORUM_ENCRYPTION_KEY."""
    monkeypatch.setenv("QUORUM_ENCRYPTION_KEY", settings.QUORUM_ENCRYPTION_KEY)


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_judge_and_a_rerun_is_served_from_the_cache(
    shared_encryption_key, celery_worker_process, judge_endpoint, queue, judge_server, monkeypatch
):
    import time

    from celery import Celery

    sender = Celery(broker=celery_worker_process["broker"])
    monkeypatch.setattr(jobs, "dispatch", lambda job: sender.send_task(job.task_name, [job.pk]))
    judge_server.default = {"answers": GOOD}

    def wait_for(run: JudgeRun) -> Job:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = Job.objects.get(pk=run.job_id)
            if job.is_finished:
                return job
            time.sleep(0.2)
        pytest.fail("the judge run did not finish:\n" + celery_worker_process["log"].read_text())

    first = start_run(judge_endpoint, queue=queue)
    assert wait_for(first).status == Job.Status.SUCCEEDED
    assert judge_server.count == 4
    second = start_run(judge_endpoint, queue=queue)
    assert wait_for(second).status == Job.Status.SUCCEEDED
    assert judge_server.count == 4
    second.refresh_from_db()
    assert second.cached_count == 4


def test_a_key_encrypted_with_another_encryption_key_fails_the_run_clearly(
    judge_endpoint, queue, judge_server, settings
):
    from cryptography.fernet import Fernet

    run = start_run(judge_endpoint, queue=queue)
    settings.QUORUM_ENCRYPTION_KEY = Fernet.generate_key().decode()
    run = _run(run)
    assert run.job.status == Job.Status.FAILED
    assert "Enter the key again" in run.job.error
    assert judge_server.count == 0


def test_only_one_run_at_a_time_per_endpoint_so_its_limits_hold(
    judge_endpoint, queue, judge_server
):
    from evals.judges.runs import RunRefused

    judge_server.default = {"answers": GOOD}
    first = start_run(judge_endpoint, queue=queue)
    with pytest.raises(RunRefused, match="still going on this endpoint"):
        start_run(judge_endpoint, queue=queue)
    _run(first)
    assert start_run(judge_endpoint, queue=queue).pk != first.pk


def test_a_run_resumed_after_its_worker_died_keeps_exact_counts(
    judge_endpoint, queue, judge_server
):
    judge_server.script({"answers": GOOD}, {"content": "nope"}, {"content": "nope"})
    judge_server.default = {"answers": GOOD}
    run = _run(start_run(judge_endpoint, queue=queue))
    assert (run.ok_count, run.failed_count) == (3, 1)
    # As if the worker had died before finishing: the reaper sends the job again.
    Job.objects.filter(pk=run.job_id).update(
        status=Job.Status.RUNNING, heartbeat_at=run.job.heartbeat_at - 2 * jobs.STALE_AFTER
    )
    before = judge_server.count
    run = _run(run)
    assert judge_server.count == before + 1, "only the failed item is asked again"
    counts = (run.ok_count, run.failed_count, run.inconsistent_count, run.cached_count)
    assert counts == (4, 0, 0, 0)
    assert JudgeResult.objects.filter(run=run, status="ok").count() == 4
