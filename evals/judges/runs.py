"""Judge runs: judge a queue's items (or logs, as a pre-screen) with one endpoint.

``start_run`` checks the endpoint and creates the Job + JudgeRun rows; the Celery task
calls ``execute_run``. Worker threads only talk HTTP (``evals.judges.judge``); this thread
writes every outcome in one transaction with the run's counters, so a killed run
leaves whole results only. Results are unique per (configuration hash, item): a
re-run finds the ok and inconsistent ones and makes no request for them; failed
ones are asked again. A run resumed after its worker died keeps exact counts: what
it had judged is not "cached", and a failure it asks again is counted once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from annotate.models import Criterion, Item, Queue, RubricVersion, Workspace
from evals import jobs
from evals.judges import secretbox
from evals.judges.judge import (
    FAILED,
    INCONSISTENT,
    OK,
    Caller,
    JudgeConfig,
    Outcome,
    RateLimiter,
    Subject,
    config_hash,
    judge_item,
    render_input,
)
from evals.judges.pairwise import judge_pair
from evals.judges.urlcheck import UnsafeURL, check_outbound_url
from evals.models import Job, JudgeEndpoint, JudgeResult, JudgeRun, Log

logger = logging.getLogger(__name__)

TASK_NAME = "evals.tasks.run_judge"
JOB_KIND = "judge"
BEAT_SECONDS = 2.0


class RunRefused(ValueError):
    """The run cannot start; the message says why."""


def endpoint_config(endpoint: JudgeEndpoint, *, with_key: bool = False) -> JudgeConfig:
    key = secretbox.decrypt(endpoint.api_key_encrypted) if with_key else ""
    return JudgeConfig.from_endpoint(endpoint, api_key=key)


def start_run(
    endpoint: JudgeEndpoint,
    *,
    queue: Queue | None = None,
    logs: Iterable[Log] = (),
    rubric_version: RubricVersion | None = None,
    user=None,
    budget: Decimal | None = None,
    inconsistency: str = JudgeRun.Inconsistency.TIE,
    stop_after_failures: int = 0,
) -> JudgeRun:
    """Create a judge run and queue its task. Raises RunRefused or UnsafeURL.

    One run at a time per endpoint: the run's worker applies the endpoint's concurrency
    and requests-per-minute, so two runs side by side would double them.
    """
    check_outbound_url(endpoint.base_url, allow_private=endpoint.allow_private_network)
    log_ids = sorted({log.pk for log in logs if log.workspace_id == endpoint.workspace_id})
    rubric_version, total = _run_scope(endpoint, queue, log_ids, rubric_version)
    pairwise = queue is not None and queue.kind == Queue.Kind.PAIRWISE
    config = endpoint_config(endpoint)
    digest = config_hash(config, rubric_version.pk, pairwise=pairwise, inconsistency=inconsistency)
    with transaction.atomic():
        _claim_endpoint(endpoint)
        job = jobs.create_job(
            endpoint.workspace,
            JOB_KIND,
            TASK_NAME,
            params={"endpoint": endpoint.pk, "queue": queue.pk if queue else None},
            user=user,
            total=total,
        )
        run = JudgeRun.objects.create(
            workspace=endpoint.workspace,
            job=job,
            endpoint=endpoint,
            queue=queue,
            rubric_version=rubric_version,
            log_ids=log_ids,
            pairwise=pairwise,
            inconsistency=inconsistency,
            config_hash=digest,
            budget=budget,
            stop_after_failures=stop_after_failures,
        )
    return run


def _run_scope(
    endpoint: JudgeEndpoint,
    queue: Queue | None,
    log_ids: list[int],
    rubric_version: RubricVersion | None,
) -> tuple[RubricVersion, int]:
    """The published rubric version a run judges with (a queue's own, else the one
    given for the logs) and how many subjects it has. Raises RunRefused."""
    if queue is not None:
        if queue.workspace_id != endpoint.workspace_id:
            raise RunRefused("The queue belongs to another workspace.")
        rubric_version = queue.rubric_version
        total = queue.items.count()
    else:
        total = len(log_ids)
    if rubric_version is None or (queue is None and not log_ids):
        raise RunRefused("Choose a queue, or logs and a rubric version.")
    if not rubric_version.is_published:
        raise RunRefused("Judge with a published rubric version.")
    return rubric_version, total


def _claim_endpoint(endpoint: JudgeEndpoint) -> None:
    """Lock the endpoint's row for this transaction; RunRefused if a run is live on it.

    One live run per endpoint, so its concurrency and rate limits hold across workers.
    """
    JudgeEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
    busy = JudgeRun.objects.filter(
        endpoint=endpoint, job__status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).first()
    if busy is not None:
        raise RunRefused(
            f"Run #{busy.pk} is still going on this endpoint: wait for it or cancel it, "
            "so the endpoint's concurrency and rate limits hold."
        )


# --- Subjects ---------------------------------------------------------------------------


def item_subject(item: Item) -> Subject:
    # Output B of a pair: the item's ``output_b`` field where pairwise queues have it,
    # else ``metadata["output_b"]``.
    output_b = getattr(item, "output_b", "") or (item.metadata or {}).get("output_b", "")
    return Subject(
        input=render_input(item.input_text, item.input_messages),
        output=item.output,
        output_b=str(output_b),
        model=item.model_name,
    )


def log_subject(log: Log) -> Subject:
    return Subject(
        input=render_input(log.input_text, log.input_messages),
        output=log.output,
        model=log.model_name,
    )


def _subjects(run: JudgeRun) -> list[tuple[Item | Log, Subject]]:
    if run.queue_id:
        items = Item.objects.filter(queue_id=run.queue_id).order_by("id")
        return [(item, item_subject(item)) for item in items]
    logs = Log.objects.filter(workspace_id=run.workspace_id, pk__in=run.log_ids).order_by("id")
    return [(log, log_subject(log)) for log in logs]


def _subject_filter(subject: Item | Log) -> dict[str, Any]:
    return {"item": subject} if isinstance(subject, Item) else {"log": subject}


def _done_ids(run: JudgeRun) -> tuple[set[int], set[int]]:
    """Items and logs that already have a usable result under this configuration."""
    rows = JudgeResult.objects.filter(
        config_hash=run.config_hash, status__in=[OK, INCONSISTENT]
    ).values_list("item_id", "log_id")
    items = {item for item, _ in rows if item}
    logs = {log for _, log in rows if log}
    return items, logs


# --- Execution --------------------------------------------------------------------------


@dataclass
class RunState:
    done: int = 0
    cost: Decimal = Decimal(0)
    judged: int = 0
    lost: int = 0  # calls lost in flight when a worker died: paid for, never recorded
    failure_streak: int = 0
    stop: str = ""
    fatal_reason: str = ""


def record(run: JudgeRun, subject: Item | Log, outcome: Outcome, config: JudgeConfig) -> Decimal:
    """Write one outcome and add it to the run's counters, all or nothing. Returns its cost."""
    cost = config.cost(outcome.tokens_in, outcome.tokens_out)
    fields = {
        "workspace_id": run.workspace_id,
        "endpoint_id": run.endpoint_id,
        "run": run,
        "rubric_version_id": run.rubric_version_id,
        "status": outcome.status,
        "answers": outcome.answers,
        "raw_text": outcome.raw_text[:20000],
        "reason": outcome.reason[:5000],
        "tokens_in": outcome.tokens_in,
        "tokens_out": outcome.tokens_out,
        "cost": cost,
        "attempts": outcome.attempts,
        "created_at": timezone.now(),
    }
    counter = {OK: "ok_count", FAILED: "failed_count", INCONSISTENT: "inconsistent_count"}
    key = {"config_hash": run.config_hash, **_subject_filter(subject)}
    with transaction.atomic():
        # A resumed run asks again for what it failed before its worker died: that
        # result leaves the run's failed count as the new one is counted.
        previous = JudgeResult.objects.filter(**key, run=run).values_list("status", flat=True)
        replaced = previous.first()
        try:
            with transaction.atomic():
                JudgeResult.objects.update_or_create(**key, defaults=fields)
        except IntegrityError:
            JudgeResult.objects.filter(**key).update(**fields)
        deltas = {counter[outcome.status]: 1}
        if replaced is not None:
            deltas[counter[replaced]] = deltas.get(counter[replaced], 0) - 1
        updates = {
            "tokens_in": F("tokens_in") + outcome.tokens_in,
            "tokens_out": F("tokens_out") + outcome.tokens_out,
            "cost": F("cost") + cost,
            "requests": F("requests") + outcome.requests,
            # Never below 0: a worker taken for dead may still record after the resume.
            "calls_in_flight": Greatest(F("calls_in_flight") - 1, Value(0)),
            **{name: F(name) + delta for name, delta in deltas.items() if delta},
        }
        JudgeRun.objects.filter(pk=run.pk).update(**updates)
    return cost


