"""Labeled-set exports: judgments (wide and long), items with consensus, fine-tuning sets.

``write_export(workspace, spec, out_dir)`` writes one data file, ``manifest.json`` and
``README.md`` into ``out_dir`` and returns the manifest. Rows are read from the
database in item order with a server-side cursor and written batch by batch, so
memory stays bounded. Everything depends only on the data and on the spec's
``snapshot_at`` (the export time written to the manifest): judgments created after
the snapshot are left out and judgments edited after it are exported with the
answers they had then, so the same snapshot gives byte-identical files.

Consensus per item: the adjudicated answer when there is one (``consensus_override``,
the adjudication hook), else the majority for categories and pass/fail (a tie gives
null) and the median for scales and numbers. Per-item agreement is simple percent
agreement: the share of agreeing reviewer pairs per criterion, averaged over criteria.
Pairwise judgments have columns of their own and their preference counts as the
criterion (``export_pairwise``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cached_property
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, connections
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from annotate.models import (
    Cohort,
    Criterion,
    CriterionKind,
    Item,
    Judgment,
    JudgmentRevision,
    Queue,
    RubricVersion,
    Workspace,
)
from annotate.text import text_problem

from .export_manifest import build_manifest, render_readme
from .export_pairwise import PREFERENCE_ANSWER, PREFERENCE_KEY
from .export_shapes import (
    AGREEMENT_KINDS,
    SHAPE_CLASSES,
    consensus,
    item_agreement,
    weighted_score,
)
from .export_writers import (
    EXTENSIONS,
    FORMATS,
    file_digest,
    format_time,
    open_writer,
    parse_time,
)
from .models import ImportedReviewer
from .readahead import short_switch_interval

__all__ = [
    "consensus",
    "consensus_override",
    "item_agreement",
    "weighted_score",
    "write_export",
    "parse_spec",
]

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


# --- The adjudication hook --------------------------------------------------------------


def consensus_override(item_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The adjudicated answers by item id, ``{item_id: {key: answer}}``.

    The items shape uses them instead of the computed consensus and marks the item
    ``adjudicated``; the ``adjudicated_only`` filter keeps exactly those items.
    """
    from .models import Adjudication

    found: dict[int, dict[str, Any]] = {}
    ids = list(item_ids)
    for start in range(0, len(ids), 5000):
        rows = Adjudication.objects.filter(item_id__in=ids[start : start + 5000])
        found.update(rows.values_list("item_id", "answers"))
    return found


# --- Filters and spec -------------------------------------------------------------------


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


# --- Reviewers --------------------------------------------------------------------------


def pseudonym(workspace_id: int, user_id: int) -> str:
    """A stable reviewer id that does not reveal who the reviewer is."""
    message = f"quorum-reviewer:{workspace_id}:{user_id}".encode()
    return "r-" + hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:12]


@dataclass
class Reviewer:
    label: str
    cohorts: str


def reviewer_map(
    workspace: Workspace, user_ids: Iterable[int], names: bool = False
) -> dict[int, Reviewer]:
    """Label and cohorts (``;``-joined names) per user id."""
    from django.contrib.auth import get_user_model

    ids = set(user_ids)
    imported = dict(
        ImportedReviewer.objects.filter(workspace=workspace, user_id__in=ids).values_list(
            "user_id", "label"
        )
    )
    cohorts: dict[int, list[str]] = {}
    for user_id, name in Cohort.members.through.objects.filter(
        cohort__workspace=workspace, user_id__in=ids
    ).values_list("user_id", "cohort__name"):
        cohorts.setdefault(user_id, []).append(name)
    usernames: dict[int, str] = {}
    if names:
        usernames = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    result = {}
    for user_id in ids:
        label = imported.get(user_id) or usernames.get(user_id) or pseudonym(workspace.pk, user_id)
        result[user_id] = Reviewer(label, ";".join(sorted(cohorts.get(user_id, []))))
    return result


# --- Selecting judgments ----------------------------------------------------------------


def gold_field() -> str | None:
    """The name of the items' gold flag, if the model has one yet."""
    names = {f.name for f in Item._meta.get_fields()}
    for candidate in ("is_gold", "gold"):
        if candidate in names:
            return candidate
    return None


