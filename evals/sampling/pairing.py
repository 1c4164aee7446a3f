"""Pairing rules: the same user input under two model versions becomes one pairwise item.

Every log carries ``input_key``, a 64-bit hash of its normalized input, computed when
it is stored: the input as chat messages (a prompt string counts as one user message),
each message's text Unicode-normalized (NFKC), case-folded and with its whitespace
collapsed. So "What dose?" and "what  dose?" are the same input; a different system
prompt is a different input.

A pairing rule names version A and version B. For each input key that has logs under
both versions and no log in the target queue yet, the pair is the version-A log and the
version-B log with the lowest seeded hashes. The rule's strategy then applies to pairs
instead of logs, with a pair's hash seeded from its input key: a rate keeps pairs whose
hash falls in the lowest share, fixed and quota keep the lowest hashes (per stratum of the
version-A log), and the priority strategies put pairs where either log was disliked (or
scored low by the judge) first. Pairs whose two outputs are the same text (or one is
empty) are skipped: they can only measure noise. Both logs of a pair are recorded in
``QueuedLog``, so neither (nor another log with the same input) enters that queue again.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from annotate.pairs import create_pair_items, same_output
from evals.models import Log, QueuedLog, SamplingRule
from evals.sampling.filters import (
    Plan,
    SampleHash,
    filtered_logs,
    judge_flagged_logs,
    python_hash,
    rate_threshold,
    stratum_expression,
)

CHUNK = 500
COUNT_CHUNK = 5000


def _normal(text: str) -> str:
    if text.isascii():  # NFKC leaves ASCII as it is, and casefold is lower there
        return " ".join(text.lower().split())
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def input_key(input_text: str, input_messages: Iterable[Mapping[str, Any]] | None) -> int | None:
    """The hash of a log's normalized input (``None`` when it has no input at all)."""
    messages = list(input_messages or [])
    if not messages and input_text:
        messages = [{"role": "user", "content": input_text}]
    parts = [
        f"{_normal(str(m.get('role', 'user')))}\x1f{_normal(str(m.get('content', '')))}"
        for m in messages
    ]
    if not any(part.partition("\x1f")[2] for part in parts):
        return None
    digest = hashlib.blake2b("\x1e".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def fill_input_key(sender: type, instance: Log, **kwargs: Any) -> None:
    """``pre_save`` of a Log: its input's hash, when not set yet (bulk inserts set it)."""
    if instance.input_key is None:
        instance.input_key = input_key(instance.input_text, instance.input_messages)


def pair_hash(key: int, seed: int) -> int:
    return python_hash(str(key), seed)


def _limit(rule: SamplingRule) -> float:
    if rule.strategy == SamplingRule.Strategy.RATE:
        return math.inf
    return rule.count or 0


def plan_pairs(rule: SamplingRule, now=None) -> Plan:
    """The pairs a run of a pairing rule would add now, as a ``filters.Plan``."""
    versions = {rule.pair_version_a: "a", rule.pair_version_b: "b"}
    logs = filtered_logs(rule, now).filter(
        model_version__in=list(versions), input_key__isnull=False
    )
    queued_keys = QueuedLog.objects.filter(
        queue_id=rule.queue_id, log__input_key__isnull=False
    ).values("log__input_key")
    result = Plan()
    result.already_in_queue = (
        logs.filter(input_key__in=queued_keys).values("input_key").distinct().count()
    )
    best = (
        logs.exclude(input_key__in=queued_keys)
        .annotate(
            stratum=stratum_expression(rule.strata or []),
            sample_hash=SampleHash(rule.seed),
            rank=Window(
                RowNumber(),
                partition_by=[F("input_key"), F("model_version")],
                order_by=[F("sample_hash").asc(), F("id").asc()],
            ),
        )
        .filter(rank=1)
        .values_list("id", "input_key", "model_version", "stratum", "feedback_negative")
    )
    sides: dict[int, dict[str, tuple]] = defaultdict(dict)
    for log_id, key, version, stratum, negative in best.iterator(chunk_size=5000):
        sides[key][versions[version]] = (log_id, stratum, negative)
    flagged: set[int] = set()
    if rule.strategy == SamplingRule.Strategy.JUDGE_LOW_FIRST:
        flagged = set(judge_flagged_logs(rule).values_list("pk", flat=True))

    candidates = []
    for key, side in sides.items():
        if "a" not in side or "b" not in side:
            continue
        (a_id, stratum, a_neg), (b_id, _, b_neg) = side["a"], side["b"]
        if rule.strategy == SamplingRule.Strategy.NEGATIVE_FIRST:
            first = a_neg or b_neg
        elif rule.strategy == SamplingRule.Strategy.JUDGE_LOW_FIRST:
            first = a_id in flagged or b_id in flagged
        else:
            first = False
        candidates.append((not first, pair_hash(key, rule.seed), a_id, b_id, stratum))
        result.by_stratum.setdefault(stratum, {"matching": 0, "picked": 0, "skipped": 0})
        result.by_stratum[stratum]["matching"] += 1
    result.matching = len(candidates) + result.already_in_queue
    if rule.strategy == SamplingRule.Strategy.RATE and (rule.rate or 0) < 1:
        threshold = rate_threshold(rule.rate or 0.0)
        candidates = [c for c in candidates if c[1] < threshold]
    candidates.sort()
    per_stratum = rule.strategy == SamplingRule.Strategy.QUOTA
    _pick(result, candidates, _limit(rule), per_stratum)
    return result


def _pick(result, candidates: list[tuple], limit: float, per_stratum: bool) -> None:
    """Walk the ordered candidates, skipping identical or empty outputs, until each limit
    is met. Skips are counted over every candidate, also those past the limits, so the
    preview says how many pairs the rule can never add (``_count_skips``)."""
    taken: dict[str, int] = defaultdict(int)

    def bucket(candidate: tuple) -> str:
        return candidate[4] if per_stratum else ""

    for start in range(0, len(candidates), CHUNK):
        if not per_stratum and taken[""] >= limit:
            _count_skips(result, candidates[start:])
            return
        chunk = candidates[start : start + CHUNK]
        wanted = [c for c in chunk if taken[bucket(c)] < limit]
        _count_skips(result, [c for c in chunk if taken[bucket(c)] >= limit])
        if not wanted:
            continue
        outputs = _outputs(wanted)
        for candidate in wanted:
            _, _, a_id, b_id, stratum = candidate
            if _skipped(outputs[a_id], outputs[b_id]):
                result.by_stratum[stratum]["skipped"] += 1
                continue
            if taken[bucket(candidate)] >= limit:
                continue
            taken[bucket(candidate)] += 1
            result.picks.append([a_id, b_id, stratum])
            result.by_stratum[stratum]["picked"] += 1


def _skipped(first: str, second: str) -> bool:
    """A pair that can only measure noise: an empty output, or the same text twice."""
    return not first.strip() or not second.strip() or same_output(first, second)


def _outputs(candidates: list[tuple]) -> dict[int, str]:
    ids = [c[2] for c in candidates] + [c[3] for c in candidates]
    return dict(Log.objects.filter(pk__in=ids).values_list("id", "output"))


def _count_skips(result, candidates: list[tuple]) -> None:
    """Count the skipped pairs among candidates no limit lets in (their outputs are read
    a chunk at a time, only to be counted)."""
    for start in range(0, len(candidates), COUNT_CHUNK):
        chunk = candidates[start : start + COUNT_CHUNK]
        outputs = _outputs(chunk)
        for _, _, a_id, b_id, stratum in chunk:
            if _skipped(outputs[a_id], outputs[b_id]):
                result.by_stratum[stratum]["skipped"] += 1


PAIR_FIELDS = (
    "id",
    "input_text",
    "input_messages",
    "output",
    "model_name",
    "model_version",
    "metadata",
)


def add_pairs(queue, run, batch: list[list[Any]]) -> tuple[int, list[str]]:
    """Create the pairwise items of a batch of picks not in the queue yet, with their
    ``QueuedLog`` rows; the caller holds the transaction. Returns (added, error messages)."""
    ids = [log_id for a_id, b_id, _ in batch for log_id in (a_id, b_id)]
    present = set(
        QueuedLog.objects.filter(queue=queue, log_id__in=ids).values_list("log_id", flat=True)
    )
    logs = {row["id"]: row for row in Log.objects.filter(pk__in=ids).values(*PAIR_FIELDS)}
    todo = [
        pick
        for pick in batch
        if pick[0] not in present and pick[1] not in present and pick[0] in logs and pick[1] in logs
    ]
    rows = [_pair_row(logs[a_id], logs[b_id]) for a_id, b_id, _ in todo]
    result = create_pair_items(queue, rows)
    by_first = {a_id: (b_id, stratum) for a_id, b_id, stratum in todo}
    queued = []
    for item in result.created:
        b_id, stratum = by_first[item.source_log_id]
        for log_id in (item.source_log_id, b_id):
            queued.append(
                QueuedLog(queue=queue, log_id=log_id, run=run, item=item, stratum=stratum[:300])
            )
    QueuedLog.objects.bulk_create(queued)
    return len(result.created), [message for _, message in result.errors]


def _pair_row(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {
        "input": a["input_text"],
        "input_messages": a["input_messages"],
        "output_a": a["output"],
        "output_b": b["output"],
        "model_a": a["model_name"],
        "version_a": a["model_version"],
        "model_b": b["model_name"],
        "version_b": b["model_version"],
        "metadata": a["metadata"],
        "source_log_id": a["id"],
    }


def is_pairing(rule: SamplingRule) -> bool:
    return bool(rule.pair_version_a and rule.pair_version_b)


def backfill_input_keys(log_model: type[models.Model], batch: int = 2000) -> None:
    """Set ``input_key`` on stored logs (used by the migration that adds the column)."""
    pending = log_model.objects.filter(input_key__isnull=True).order_by("pk")
    last = 0
    while True:
        rows = list(
            pending.filter(pk__gt=last).values_list("pk", "input_text", "input_messages")[:batch]
        )
        if not rows:
            return
        updates = []
        for pk, text, messages in rows:
            key = input_key(text, messages if isinstance(messages, list) else [])
            if key is not None:
                updates.append(log_model(pk=pk, input_key=key))
        log_model.objects.bulk_update(updates, ["input_key"])
        last = rows[-1][0]