def _should_stop(run: JudgeRun, state: RunState, in_flight: int) -> str:
    if state.stop:
        return state.stop
    if run.budget is not None and state.judged:
        average = state.cost / state.judged
        if state.cost + average * (in_flight + 1 + state.lost) > run.budget:
            return JudgeRun.StopReason.BUDGET
    if run.budget is not None and state.cost >= run.budget:
        return JudgeRun.StopReason.BUDGET
    return ""


def _judge_one(caller: Caller, run: JudgeRun, instructions: str, criteria, subject: Subject):
    if run.pairwise:
        return judge_pair(caller, instructions, criteria, subject, inconsistency=run.inconsistency)
    return judge_item(caller, instructions, criteria, subject)


def _take(run: JudgeRun, state: RunState, future: Future, subject, config: JudgeConfig) -> None:
    outcome: Outcome = future.result()
    state.cost += record(run, subject, outcome, config)
    state.done += 1
    state.judged += 1
    if outcome.status == FAILED:
        state.failure_streak += 1
        if outcome.fatal:
            state.stop, state.fatal_reason = JudgeRun.StopReason.FATAL, outcome.reason
        elif run.stop_after_failures and state.failure_streak >= run.stop_after_failures:
            state.stop = JudgeRun.StopReason.FAILURES
            state.fatal_reason = (
                f"Stopped after {state.failure_streak} failures in a row. Last: {outcome.reason}"
            )
    else:
        state.failure_streak = 0