def judgments_queryset(workspace: Workspace, spec: ExportSpec) -> QuerySet[Judgment]:
    f = spec.filters
    qs = Judgment.objects.filter(queue__workspace=workspace, created_at__lte=spec.snapshot_at)
    if f.queue_ids:
        qs = qs.filter(queue_id__in=f.queue_ids)
    if f.since:
        qs = qs.filter(created_at__gte=f.since)
    if f.until:
        qs = qs.filter(created_at__lte=f.until)
    if f.cohort_ids:
        reviewers = Cohort.members.through.objects.filter(cohort_id__in=f.cohort_ids).values(
            "user_id"
        )
        qs = qs.filter(reviewer_id__in=reviewers)
    if f.model_versions:
        qs = qs.filter(item__model_version__in=f.model_versions)
    gold = gold_field()
    if f.exclude_gold and gold:
        qs = qs.exclude(**{f"item__{gold}": True})
    return qs


ROW_FIELDS = (
    "id",
    "item_id",
    "queue_id",
    "queue__name",
    "item__input_text",
    "item__input_messages",
    "item__output",
    "item__model_name",
    "item__model_version",
    "item__metadata",
    "reviewer_id",
    "rubric_version_id",
    "time_spent_ms",
    "revision",
    "created_at",
    "updated_at",
    "answers",
)


@dataclass
class Row:
    id: int
    item_id: int
    queue_id: int
    queue: str
    input_text: str
    input_messages: Any
    output: str
    model_name: str
    model_version: str
    metadata: Any
    reviewer_id: int
    rubric_version_id: int
    time_spent_ms: int
    revision: int
    created_at: datetime
    updated_at: datetime
    answers: dict[str, Any]
    output_b: str | None = None
    model_name_b: str | None = None
    model_version_b: str | None = None


PAIR_ROW_FIELDS = ("item__output_b", "item__model_name_b", "item__model_version_b")


def has_output_b() -> bool:
    """Whether items carry a second output yet (pairwise queues)."""
    return "output_b" in {f.name for f in Item._meta.get_fields()}


def row_fields() -> tuple[str, ...]:
    return (*ROW_FIELDS, *PAIR_ROW_FIELDS) if has_output_b() else ROW_FIELDS


def _as_of_snapshot(rows: list[Row], snapshot: datetime) -> None:
    """Judgments edited after the snapshot: put back the answers they had at the snapshot."""
    edited = [row for row in rows if row.updated_at > snapshot]
    if not edited:
        return
    revisions = JudgmentRevision.objects.filter(
        judgment_id__in=[row.id for row in edited], recorded_at__lte=snapshot
    ).order_by("judgment_id", "-revision")
    latest: dict[int, JudgmentRevision] = {}
    for revision in revisions:
        latest.setdefault(revision.judgment_id, revision)
    for row in edited:
        old = latest.get(row.id)
        if old is not None:
            row.answers = old.answers
            row.time_spent_ms = old.time_spent_ms
            row.revision = old.revision
            row.updated_at = old.recorded_at


def iter_item_groups(
    workspace: Workspace, spec: ExportSpec, chunk_size: int = BATCH_ROWS
) -> Iterator[list[Row]]:
    """Judgments grouped by item, in (item id, judgment id) order, streamed from the DB."""
    qs = judgments_queryset(workspace, spec).order_by("item_id", "id").values_list(*row_fields())
    pending: list[Row] = []

    def flush() -> Iterator[list[Row]]:
        _as_of_snapshot(pending, spec.snapshot_at)
        for _, group in groupby(pending, key=lambda row: row.item_id):
            yield list(group)

    for values in qs.iterator(chunk_size=chunk_size):
        row = Row(*values)
        if len(pending) >= chunk_size and row.item_id != pending[-1].item_id:
            yield from flush()
            pending = []
        pending.append(row)
    yield from flush()


