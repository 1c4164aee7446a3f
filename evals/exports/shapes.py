"""The rows of each export shape, and the per-item numbers they need.

Pure functions over the rows of one item (``exports.Row``) and the export's
``exports.Context``: percent agreement, consensus, weighted rubric score, and the
``Shape`` classes that turn an item's judgments into output rows.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import pyarrow as pa

from annotate.models import Criterion, CriterionKind, RubricVersion
from evals.exports import pairwise as pairwise
from evals.exports.pairwise import PREFERENCES, preference_consensus
from evals.exports.rows import AGREEMENT_KINDS, Context, Row
from evals.exports.writers import json_text

SCORED_KINDS = (CriterionKind.LIKERT, CriterionKind.PASS_FAIL, CriterionKind.NUMERIC)


# --- Per-item numbers -------------------------------------------------------------------


def item_agreement(group: Sequence[Row], criteria: Sequence[Criterion]) -> float | None:
    """Simple percent agreement of the judgments on one item (see module doc)."""
    shares = []
    for criterion in criteria:
        if criterion.kind not in AGREEMENT_KINDS:
            continue
        values = [row.answers[criterion.key] for row in group if criterion.key in row.answers]
        share = pair_share(values)
        if share is not None:
            shares.append(share)
    return mean_share(shares)


def pair_share(values: Sequence[Any]) -> float | None:
    """The share of pairs of answers (to one criterion on one item) that are equal.

    Answers are counted by value (equal numbers, and ``True`` and ``1``, count as one
    value, as ``==`` has it), so the equal pairs are the sum of ``c * (c - 1) / 2``
    over the counts: the same integers, hence the same float, as comparing every
    pair (``pair_share_by_pairs``), in one pass. Unhashable answers (lists, objects)
    are compared pair by pair.
    """
    n = len(values)
    if n < 2:
        return None
    counts: dict[Any, int] = {}
    try:
        for value in values:
            counts[value] = counts.get(value, 0) + 1
    except TypeError:
        return pair_share_by_pairs(values)
    same = sum(c * (c - 1) for c in counts.values()) // 2
    return same / (n * (n - 1) // 2)


def pair_share_by_pairs(values: Sequence[Any]) -> float | None:
    """``pair_share`` by its definition: every pair compared."""
    pairs = list(combinations(values, 2))
    if not pairs:
        return None
    return sum(a == b for a, b in pairs) / len(pairs)


def mean_share(shares: Sequence[float]) -> float | None:
    """One item's agreement: its criteria's shares averaged, in criteria order, rounded."""
    if not shares:
        return None
    return round(sum(shares) / len(shares), 6)


def consensus(group: Sequence[Row], criterion: Criterion) -> Any:
    values = [row.answers[criterion.key] for row in group if criterion.key in row.answers]
    if not values or criterion.kind == CriterionKind.FREE_TEXT:
        return None
    if criterion.kind in (CriterionKind.LIKERT, CriterionKind.NUMERIC):
        return float(statistics.median(values))
    counts = Counter(values).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0]


def _scale(criterion: Criterion) -> tuple[float, float] | None:
    if criterion.kind == CriterionKind.LIKERT and criterion.levels:
        values = [float(level["value"]) for level in criterion.levels]
        return min(values), max(values)
    if criterion.kind == CriterionKind.NUMERIC:
        low, high = criterion.config.get("min"), criterion.config.get("max")
        if low is not None and high is not None and float(high) > float(low):
            return float(low), float(high)
    return None


def weighted_score(answers: dict[str, Any], criteria: Sequence[Criterion]) -> float | None:
    """The judgment's rubric score in [0, 1]: scored criteria normalized, weighted mean."""
    total = weight = 0.0
    for criterion in criteria:
        if criterion.kind not in SCORED_KINDS or criterion.key not in answers:
            continue
        value = answers[criterion.key]
        if criterion.kind == CriterionKind.PASS_FAIL:
            score = 1.0 if value else 0.0
        else:
            bounds = _scale(criterion)
            if bounds is None:
                continue
            score = (float(value) - bounds[0]) / (bounds[1] - bounds[0])
        total += criterion.weight * score
        weight += criterion.weight
    return total / weight if weight else None


# --- Shapes -----------------------------------------------------------------------------


