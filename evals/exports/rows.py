"""Reading the selected judgments with the ORM, in item order, and the context every shape
needs (criteria, rubric versions, reviewers). The ORM reader; ``pg`` is the PostgreSQL one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from itertools import groupby
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from annotate.models import (
    Adjudication,
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
from annotate.pairwise import PREFERENCE_KEY
from annotate.people import Reviewer, reviewer_map
from evals.exports.spec import BATCH_ROWS, ExportSpec

AGREEMENT_KINDS = (
    CriterionKind.LIKERT,
    CriterionKind.PASS_FAIL,
    CriterionKind.CATEGORICAL,
    CriterionKind.NUMERIC,
)


@dataclass(frozen=True)
class PreferenceAnswer:
    """A pairwise judgment's overall preference, counted for agreement like a nominal
    criterion."""

    key: str = PREFERENCE_KEY
    kind: str = CriterionKind.CATEGORICAL


PREFERENCE_ANSWER = PreferenceAnswer()


def consensus_override(item_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The adjudicated answers by item id, ``{item_id: {key: answer}}``.

    The items shape uses them instead of the computed consensus and marks the item
    ``adjudicated``; the ``adjudicated_only`` filter keeps exactly those items.
    """
    found: dict[int, dict[str, Any]] = {}
    ids = list(item_ids)
    for start in range(0, len(ids), 5000):
        rows = Adjudication.objects.filter(item_id__in=ids[start : start + 5000])
        found.update(rows.values_list("item_id", "answers"))
    return found


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
        has none (a pairwise judgment answers with a preference, ``evals.exports.pairwise``).
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
