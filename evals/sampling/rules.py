"""Sampling rules: which production logs go into a review queue, deterministically.

Every log gets a seeded hash computed in the database (``hashtextextended`` on
PostgreSQL, a registered SHA-256 function on SQLite) from its source and external
id and the rule's seed. Strategies read that hash:

- rate: a log is picked when its hash falls in the lowest ``rate`` share of the range;
- fixed: the ``count`` matching logs with the lowest hashes;
- quota: the ``count`` lowest hashes within each stratum (e.g. topic × model version);
- negative_first: like fixed, but logs with negative end-user feedback come first.

A rule into a pairwise queue pairs two model versions instead (``evals.sampling.pairing``): the
strategies then pick pairs of logs with the same normalized input.

So the same rule over the same logs picks the same logs. Logs already in the
target queue are never picked again (``QueuedLog`` has a unique (queue, log)).

A run first freezes its pick list on the ``SamplingRun`` row, then adds the items
in batches, each batch in one transaction with its ``QueuedLog`` rows. A worker
killed mid-run and retried reuses the frozen list and skips what is already in,
so it ends with exactly the items an uninterrupted run would have added.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, F, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from annotate.items import add_items
from annotate.models import Queue
from evals import jobs
from evals.models import Job, Log, QueuedLog, SamplingRule, SamplingRun
from evals.sampling import pairing
from evals.sampling.filters import (
    Plan,
    RuleError,
    SampleHash,
    filtered_logs,
    in_queue,
    judge_flagged_logs,
    python_hash,
    rate_threshold,
    stratum_expression,
    validate_filters,
    validate_strata,
)

# What callers of the rules use from ``filters`` too, so ``rules`` is the one entry point.
__all__ = [
    "Plan",
    "RuleError",
    "SampleHash",
    "execute_run",
    "filtered_logs",
    "in_queue",
    "plan",
    "preview",
    "python_hash",
    "rate_threshold",
    "run_due_rules",
    "run_job",
    "schedule_next",
    "start_run",
    "validate_filters",
    "validate_strata",
]

JOB_KIND = "sampling"


JOB_TASK = "evals.tasks.run_sampling"


SCHEDULE_MINUTES = {
    SamplingRule.Schedule.HOURLY: 60,
    SamplingRule.Schedule.DAILY: 24 * 60,
}


def plan(rule: SamplingRule, now: datetime | None = None) -> Plan:
    """What a run of ``rule`` would pick now: deterministic for the same logs.

    A pairing rule's picks are ``[log A, log B, stratum]``, the others' ``[log, stratum]``.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Sort the matching logs in memory; JIT compiling costs more than it saves here.
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute("SET LOCAL jit = off")
        if pairing.is_pairing(rule):
            return pairing.plan_pairs(rule, now)
        return _plan(rule, now)


def _plan(rule: SamplingRule, now: datetime | None) -> Plan:
    matching = filtered_logs(rule, now).annotate(stratum=stratum_expression(rule.strata or []))
    result = Plan()
    if rule.strategy == SamplingRule.Strategy.QUOTA:
        _plan_quota(rule, matching, result)
        return result
    counts = (
        matching.annotate(in_queue=in_queue(rule.queue_id))
        .values("stratum")
        .annotate(n=Count("id"), queued=Count("id", filter=Q(in_queue=True)))
        .order_by()
    )
    for row in counts:
        result.by_stratum[row["stratum"]] = {"matching": row["n"], "picked": 0}
        result.matching += row["n"]
        result.already_in_queue += row["queued"]

    candidates = matching.filter(~in_queue(rule.queue_id)).annotate(
        sample_hash=SampleHash(rule.seed)
    )
    count = rule.count or 0
    strategy = rule.strategy
    if strategy == SamplingRule.Strategy.RATE:
        rate = rule.rate or 0.0
        if rate < 1:
            candidates = candidates.filter(sample_hash__lt=rate_threshold(rate))
        picked = candidates.order_by("sample_hash", "id")
    elif strategy == SamplingRule.Strategy.NEGATIVE_FIRST:
        picked = candidates.order_by("-feedback_negative", "sample_hash", "id")[:count]
    elif strategy == SamplingRule.Strategy.JUDGE_LOW_FIRST:
        flagged = list(judge_flagged_logs(rule).values_list("pk", flat=True))
        if flagged:
            candidates = candidates.annotate(
                judge_low=Case(When(pk__in=flagged, then=1), default=0)
            ).order_by("-judge_low", "sample_hash", "id")
        else:
            candidates = candidates.order_by("sample_hash", "id")
        picked = candidates[:count]
    else:
        picked = candidates.order_by("sample_hash", "id")[:count]
    for log_id, stratum in picked.values_list("id", "stratum"):
        result.picks.append([log_id, stratum])
        result.by_stratum.setdefault(stratum, {"matching": 0, "picked": 0})["picked"] += 1
    return result