ANSWER_TYPES = {
    CriterionKind.LIKERT: pa.int64(),
    CriterionKind.PASS_FAIL: pa.bool_(),
    CriterionKind.CATEGORICAL: pa.string(),
    CriterionKind.NUMERIC: pa.float64(),
    CriterionKind.FREE_TEXT: pa.string(),
}
CONSENSUS_TYPES = {
    CriterionKind.LIKERT: pa.float64(),
    CriterionKind.NUMERIC: pa.float64(),
    CriterionKind.PASS_FAIL: pa.bool_(),
    CriterionKind.CATEGORICAL: pa.string(),
}
ITEM_COLUMNS = [
    ("item_id", pa.int64()),
    ("queue_id", pa.int64()),
    ("queue", pa.string()),
    ("input_text", pa.string()),
    ("input_messages", pa.string()),
    ("output", pa.string()),
    ("model_name", pa.string()),
    ("model_version", pa.string()),
    ("item_metadata", pa.string()),
]
JUDGMENT_COLUMNS = [
    ("judgment_id", pa.int64()),
    *ITEM_COLUMNS,
    ("reviewer", pa.string()),
    ("cohorts", pa.string()),
    ("rubric", pa.string()),
    ("rubric_version", pa.int64()),
    ("time_spent_ms", pa.int64()),
    ("revision", pa.int64()),
    ("created_at", pa.timestamp("us", tz="UTC")),
    ("updated_at", pa.timestamp("us", tz="UTC")),
]
LONG_COLUMNS = [
    *JUDGMENT_COLUMNS,
    ("criterion", pa.string()),
    ("kind", pa.string()),
    ("value", pa.string()),
    ("value_number", pa.float64()),
]
SFT_SCHEMA = pa.schema(
    [("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])))]
)


def _answer_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == CriterionKind.FREE_TEXT and not isinstance(value, str):
        return json_text(value)
    return value


def item_columns(ctx: Context) -> list[tuple[str, pa.DataType]]:
    """``ITEM_COLUMNS`` with the outputs of the kinds of queue the export holds (a rubric
    export's are ``ITEM_COLUMNS``; see ``evals.exports.pairwise``)."""
    if not ctx.pairwise:
        return ITEM_COLUMNS
    return ITEM_COLUMNS[:5] + pairwise.output_columns(ctx) + ITEM_COLUMNS[-1:]


def judgment_columns(ctx: Context) -> list[tuple[str, pa.DataType]]:
    """``JUDGMENT_COLUMNS`` with ``item_columns``."""
    if not ctx.pairwise:
        return JUDGMENT_COLUMNS
    return JUDGMENT_COLUMNS[:1] + item_columns(ctx) + JUDGMENT_COLUMNS[1 + len(ITEM_COLUMNS) :]


def _item_cells(row: Row, ctx: Context | None = None) -> list[Any]:
    if ctx is not None and ctx.pairwise:
        outputs = pairwise.output_cells(row, ctx)
    else:
        outputs = [row.output, row.model_name, row.model_version]
    return [
        row.item_id,
        row.queue_id,
        row.queue,
        row.input_text,
        json_text(row.input_messages or []),
        *outputs,
        json_text(row.metadata or {}),
    ]


def _judgment_cells(
    row: Row, ctx: Context, versions: dict[int, RubricVersion], outputs: bool = False
) -> list[Any]:
    """The judgment's columns; with ``outputs``, its item's as ``item_columns`` has them."""
    reviewer = ctx.reviewers[row.reviewer_id]
    version = versions[row.rubric_version_id]
    return [
        row.id,
        *_item_cells(row, ctx if outputs else None),
        reviewer.label,
        reviewer.cohorts,
        version.rubric.name,
        version.number,
        row.time_spent_ms,
        row.revision,
        row.created_at,
        row.updated_at,
    ]


class Shape:
    """Turns item groups into rows of one schema."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.versions = {v.pk: v for v in ctx.versions}
        self.criteria = ctx.criteria

    def schema(self) -> pa.Schema:
        raise NotImplementedError

    def rows(self, group: list[Row], agreement: float | None, override: dict | None) -> list[list]:
        raise NotImplementedError


class JudgmentsShape(Shape):
    def schema(self) -> pa.Schema:
        answers = [
            (f"answer_{c.key}", ANSWER_TYPES[self.ctx.kind_of(c.key)]) for c in self.criteria
        ]
        return pa.schema(judgment_columns(self.ctx) + answers + pairwise.judgment_columns(self.ctx))

    def rows(self, group, agreement, override):
        kinds = [self.ctx.kind_of(c.key) for c in self.criteria]
        if self.ctx.pairwise:
            return [self._row(row, kinds) for row in group]
        return [
            _judgment_cells(row, self.ctx, self.versions)
            + [
                _answer_value(row.answers.get(c.key), kind)
                for c, kind in zip(self.criteria, kinds, strict=True)
            ]
            for row in group
        ]

    def _row(self, row: Row, kinds: list[str]) -> list[Any]:
        """A row of an export that holds pairwise judgments (their answers are not
        criteria's: ``evals.exports.pairwise`` writes them)."""
        pair = row.queue_id in self.ctx.pairwise_queues
        answers = [
            None if pair else _answer_value(row.answers.get(c.key), kind)
            for c, kind in zip(self.criteria, kinds, strict=True)
        ]
        return [
            *_judgment_cells(row, self.ctx, self.versions, outputs=True),
            *answers,
            *pairwise.judgment_cells(row, self.ctx),
        ]


class LongShape(Shape):
    def schema(self) -> pa.Schema:
        return pa.schema(LONG_COLUMNS)

    def rows(self, group, agreement, override):
        out = []
        for row in group:
            base = _judgment_cells(row, self.ctx, self.versions)
            for criterion in self.ctx.criteria_by_version[row.rubric_version_id]:
                if criterion.key not in row.answers:
                    continue
                value = row.answers[criterion.key]
                number = (
                    float(value)
                    if isinstance(value, int | float) and not isinstance(value, bool)
                    else None
                )
                text = (
                    ("pass" if value else "fail")
                    if isinstance(value, bool)
                    else value
                    if isinstance(value, str)
                    else json_text(value)
                )
                out.append([*base, criterion.key, criterion.kind, text, number])
        return out


class ItemsShape(Shape):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.criteria = [c for c in ctx.criteria if ctx.kind_of(c.key) in CONSENSUS_TYPES]

    def schema(self) -> pa.Schema:
        consensus_columns = [
            (f"consensus_{c.key}", CONSENSUS_TYPES[self.ctx.kind_of(c.key)]) for c in self.criteria
        ]
        if self.ctx.pairwise:
            consensus_columns.append(("consensus_preferred", pa.string()))
        return pa.schema(
            item_columns(self.ctx)
            + [
                ("judgments", pa.int64()),
                ("agreement", pa.float64()),
                ("adjudicated", pa.bool_()),
            ]
            + consensus_columns
        )

    def rows(self, group, agreement, override):
        first = group[0]
        if self.ctx.pairwise and first.queue_id in self.ctx.pairwise_queues:
            values = [None] * len(self.criteria)
            values.append(pairwise.consensus_preferred(group, override))
            cells = _item_cells(first, self.ctx)
            return [[*cells, len(group), agreement, override is not None, *values]]
        values = []
        for criterion in self.criteria:
            if override is not None and criterion.key in override:
                value = override[criterion.key]
                if CONSENSUS_TYPES[self.ctx.kind_of(criterion.key)] == pa.float64():
                    value = None if value is None else float(value)
            else:
                value = consensus(group, criterion)
            values.append(value)
        if self.ctx.pairwise:
            values.append(None)
        cells = _item_cells(first, self.ctx)
        return [[*cells, len(group), agreement, override is not None, *values]]


class SftShape(Shape):
    def schema(self) -> pa.Schema:
        return SFT_SCHEMA

    def rows(self, group, agreement, override):
        scores = [
            weighted_score(row.answers, self.ctx.criteria_by_version[row.rubric_version_id])
            for row in group
        ]
        scores = [s for s in scores if s is not None]
        if not scores or sum(scores) / len(scores) < self.ctx.spec.sft_threshold:
            return []
        first = group[0]
        messages = [
            {"role": str(m.get("role", "user")), "content": str(m.get("content", ""))}
            for m in (first.input_messages or [])
            if isinstance(m, dict)
        ]
        if not messages:
            messages = [{"role": "user", "content": first.input_text}]
        messages.append({"role": "assistant", "content": first.output})
        return [[messages]]


MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
PREFERENCE_SCHEMA = pa.schema(
    [
        ("item_id", pa.int64()),
        ("prompt", pa.list_(MESSAGE)),
        ("chosen", pa.list_(MESSAGE)),
        ("rejected", pa.list_(MESSAGE)),
        ("label", pa.string()),
        ("judgments", pa.int64()),
        ("agreement", pa.float64()),
        ("chosen_model_version", pa.string()),
        ("rejected_model_version", pa.string()),
    ]
)


def prompt_messages(row: Row) -> list[dict[str, str]]:
    messages = [
        {"role": str(m.get("role", "user")), "content": str(m.get("content", ""))}
        for m in (row.input_messages or [])
        if isinstance(m, dict)
    ]
    return messages or [{"role": "user", "content": row.input_text}]


class PreferenceShape(Shape):
    """Pairs for reward models and DPO: prompt, chosen, rejected (TRL's conversational form).

    ``a`` is the item's ``output`` and ``b`` its ``output_b``. Items without a second
    output or without a majority are left out; ties and both-bad are left out unless
    ``keep_ties``, in which case chosen is ``a``, rejected ``b`` and ``label`` says so.
    ``chosen_model_version`` and ``rejected_model_version`` follow chosen and rejected.
    """

    def schema(self) -> pa.Schema:
        return PREFERENCE_SCHEMA

    def rows(self, group, agreement, override):
        first = group[0]
        if not first.output_b:
            return []
        label, share = preference_consensus(group)
        if override is not None and override.get("preference") in PREFERENCES:
            label = override["preference"]
        if label is None or (label in ("tie", "both_bad") and not self.ctx.spec.keep_ties):
            return []
        a = ([{"role": "assistant", "content": first.output}], first.model_version)
        b = ([{"role": "assistant", "content": first.output_b}], first.model_version_b)
        (chosen, chosen_version), (rejected, rejected_version) = (b, a) if label == "b" else (a, b)
        return [
            [
                first.item_id,
                prompt_messages(first),
                chosen,
                rejected,
                label,
                len(group),
                None if share is None else round(share, 6),
                chosen_version,
                rejected_version,
            ]
        ]


SHAPE_CLASSES: dict[str, type[Shape]] = {
    "judgments": JudgmentsShape,
    "judgments_long": LongShape,
    "items": ItemsShape,
    "sft": SftShape,
    "preferences": PreferenceShape,
}