@dataclass
class Context:
    """What every shape needs besides the rows: criteria, rubric names, reviewers."""

    workspace: Workspace
    spec: ExportSpec
    versions: list[RubricVersion]
    criteria_by_version: dict[int, list[Criterion]]
    reviewers: dict[int, Reviewer]
    # Judgments and distinct items selected (PostgreSQL only: read in the same scan).
    counts: dict[str, int] | None = None
    # The exported pairwise queues (none unless some of their judgments are selected: a
    # rubric export), whether rubric queues' judgments are selected too, the pairwise
    # queues' rubric versions, and those no exported rubric queue shares (their criteria
    # get no answer column).
    pairwise_queues: frozenset[int] = frozenset()
    rubric_rows: bool = True
    pairwise_versions: frozenset[int] = frozenset()
    pairwise_only_versions: frozenset[int] = frozenset()

    @property
    def pairwise(self) -> bool:
        return bool(self.pairwise_queues)

    @property
    def mixed(self) -> bool:
        """Judgments of both kinds of queue: written row by row."""
        return self.pairwise and self.rubric_rows

    def _answer_versions(self) -> list[RubricVersion]:
        return [v for v in self.versions if v.pk not in self.pairwise_only_versions]

    @property
    def criteria(self) -> list[Criterion]:
        """Criteria across versions, one per key, in version then position order.

        The criteria of rubric judgments' answers: a version only pairwise queues use
        has none (a pairwise judgment answers with a preference, ``export_pairwise``).
        """
        seen: dict[str, Criterion] = {}
        for version in self._answer_versions():
            for criterion in self.criteria_by_version[version.pk]:
                seen.setdefault(criterion.key, criterion)
        return list(seen.values())

    @cached_property
    def preference_keys(self) -> list[str]:
        """The criteria pairwise judgments give a preference on, one per key, in order."""
        keys: dict[str, None] = {}
        for version in self.versions:
            if version.pk in self.pairwise_versions:
                for criterion in self.criteria_by_version[version.pk]:
                    if criterion.pairwise_preference:
                        keys.setdefault(criterion.key)
        return list(keys)

    @property
    def agreement_criteria(self) -> list[Any]:
        """What the per-item agreement counts, in order: the criteria of the agreement
        kinds, then a pairwise judgment's overall preference (as the queue's agreement
        report counts it)."""
        counted: list[Any] = [c for c in self.criteria if c.kind in AGREEMENT_KINDS]
        if self.pairwise and PREFERENCE_KEY not in {c.key for c in counted}:
            counted.append(PREFERENCE_ANSWER)
        return counted

    def kind_of(self, key: str) -> str:
        kinds = {
            c.kind
            for v in self._answer_versions()
            for c in self.criteria_by_version[v.pk]
            if c.key == key
        }
        if not kinds and self.pairwise and key == PREFERENCE_KEY:
            return PREFERENCE_ANSWER.kind
        return kinds.pop() if len(kinds) == 1 else CriterionKind.FREE_TEXT


def build_context(workspace: Workspace, spec: ExportSpec, scan: bool = True) -> Context:
    """Versions, criteria and reviewers of the selected judgments.

    With ``scan=False`` (the Parquet fast path, which counts as it reads) the
    versions are found with one index lookup each instead of a scan of every
    judgment, and reviewers are left for the caller to add as it meets them.
    """
    qs = judgments_queryset(workspace, spec)
    counts = None
    reviewer_ids: set[int] = set()
    if not scan:
        # A first judgment per version, as a LIMIT 1 subquery each: an EXISTS would be
        # planned as a semi-join reading every selected judgment. Versions without any
        # judgment are dropped first through the rubric version index.
        def first(judgments: QuerySet) -> Subquery:
            return Subquery(judgments.filter(rubric_version_id=OuterRef("pk")).values("pk")[:1])

        version_ids = set(
            RubricVersion.objects.filter(rubric__workspace=workspace)
            .annotate(any_judgment=first(Judgment.objects.all()))
            .filter(any_judgment__isnull=False)
            .annotate(selected_judgment=first(qs))
            .filter(selected_judgment__isnull=False)
            .values_list("pk", flat=True)
        )
    elif connection.vendor == "postgresql":
        from django.contrib.postgres.aggregates import ArrayAgg

        found = qs.aggregate(
            versions=ArrayAgg("rubric_version_id", distinct=True, default=[]),
            reviewers=ArrayAgg("reviewer_id", distinct=True, default=[]),
            rows=Count("id"),
            items=Count("item_id", distinct=True),
            edited=Count("id", filter=Q(updated_at__gt=spec.snapshot_at)),
        )
        version_ids, reviewer_ids = set(found["versions"]), set(found["reviewers"])
        # ``edited``: judgments changed after the snapshot (the COPY path cannot take them).
        counts = {"rows": found["rows"], "items": found["items"], "edited": found["edited"]}
    else:
        version_ids = set(qs.values_list("rubric_version_id", flat=True).distinct())
        reviewer_ids = set(qs.values_list("reviewer_id", flat=True).distinct())
    versions = list(
        RubricVersion.objects.filter(pk__in=version_ids)
        .select_related("rubric")
        .order_by("rubric_id", "number")
    )
    criteria: dict[int, list[Criterion]] = {v.pk: [] for v in versions}
    for criterion in Criterion.objects.filter(rubric_version_id__in=version_ids).order_by(
        "rubric_version_id", "position", "id"
    ):
        criteria[criterion.rubric_version_id].append(criterion)
    reviewers = reviewer_map(workspace, reviewer_ids, names=spec.reviewer_names)
    return Context(
        workspace, spec, versions, criteria, reviewers, counts, **_queue_kinds(workspace, spec, qs)
    )