def _plan_quota(rule: SamplingRule, matching: QuerySet[Log], result: Plan) -> None:
    """Quotas in one pass over the matching logs: each (stratum, already queued) partition
    is ranked by hash and counted together, and only the ranks a quota keeps come back."""
    ranked = matching.annotate(
        queued_now=in_queue(rule.queue_id),
        sample_hash=SampleHash(rule.seed),
        rank=Window(
            RowNumber(),
            partition_by=[F("stratum"), F("queued_now")],
            order_by=[F("sample_hash").asc(), F("id").asc()],
        ),
        size=Window(Count("id"), partition_by=[F("stratum"), F("queued_now")]),
    ).values_list("id", "stratum", "queued_now", "rank", "size", "sample_hash")
    query, params = ranked.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM ({query}) ranked "  # Django-compiled SQL, parameters bound
            'WHERE ranked."rank" = 1 OR (ranked."rank" <= %s AND NOT ranked."queued_now") '
            'ORDER BY ranked."stratum", ranked."sample_hash", ranked."id"',
            [*params, rule.count or 0],
        )
        rows = cursor.fetchall()
    for log_id, stratum, queued, rank, size, _ in rows:
        counts = result.by_stratum.setdefault(stratum, {"matching": 0, "picked": 0})
        if rank == 1:
            counts["matching"] += size
            result.matching += size
            result.already_in_queue += size if queued else 0
        if not queued and rank <= (rule.count or 0):
            result.picks.append([log_id, stratum])
            counts["picked"] += 1


def preview(rule: SamplingRule) -> dict[str, Any]:
    """How many logs a run would pick now, by stratum (nothing is written)."""
    p = plan(rule)
    return {
        "pairing": pairing.is_pairing(rule),
        "matching": p.matching,
        "already_in_queue": p.already_in_queue,
        "picked": len(p.picks),
        "by_stratum": sorted(
            ({"stratum": k or "(all)", **v} for k, v in p.by_stratum.items()),
            key=lambda row: row["stratum"],
        ),
    }


def interval(rule: SamplingRule) -> timedelta | None:
    if rule.schedule == SamplingRule.Schedule.EVERY_N_MINUTES:
        return timedelta(minutes=max(1, rule.every_minutes or 60))
    minutes = SCHEDULE_MINUTES.get(rule.schedule)
    return timedelta(minutes=minutes) if minutes else None


def schedule_next(rule: SamplingRule, now: datetime | None = None) -> None:
    step = interval(rule)
    rule.next_run_at = (now or timezone.now()) + step if step and rule.active else None


def start_run(rule: SamplingRule, trigger: str = "manual", user=None) -> SamplingRun:
    """Record a run and send its job to a worker once the transaction commits."""
    with transaction.atomic():
        run = SamplingRun.objects.create(rule=rule, trigger=trigger)
        job = jobs.create_job(
            rule.workspace, JOB_KIND, JOB_TASK, params={"run_id": run.pk}, user=user
        )
        run.job = job
        run.save(update_fields=["job"])
    return run


def run_due_rules(now: datetime | None = None) -> int:
    """Start a run for every active rule that is due (beat calls this every minute)."""
    now = now or timezone.now()
    started = 0
    due = SamplingRule.objects.filter(active=True, next_run_at__lte=now).select_related("workspace")
    for rule in due:
        previous = rule.next_run_at
        schedule_next(rule, now)
        # Claim the rule with a conditional update, so two beats never start it twice.
        claimed = SamplingRule.objects.filter(pk=rule.pk, next_run_at=previous).update(
            next_run_at=rule.next_run_at
        )
        if claimed == 1:
            start_run(rule, trigger="schedule")
            started += 1
    return started


