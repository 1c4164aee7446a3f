"""Which logs a rule matches, and the seeded hash that orders them: the pieces both plain
sampling (``rules``) and pairing (``pairing``) plan with.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat, Length
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from evals.judges.runs import judge_scores_below
from evals.models import Log, QueuedLog, SamplingRule

SQLITE_HASH = "quorum_sample_hash"


STRATUM_SEPARATOR = " · "


METADATA_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,60}$")


class RuleError(ValueError):
    pass


def python_hash(text: str, seed: int) -> int:
    """SQLite's sample hash: the first 8 bytes of SHA-256 as a signed 64-bit integer."""
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Connected from ``EvalsConfig.ready`` to the ``connection_created`` signal."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_HASH, 2, python_hash, deterministic=True)


class SampleHash(models.Func):
    """A signed 64-bit hash of (source, external id) seeded by the rule."""

    output_field = models.BigIntegerField()

    def __init__(self, seed: int) -> None:
        key = Concat(
            Cast("source_id", models.TextField()), Value(":"), "external_id",
            output_field=models.TextField(),
        )  # fmt: skip
        super().__init__(key, Value(seed), output_field=models.BigIntegerField())

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, function="hashtextextended", **extra)

    def as_sqlite(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, function=SQLITE_HASH, **extra)


def rate_threshold(rate: float) -> int:
    """Hashes below this fall in the lowest ``rate`` share of the signed 64-bit range."""
    return int(-(2**63) + rate * 2**64)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise RuleError(f"Not a date and time: {value!r}")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def validate_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """A cleaned copy of a rule's filters; RuleError for anything it cannot use."""
    out: dict[str, Any] = {}
    for key in ("model_names", "model_versions"):
        values = [str(v).strip() for v in filters.get(key) or [] if str(v).strip()]
        if values:
            out[key] = values
    for key in ("since", "until"):
        if filters.get(key):
            out[key] = _time(filters[key]).isoformat()
    for key in ("last_hours", "min_length", "max_length"):
        if filters.get(key) not in (None, ""):
            try:
                out[key] = int(filters[key])
            except (TypeError, ValueError):
                raise RuleError(f"{key} must be a whole number.") from None
            if out[key] < 0:
                raise RuleError(f"{key} must not be negative.")
    metadata = {}
    for key, value in (filters.get("metadata") or {}).items():
        if not METADATA_KEY.match(str(key)) or "__" in str(key):
            raise RuleError(f"Metadata key {key!r}: use letters, digits, _ and - only.")
        metadata[str(key)] = str(value)
    if metadata:
        out["metadata"] = metadata
    if filters.get("feedback_negative"):
        out["feedback_negative"] = True
    judge_key = str(filters.get("judge_criterion") or "").strip()
    if judge_key or filters.get("judge_below") not in (None, ""):
        if not judge_key or filters.get("judge_below") in (None, ""):
            raise RuleError("A judge priority needs both a criterion key and a score to be below.")
        try:
            out["judge_below"] = float(filters["judge_below"])
        except (TypeError, ValueError):
            raise RuleError("The judge score threshold must be a number.") from None
        out["judge_criterion"] = judge_key
    if str(filters.get("text_contains") or "").strip():
        out["text_contains"] = str(filters["text_contains"]).strip()
    return out


def _known_stratum(key: str) -> bool:
    if key in ("model_name", "model_version", "source"):
        return True
    return key.startswith("metadata.") and bool(METADATA_KEY.match(key[9:])) and "__" not in key


def validate_strata(strata: list[str]) -> list[str]:
    out = []
    for key in strata:
        key = key.strip()
        if _known_stratum(key):
            out.append(key)
        elif key:
            raise RuleError(f"Unknown stratum {key!r}: model_name, model_version, metadata.<key>.")
    return out


def filtered_logs(rule: SamplingRule, now: datetime | None = None) -> QuerySet[Log]:
    """The rule's workspace's logs that pass its filters."""
    f = rule.filters or {}
    qs = Log.objects.filter(workspace_id=rule.workspace_id)
    if rule.source_id:
        qs = qs.filter(source_id=rule.source_id)
    if f.get("model_names"):
        qs = qs.filter(model_name__in=f["model_names"])
    if f.get("model_versions"):
        qs = qs.filter(model_version__in=f["model_versions"])
    if f.get("since"):
        qs = qs.filter(timestamp__gte=_time(f["since"]))
    if f.get("until"):
        qs = qs.filter(timestamp__lt=_time(f["until"]))
    if f.get("last_hours"):
        qs = qs.filter(timestamp__gte=(now or timezone.now()) - timedelta(hours=f["last_hours"]))
    for key, value in (f.get("metadata") or {}).items():
        text = Cast(KeyTextTransform(key, "metadata"), models.TextField())
        qs = qs.alias(**{f"_meta_{key}": text}).filter(**{f"_meta_{key}": value})
    if f.get("feedback_negative"):
        qs = qs.filter(feedback_negative=True)
    if f.get("text_contains"):
        text = f["text_contains"]
        qs = qs.annotate(_messages=Cast("input_messages", models.TextField())).filter(
            Q(input_text__icontains=text) | Q(output__icontains=text) | Q(_messages__icontains=text)
        )
    if f.get("min_length") is not None or f.get("max_length") is not None:
        qs = qs.annotate(_length=Length("output"))
        if f.get("min_length") is not None:
            qs = qs.filter(_length__gte=f["min_length"])
        if f.get("max_length") is not None:
            qs = qs.filter(_length__lte=f["max_length"])
    return qs


def stratum_expression(strata: list[str]) -> models.Expression:
    parts: list[Any] = []
    for key in strata:
        if key == "source":
            expr: Any = Cast("source_id", models.TextField())
        elif key.startswith("metadata."):
            expr = KeyTextTransform(key[len("metadata.") :], "metadata")
        else:
            expr = F(key)
        if parts:
            parts.append(Value(STRATUM_SEPARATOR))
        parts.append(Coalesce(expr, Value(""), output_field=models.TextField()))
    if not parts:
        return Value("", output_field=models.TextField())
    if len(parts) == 1:
        return parts[0]
    return Concat(*parts, output_field=models.TextField())


@dataclass
class Plan:
    matching: int = 0
    already_in_queue: int = 0
    picks: list[list[Any]] = field(default_factory=list)  # [log id, stratum]
    by_stratum: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def considered(self) -> int:
        return self.matching - self.already_in_queue


def in_queue(queue_id: int) -> Exists:
    return Exists(QueuedLog.objects.filter(queue_id=queue_id, log_id=OuterRef("pk")))


def judge_flagged_logs(rule: SamplingRule) -> QuerySet[Log]:
    """Logs an LLM judge scored below the rule's threshold on its criterion (none if unset)."""
    f = rule.filters or {}
    if not f.get("judge_criterion"):
        return Log.objects.none()
    return judge_scores_below(rule.workspace, f["judge_criterion"], float(f["judge_below"]))