def _queue_kinds(workspace: Workspace, spec: ExportSpec, qs: QuerySet) -> dict[str, Any]:
    """Context fields saying which kinds of queue the selected judgments come from.

    One look at the workspace's queues; only when pairwise queues are among the
    exported ones, an index lookup per kind for a selected judgment.
    """
    queues = Queue.objects.filter(workspace=workspace)
    if spec.filters.queue_ids:
        queues = queues.filter(pk__in=spec.filters.queue_ids)
    by_kind: dict[str, dict[int, int]] = {Queue.Kind.RUBRIC: {}, Queue.Kind.PAIRWISE: {}}
    for pk, kind, version_id in queues.values_list("pk", "kind", "rubric_version_id"):
        by_kind.setdefault(kind, {})[pk] = version_id
    pairs, rubric = by_kind[Queue.Kind.PAIRWISE], by_kind[Queue.Kind.RUBRIC]
    if not pairs or not qs.filter(queue_id__in=list(pairs)).exists():
        return {}
    rubric_rows = bool(rubric) and qs.filter(queue_id__in=list(rubric)).exists()
    # A queue's rubric version never changes once it has items, so it is its judgments'.
    pair_versions = frozenset(pairs.values())
    shared = set(rubric.values()) if rubric_rows else set()
    return {
        "pairwise_queues": frozenset(pairs),
        "rubric_rows": rubric_rows,
        "pairwise_versions": pair_versions,
        "pairwise_only_versions": pair_versions - shared,
    }


# --- Writing ----------------------------------------------------------------------------


@dataclass
class Tally:
    rows: int = 0
    items: int = 0
    judgments: int = 0
    reviewers: set[int] = field(default_factory=set)
    agreement_sum: float = 0.0
    agreement_items: int = 0

    def add(self, group: list[Row], agreement: float | None, rows: int) -> None:
        self.rows += rows
        self.items += 1
        self.judgments += len(group)
        self.reviewers.update(row.reviewer_id for row in group)
        if agreement is not None:
            self.agreement_sum += agreement
            self.agreement_items += 1


def count_rows(workspace: Workspace, spec: ExportSpec) -> int:
    """An upper bound of the judgments read (for progress bars and direct-or-job choice)."""
    return judgments_queryset(workspace, spec).count()


def write_export(
    workspace: Workspace,
    spec: ExportSpec,
    out_dir: Path,
    progress: Callable[[int], None] | None = None,
    batch_rows: int | None = None,
    fast: bool = True,
) -> dict[str, Any]:
    """Write the data file, ``manifest.json`` and ``README.md``; return the manifest.

    On PostgreSQL the judgments shape is written by COPY (``export_pg``; Parquet by
    ``export_pg_parquet``) unless ``fast`` is False; both paths write the same data
    (the same bytes for CSV and JSONL) and the same manifest (there the database counts
    the per-item agreement, see ``export_agreement``). ``batch_rows`` (default
    ``QUORUM_EXPORT_BATCH_ROWS``) is also the Parquet row group size.
    """
    batch_rows = batch_rows or int(getattr(settings, "QUORUM_EXPORT_BATCH_ROWS", BATCH_ROWS))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / spec.file_name
    if fast:
        written = _write_fast(workspace, spec, path, progress, batch_rows)
        if written is not None:
            ctx, tally, digest = written
            if progress:
                progress(tally.rows)
            return _finish(ctx, tally, path, out_dir, digest)
    ctx = build_context(workspace, spec)
    shape = SHAPE_CLASSES[spec.shape](ctx)
    schema = shape.schema()
    writer = open_writer(spec.format, path, schema)
    tally = Tally()
    pending: list[tuple[list[Row], float | None]] = []
    pending_rows = 0
    read = 0

    def flush() -> None:
        nonlocal pending, pending_rows
        if not pending:
            return
        item_ids = [group[0].item_id for group, _ in pending]
        overrides = consensus_override(item_ids)
        rows: list[list] = []
        for group, agreement in pending:
            override = overrides.get(group[0].item_id)
            if spec.filters.adjudicated_only and override is None:
                continue
            made = shape.rows(group, agreement, override)
            tally.add(group, agreement, len(made))
            rows.extend(made)
        if rows:
            columns = list(zip(*rows, strict=True))
            writer.write({name: columns[i] for i, name in enumerate(schema.names)})
        pending, pending_rows = [], 0

    counted = ctx.agreement_criteria
    try:
        for group in iter_item_groups(workspace, spec, chunk_size=batch_rows):
            read += len(group)
            agreement = item_agreement(group, counted)
            minimum = spec.filters.min_agreement
            if minimum is not None and (agreement is None or agreement < minimum):
                continue
            pending.append((group, agreement))
            pending_rows += len(group)
            if pending_rows >= batch_rows:
                flush()
                if progress:
                    progress(read)
        flush()
    finally:
        writer.close()
    if progress:
        progress(read)
    return _finish(ctx, tally, path, out_dir)