def execute_run(job: Job) -> None:
    """Judge every subject of the job's run that has no usable result yet."""
    run = JudgeRun.objects.select_related("endpoint", "rubric_version").get(job=job)
    endpoint = run.endpoint
    try:
        config = endpoint_config(endpoint, with_key=True)
        check_outbound_url(endpoint.base_url, allow_private=endpoint.allow_private_network)
    except (UnsafeURL, secretbox.SecretUnreadable) as exc:
        jobs.fail(job, str(exc))
        return
    criteria = list(Criterion.objects.filter(rubric_version=run.rubric_version))
    subjects = _subjects(run)
    todo = _todo(run, subjects)
    state = _resume(run, total=len(subjects), remaining=len(todo))
    jobs.beat(job, state.done, len(subjects))
    caller = Caller(config, RateLimiter(endpoint.requests_per_minute))
    try:
        _judge_all(run, job, state, caller, criteria, todo)
    finally:
        caller.close()
    _finish(run, job, state)


def _todo(
    run: JudgeRun, subjects: list[tuple[Item | Log, Subject]]
) -> list[tuple[Item | Log, Subject]]:
    """The subjects with no usable result under the run's configuration yet."""
    done_items, done_logs = _done_ids(run)
    return [
        (subject, text)
        for subject, text in subjects
        if subject.pk not in (done_items if isinstance(subject, Item) else done_logs)
    ]


def _resume(run: JudgeRun, *, total: int, remaining: int) -> RunState:
    """Set the run's cached and lost counts before judging, and its state so far.

    Results this run wrote before its worker died are already in its ok/inconsistent
    counts; only those of earlier runs are "cached". The calls that worker had out
    are lost: they may have been paid for, so the budget counts them at the run's
    average cost per call, with what the run spent before.
    """
    own = JudgeResult.objects.filter(run=run, status__in=[OK, INCONSISTENT]).count()
    JudgeRun.objects.filter(pk=run.pk).update(
        cached_count=total - remaining - own,
        lost_calls=F("lost_calls") + F("calls_in_flight"),
        calls_in_flight=0,
    )
    run.refresh_from_db(
        fields=["cost", "ok_count", "failed_count", "inconsistent_count", "lost_calls"]
    )
    return RunState(
        done=total - remaining,
        cost=run.cost,
        judged=run.ok_count + run.failed_count + run.inconsistent_count,
        lost=run.lost_calls,
    )


