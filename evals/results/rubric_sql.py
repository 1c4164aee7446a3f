"""The two grouped queries behind a queue's results, as layered SQL.

Each answer is pulled out of the JSON once (layer 1, the ORM's own query for the
filtered judgments), turned into a value and a 0..1 score (layer 2), combined into the
weighted score (layer 3), then grouped and summed (layer 4). Layers 2 and 3 are fenced
(``OFFSET 0``) so the database computes each expression once per judgment instead of
inlining it into every aggregate. Works the same on PostgreSQL and SQLite; scoring rules
are those of ``evals.stats.scoring`` (the tests check both give the same numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate

from annotate.models import Criterion, Judgment
from evals.stats import scoring


@dataclass
class Column:
    """One criterion's columns in layer 2: ``v<i>`` (value) and ``s<i>`` (score or NULL)."""

    criterion: Criterion
    index: int
    scored: bool

    @property
    def value(self) -> str:
        return f"v{self.index}"

    @property
    def score(self) -> str:
        return f"s{self.index}"


def _float_type() -> str:
    return "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"


def _fence() -> str:
    return " OFFSET 0" if connection.vendor == "postgresql" else " LIMIT -1 OFFSET 0"


def _text_forms(value: Any, kind: str) -> list[str]:
    """How a JSON answer looks as text after ``->>`` on PostgreSQL and on SQLite."""
    if kind == "pass_fail":
        return ["true", "1"] if value else ["false", "0"]
    if kind == "likert":
        return [str(int(value)), f"{float(value)}"]
    return [str(value)]


def _case(text: str, pairs: list[tuple[list[str], float]], params: list[Any]) -> str:
    ftype = _float_type()
    whens = []
    for forms, number in pairs:
        marks = ", ".join(["%s"] * len(forms))
        whens.append(f"WHEN {text} IN ({marks}) THEN CAST(%s AS {ftype})")
        params.extend([*forms, float(number)])
    return "CASE " + " ".join(whens) + " END" if whens else "NULL"


def _value_sql(column: Column, text: str, params: list[Any]) -> str:
    """Layer 2: the answer as a number (likert level, pass 1 / fail 0, numeric) or text."""
    kind = column.criterion.kind
    if kind == "categorical":
        return text
    if kind in ("numeric", "likert"):  # validated numbers (judging.validate_answers)
        return f"CAST({text} AS {_float_type()})"
    return _case(text, [(_text_forms(True, kind), 1.0), (_text_forms(False, kind), 0.0)], params)


def _category_score_sql(column: Column, text: str, params: list[Any]) -> str:
    mapping = scoring.score_map(column.criterion) or {}
    pairs = [([str(value)], score) for value, score in mapping.items()]
    return _case(text, pairs, params)


def _score_sql(column: Column) -> str:
    """Layer 3: the 0..1 score from layer 2's value (rules in ``evals.stats.scoring``)."""
    criterion, v = column.criterion, column.value
    if criterion.kind == "categorical":
        return f"c{column.index}"
    if criterion.kind == "pass_fail":
        return v
    if criterion.kind == "likert":
        levels = [value for value, _ in scoring.levels(criterion)]
        low, high = min(levels), max(levels)
    else:
        low, high = float(criterion.config["min"]), float(criterion.config["max"])
    span = float(high - low)
    return (
        f"CASE WHEN {v} IS NULL THEN NULL WHEN {v} <= {float(low)!r} THEN 0.0 "
        f"WHEN {v} >= {float(high)!r} THEN 1.0 ELSE ({v} - {float(low)!r}) / {span!r} END"
    )


def columns_for(criteria: Sequence[Criterion]) -> list[Column]:
    return [
        Column(c, i, scoring.is_scored(c))
        for i, c in enumerate(c for c in criteria if c.kind in scoring.SCORED_KINDS)
    ]


def scored_rows_sql(
    judgments: QuerySet[Judgment], criteria: Sequence[Criterion]
) -> tuple[str, list[Any], list[Column]]:
    """SQL for one row per judgment: mv, neg, day, v<i>, s<i> (scored only), w (weighted)."""
    columns = columns_for(criteria)
    base = (
        judgments.annotate(
            mv=F("item__model_version"),
            neg=F("item__source_log__feedback_negative"),
            day=TruncDate("created_at"),
            **{f"a{c.index}": KeyTextTransform(c.criterion.key, "answers") for c in columns},
        )
        .values("mv", "neg", "day", *[f"a{c.index}" for c in columns])
        .order_by()
    )
    base_sql, base_params = base.query.sql_with_params()
    params: list[Any] = []
    select = ["b.mv AS mv", "b.neg AS neg", "b.day AS day"]
    for c in columns:
        text = f"CAST(b.a{c.index} AS TEXT)"
        select.append(f"{_value_sql(c, text, params)} AS {c.value}")
        if c.criterion.kind == "categorical" and c.scored:
            select.append(f"{_category_score_sql(c, text, params)} AS c{c.index}")
    layer2 = f"SELECT {', '.join(select)} FROM ({base_sql}) b{_fence()}"
    scored = [c for c in columns if c.scored]
    scores = "".join(f", {_score_sql(c)} AS {c.score}" for c in scored)
    layer3 = f"SELECT l2.*{scores} FROM ({layer2}) l2{_fence()}"
    if scored:
        total = " + ".join(
            f"COALESCE({c.score}, 0) * {float(c.criterion.weight)!r}" for c in scored
        )
        weights = " + ".join(
            f"CASE WHEN {c.score} IS NULL THEN 0 ELSE {float(c.criterion.weight)!r} END"
            for c in scored
        )
        weighted = f"({total}) / NULLIF({weights}, 0)"
    else:
        weighted = "NULL"
    layer4 = f"SELECT l3.*, {weighted} AS w FROM ({layer3}) l3{_fence()}"
    # Layer 2's select list comes before the FROM (base) in the text: its params go first.
    return layer4, [*params, *base_params], columns


def grouped(
    judgments: QuerySet[Judgment],
    criteria: Sequence[Criterion],
    group_by: list[str],
    aggregates: dict[str, str],
) -> list[tuple]:
    """Run ``SELECT <group_by>, <aggregates> FROM (per-judgment rows) GROUP BY <group_by>``.

    ``group_by`` and ``aggregates`` name layer-3 columns (mv, neg, day, v<i>, s<i>, w);
    they come from code, never from a request.
    """
    sql, params, _ = scored_rows_sql(judgments, criteria)
    select = [*group_by, *(f"{expr} AS {alias}" for alias, expr in aggregates.items())]
    query = f"SELECT {', '.join(select)} FROM ({sql}) r GROUP BY {', '.join(group_by)}"
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()