def _freeze_plan(run: SamplingRun) -> SamplingRun:
    """Compute the run's picks once; a retried run keeps the first list."""
    with transaction.atomic():
        locked = SamplingRun.objects.select_for_update().get(pk=run.pk)
        if locked.planned:
            return locked
        p = plan(locked.rule)
        locked.picks = p.picks
        locked.considered = p.considered
        locked.picked = len(p.picks)
        locked.skipped_duplicates = p.already_in_queue
        locked.by_stratum = p.by_stratum
        locked.planned = True
        locked.status = SamplingRun.Status.RUNNING
        locked.save()
        return locked


ITEM_FIELDS = ("input_text", "input_messages", "output", "model_name", "model_version", "metadata")


def _add_batch(run: SamplingRun, queue_id: int, batch: list[list[Any]]) -> int:
    """Add one batch of picks to the queue in one transaction; returns how many were new."""
    with transaction.atomic():
        queue = Queue.objects.select_for_update().get(pk=queue_id)
        if batch and len(batch[0]) == 3:
            added, errors = pairing.add_pairs(queue, run, batch)
            if errors:
                SamplingRun.objects.filter(pk=run.pk).update(
                    errors=F("errors") + len(errors), error="; ".join(errors)[:2000]
                )
            return added
        ids = [log_id for log_id, _ in batch]
        present = set(
            QueuedLog.objects.filter(queue=queue, log_id__in=ids).values_list("log_id", flat=True)
        )
        strata = {log_id: stratum for log_id, stratum in batch}
        rows = [
            {**{f: row[f] for f in ITEM_FIELDS}, "source_log_id": row["id"]}
            for row in Log.objects.filter(pk__in=ids).order_by("pk").values("id", *ITEM_FIELDS)
            if row["id"] not in present
        ]
        items = add_items(queue, rows, batch_size=len(rows) or 1)
        QueuedLog.objects.bulk_create(
            [
                QueuedLog(
                    queue=queue,
                    log_id=item.source_log_id,
                    run=run,
                    item=item,
                    stratum=strata[item.source_log_id][:300],
                )
                for item in items
            ]
        )
        return len(rows)


def execute_run(run: SamplingRun, job: Job | None = None) -> SamplingRun:
    """Freeze the plan (first attempt only), then add the picks batch by batch."""
    run = _freeze_plan(run)
    rule = run.rule
    size = getattr(settings, "QUORUM_SAMPLING_BATCH", 1000)
    pause = jobs.throttle_seconds("QUORUM_SAMPLING_THROTTLE_SECONDS")
    picks = run.picks
    if job is not None:
        jobs.beat(job, progress=0, total=len(picks))
    for start in range(0, len(picks), size):
        _add_batch(run, rule.queue_id, picks[start : start + size])
        if job is not None:
            jobs.beat(job, progress=min(len(picks), start + size))
        if pause:
            time.sleep(pause)
    # One item per log, or per pair of logs for a pairing rule.
    added = QueuedLog.objects.filter(run=run).values("item_id").distinct().count()
    SamplingRun.objects.filter(pk=run.pk).update(
        status=SamplingRun.Status.DONE,
        added=added,
        # Picks that another run put in the queue meanwhile are duplicates too.
        skipped_duplicates=run.skipped_duplicates + (len(picks) - added),
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def run_job(job_id: int) -> SamplingRun | None:
    """The Celery task's body."""
    job = jobs.start(job_id)
    if job is None:
        return None
    run = SamplingRun.objects.select_related("rule").filter(job=job).first()
    if run is None:
        jobs.fail(job, "The sampling run is gone.")
        return None
    try:
        run = execute_run(run, job)
    except Exception as exc:
        SamplingRun.objects.filter(pk=run.pk).update(
            status=SamplingRun.Status.FAILED, errors=F("errors") + 1, error=str(exc)[:2000]
        )
        jobs.fail(job, str(exc))
        raise
    jobs.succeed(
        job,
        {
            "considered": run.considered,
            "picked": run.picked,
            "added": run.added,
            "skipped_duplicates": run.skipped_duplicates,
        },
    )
    return run