def _judge_all(
    run: JudgeRun,
    job: Job,
    state: RunState,
    caller: Caller,
    criteria: list[Criterion],
    todo: list[tuple[Item | Log, Subject]],
) -> None:
    """Judge ``todo`` on the endpoint's worker threads, recording each outcome as it
    comes, until all are done or the run stops (budget, failures, a fatal fault, cancel)."""
    pending: dict[Future, Item | Log] = {}
    queue = list(reversed(todo))
    with ThreadPoolExecutor(max_workers=run.endpoint.concurrency) as pool:
        while queue or pending:
            _submit(pool, run, state, caller, criteria, queue, pending)
            if not pending:
                break
            finished, _ = wait(list(pending), timeout=BEAT_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                _take(run, state, future, pending.pop(future), caller.config)
            if not jobs.beat(job, state.done) and not state.stop:
                state.stop = JudgeRun.StopReason.CANCELLED
            if state.stop:
                queue.clear()


def _submit(
    pool: ThreadPoolExecutor,
    run: JudgeRun,
    state: RunState,
    caller: Caller,
    criteria: list[Criterion],
    queue: list[tuple[Item | Log, Subject]],
    pending: dict[Future, Item | Log],
) -> None:
    """Send subjects from the end of ``queue`` to the pool until the endpoint's
    concurrency is in use or the run must stop (then ``state.stop`` says why)."""
    instructions = run.rubric_version.instructions
    while queue and len(pending) < run.endpoint.concurrency:
        reason = _should_stop(run, state, len(pending))
        if reason:
            state.stop = reason
            break
        subject, text = queue.pop()
        # Counted before it goes out, so a worker that dies now leaves it
        # counted (``record`` takes it off once its outcome is written).
        JudgeRun.objects.filter(pk=run.pk).update(calls_in_flight=F("calls_in_flight") + 1)
        future = pool.submit(_judge_one, caller, run, instructions, criteria, text)
        pending[future] = subject


def _finish(run: JudgeRun, job: Job, state: RunState) -> None:
    stop = state.stop
    JudgeRun.objects.filter(pk=run.pk).update(stop_reason=stop)
    run.refresh_from_db()
    summary = {
        "ok": run.ok_count,
        "failed": run.failed_count,
        "inconsistent": run.inconsistent_count,
        "cached": run.cached_count,
        "lost_calls": run.lost_calls,
        "cost": str(run.cost),
        "stop_reason": stop,
    }
    if stop in (JudgeRun.StopReason.FATAL, JudgeRun.StopReason.FAILURES):
        jobs.fail(job, state.fatal_reason)
    elif stop == JudgeRun.StopReason.BUDGET:
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.SUCCEEDED,
            result=summary,
            error=f"Stopped cleanly: the budget of {run.budget} was reached.",
            finished_at=timezone.now(),
        )
    elif stop != JudgeRun.StopReason.CANCELLED:
        jobs.succeed(job, summary)


def cancel_run(run: JudgeRun) -> bool:
    """Cancel a queued or running judge run; the worker stops after the calls in flight."""
    if jobs.cancel(run.job):
        JudgeRun.objects.filter(pk=run.pk).update(stop_reason=JudgeRun.StopReason.CANCELLED)
        return True
    return False


# --- For sampling -----------------------------------------------------------------------


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def judge_scores_below(workspace: Workspace, criterion_key: str, threshold: float) -> QuerySet[Log]:
    """Logs whose judge score on ``criterion_key`` is below ``threshold`` (latest ok result).

    A sampling priority: "the judge scored below X on criterion Y". Results on queue
    items count for the item's source log. Pass/fail counts as 1 (pass) and 0 (fail).
    """
    rows = (
        JudgeResult.objects.filter(workspace=workspace, status__in=[OK, INCONSISTENT])
        .filter(Q(log__isnull=False) | Q(item__source_log__isnull=False))
        .order_by("created_at", "id")
        .values_list("log_id", "item__source_log_id", "answers")
    )
    latest: dict[int, float | None] = {}
    for log_id, source_log_id, answers in rows:
        latest[log_id or source_log_id] = _numeric((answers or {}).get(criterion_key))
    below = [log for log, score in latest.items() if score is not None and score < threshold]
    return Log.objects.filter(workspace=workspace, pk__in=below)