def _write_fast(
    workspace: Workspace,
    spec: ExportSpec,
    path: Path,
    progress: Callable[[int], None] | None,
    batch_rows: int,
) -> tuple[Context, Tally, dict[str, Any] | None] | None:
    """The PostgreSQL paths of the judgments shape; ``None`` when the export needs rows."""
    from . import export_pg

    if not export_pg.applies(spec):
        return None
    first = build_context(workspace, spec, scan=False)
    if first.mixed:
        return None  # rows of both kinds of queue: each row's columns differ
    if spec.format == "parquet":
        from . import export_pg_parquet

        ctx = first
        schema = SHAPE_CLASSES[spec.shape](ctx).schema()
        try:
            seen = export_pg_parquet.write(ctx, schema, path, progress, batch_rows)
        except export_pg_parquet.UseRowPath:
            return None
        agreement = seen["agreement"] or sum_agreements(ctx)
        return ctx, _tally(seen["rows"], seen["items"], seen["reviewers"], agreement), None

    def write() -> tuple[Context, dict[str, Any]]:
        ctx = build_context(workspace, spec)
        if (ctx.counts or {}).get("edited"):
            raise export_pg.UseRowPath("a judgment was edited after the snapshot")
        return ctx, export_pg.write_judgments(ctx, path)

    # The agreement needs only the criteria (an index lookup per rubric version), so
    # it starts before the scan that finds the reviewers and counts the rows.
    try:
        (ctx, digest), agreement = with_agreement(first, write)
    except export_pg.UseRowPath:
        return None
    counts = ctx.counts or {"rows": 0, "items": 0}
    return ctx, _tally(counts["rows"], counts["items"], set(ctx.reviewers), agreement), digest


def _tally(rows: int, items: int, reviewers: set[int], agreement: tuple[float, int]) -> Tally:
    total, agreement_items = agreement
    return Tally(
        rows=rows,
        items=items,
        judgments=rows,
        reviewers=reviewers,
        agreement_sum=total,
        agreement_items=agreement_items,
    )


T = TypeVar("T")


def sum_agreements(ctx: Context, stop: threading.Event | None = None) -> tuple[float, int]:
    """The exported items' agreement (sum, items) in item order.

    From the typed answer columns when they give it exactly, else from one query
    over the answers' JSON. Stops early once ``stop`` is set (the write failed: the
    figure will not be used).
    """
    from .export_agreement import chunk_agreements, countable_from_columns, item_agreements

    if countable_from_columns(ctx):
        return chunk_agreements(ctx, stop)
    total, items = 0.0, 0
    for value in item_agreements(ctx):
        if stop is not None and stop.is_set():
            break
        total += value
        items += 1
    return total, items


def with_agreement(ctx: Context, write: Callable[[], T]) -> tuple[T, tuple[float, int]]:
    """Run ``write()`` and sum the exported items' agreement (sum, items).

    In a worker (no transaction open) the agreement query runs at the same time, on a
    second connection; inside a transaction (a request, a test) a second connection
    could not see its rows, so the two run one after the other.
    """
    stop = threading.Event()

    def agreement() -> tuple[float, int]:
        return sum_agreements(ctx, stop)

    if connection.in_atomic_block:
        result = write()
        return result, agreement()

    def on_own_connection() -> tuple[float, int]:
        try:
            connection.ensure_connection()
            return agreement()
        finally:
            connections.close_all()  # this thread's connections only

    with (
        short_switch_interval(),  # the COPY readers wait less for the counting thread
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="quorum-agreement") as pool,
    ):
        counted = pool.submit(on_own_connection)
        try:
            result = write()
        except BaseException:
            stop.set()
            raise
        return result, counted.result()


def _finish(
    ctx: Context, tally: Tally, path: Path, out_dir: Path, digest: dict[str, Any] | None = None
) -> dict[str, Any]:
    manifest = build_manifest(ctx, tally, [digest or file_digest(path)])
    readme = out_dir / "README.md"
    readme.write_text(render_readme(manifest), encoding="utf-8")
    manifest["files"].append(file_digest(readme))
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
