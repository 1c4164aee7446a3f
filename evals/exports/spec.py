"""What an export asks for: shape, format and filters, parsed and checked (``parse_spec``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from annotate.models import (
    Cohort,
    Queue,
    Workspace,
)
from annotate.text import text_problem
from evals.exports.writers import (
    EXTENSIONS,
    FORMATS,
    format_time,
    parse_time,
)

SHAPES = ("judgments", "judgments_long", "items", "sft", "preferences")


SHAPE_FORMATS = {
    "judgments": FORMATS,
    "judgments_long": FORMATS,
    "items": FORMATS,
    "sft": ("jsonl",),
    "preferences": ("jsonl", "parquet"),
}


BATCH_ROWS = 5000


DEFAULT_SFT_THRESHOLD = 0.8


MAX_ID = 2**63 - 1


class ExportError(ValueError):
    """A bad export request (unknown shape, bad filter, ...); the message says what."""


@dataclass
class ExportFilters:
    queue_ids: list[int] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    cohort_ids: list[int] = field(default_factory=list)
    model_versions: list[str] = field(default_factory=list)
    min_agreement: float | None = None
    adjudicated_only: bool = False
    exclude_gold: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = format_time(self.since)
        data["until"] = format_time(self.until)
        return data


@dataclass
class ExportSpec:
    shape: str
    format: str
    snapshot_at: datetime
    filters: ExportFilters = field(default_factory=ExportFilters)
    sft_threshold: float = DEFAULT_SFT_THRESHOLD
    reviewer_names: bool = False
    keep_ties: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "format": self.format,
            "snapshot_at": format_time(self.snapshot_at),
            "filters": self.filters.as_dict(),
            "sft_threshold": self.sft_threshold,
            "reviewer_names": self.reviewer_names,
            "keep_ties": self.keep_ties,
        }

    @property
    def file_name(self) -> str:
        return f"{self.shape}.{EXTENSIONS[self.format]}"


def _int_list(value: Any, name: str) -> list[int]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ExportError(f"{name} must be a list of ids.")
    try:
        ids = sorted({int(v) for v in value})
    except (TypeError, ValueError):
        raise ExportError(f"{name} must be a list of ids.") from None
    if ids and not 1 <= ids[0] <= ids[-1] <= MAX_ID:  # a database could not compare others
        raise ExportError(f"{name} must be a list of ids.")
    return ids


def _str_list(value: Any, name: str) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ExportError(f"{name} must be a list of strings.")
    for v in value:
        if problem := text_problem(v):
            raise ExportError(f"{name}: {v!r} {problem}.")
    return sorted({v.strip() for v in value if v.strip()})


def _time(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_time(value)
    except (TypeError, ValueError, OverflowError):  # overflow: year 1 with an offset
        raise ExportError(f"{name} must be an ISO 8601 time.") from None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def parse_filters(raw: dict[str, Any] | None) -> ExportFilters:
    """Validate filters from a form, the API or a job's params. Raises ExportError."""
    raw = dict(raw or {})
    known = set(ExportFilters.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ExportError("Unknown filters: " + ", ".join(unknown) + ".")
    min_agreement = raw.get("min_agreement")
    if min_agreement in ("", None):
        min_agreement = None
    else:
        try:
            min_agreement = float(min_agreement)
        except (TypeError, ValueError):
            raise ExportError("min_agreement must be a number from 0 to 1.") from None
        if not 0.0 <= min_agreement <= 1.0:
            raise ExportError("min_agreement must be a number from 0 to 1.")
    filters = ExportFilters(
        queue_ids=_int_list(raw.get("queue_ids"), "queue_ids"),
        since=_time(raw.get("since"), "since"),
        until=_time(raw.get("until"), "until"),
        cohort_ids=_int_list(raw.get("cohort_ids"), "cohort_ids"),
        model_versions=_str_list(raw.get("model_versions"), "model_versions"),
        min_agreement=min_agreement,
        adjudicated_only=_bool(raw.get("adjudicated_only", False)),
        exclude_gold=_bool(raw.get("exclude_gold", False)),
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise ExportError("since must be before until.")
    return filters


def parse_spec(
    workspace: Workspace,
    *,
    shape: str,
    format: str,
    snapshot_at: datetime | str,
    filters: dict[str, Any] | None = None,
    sft_threshold: float | str | None = None,
    reviewer_names: bool = False,
    keep_ties: bool = False,
) -> ExportSpec:
    """A checked ExportSpec; queue and cohort ids must belong to ``workspace``."""
    if shape not in SHAPES:
        raise ExportError("shape must be one of: " + ", ".join(SHAPES) + ".")
    if format not in SHAPE_FORMATS[shape]:
        raise ExportError(f"The {shape} shape comes as: " + ", ".join(SHAPE_FORMATS[shape]) + ".")
    parsed = parse_filters(filters)
    own_queues = set(
        Queue.objects.filter(workspace=workspace, pk__in=parsed.queue_ids).values_list(
            "pk", flat=True
        )
    )
    if set(parsed.queue_ids) - own_queues:
        raise ExportError("No such queue in this workspace.")
    own_cohorts = set(
        Cohort.objects.filter(workspace=workspace, pk__in=parsed.cohort_ids).values_list(
            "pk", flat=True
        )
    )
    if set(parsed.cohort_ids) - own_cohorts:
        raise ExportError("No such cohort in this workspace.")
    threshold = DEFAULT_SFT_THRESHOLD if sft_threshold in (None, "") else sft_threshold
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ExportError("sft_threshold must be a number from 0 to 1.") from None
    if not 0.0 <= threshold <= 1.0:
        raise ExportError("sft_threshold must be a number from 0 to 1.")
    snapshot = snapshot_at if isinstance(snapshot_at, datetime) else parse_time(snapshot_at)
    return ExportSpec(
        shape=shape,
        format=format,
        snapshot_at=snapshot,
        filters=parsed,
        sft_threshold=threshold,
        reviewer_names=_bool(reviewer_names),
        keep_ties=_bool(keep_ties),
    )


def spec_from_dict(workspace: Workspace, data: dict[str, Any]) -> ExportSpec:
    return parse_spec(workspace, **data)
