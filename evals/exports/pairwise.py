"""Pairwise judgments in the judgments and items shapes: columns named for the outputs.

A pairwise judgment is stored in terms of the item's outputs (``annotate.pairwise``):
``preference`` (``a``, ``b``, ``tie``, ``both_bad``), ``strength`` (1 slightly, 2 clearly),
``rationale``, ``criteria`` (``{key: a | b | tie}``) and ``a_on_left`` (where output A
was shown). The export writes both outputs with their models (``output_a``,
``model_version_a``, ``output_b``, ...), the preference as an output (``preferred``)
and as the model behind it (``preferred_model_name``, ``preferred_model_version``),
where output A was shown (``shown_left``) and on which side the chosen output was
(``preferred_side``), the strength, the rationale and one ``preference_<key>`` per
criterion the rubric asks a preference on. The screen side never stands alone.

These columns appear only when the export holds pairwise judgments, so a rubric
export is what it always was; an export of both kinds leaves each row's columns of the
other kind empty. The per-item agreement of a pairwise item counts the overall
preference as a nominal answer, as the queue's agreement report does
(``agreement_report.criterion_specs``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from annotate.pairwise import PREFERENCE_CHOICES, PREFERENCE_KEY
from evals.exports.rows import Context, Row
from evals.exports.writers import json_text

PREFERENCES = tuple(PREFERENCE_CHOICES)
SIDES = {True: "a", False: "b"}  # a_on_left -> shown_left
PREFERENCE_PREFIX = "preference_"

RUBRIC_OUTPUT_COLUMNS = [
    ("output", pa.string()),
    ("model_name", pa.string()),
    ("model_version", pa.string()),
]
PAIR_OUTPUT_COLUMNS = [
    ("output_a", pa.string()),
    ("model_name_a", pa.string()),
    ("model_version_a", pa.string()),
    ("output_b", pa.string()),
    ("model_name_b", pa.string()),
    ("model_version_b", pa.string()),
]
PAIR_JUDGMENT_COLUMNS = [
    ("preferred", pa.string()),
    ("preferred_model_name", pa.string()),
    ("preferred_model_version", pa.string()),
    ("shown_left", pa.string()),
    ("preferred_side", pa.string()),
    ("strength", pa.int64()),
    ("rationale", pa.string()),
]


def output_columns(ctx: Context) -> list[tuple[str, pa.DataType]]:
    """The item's output columns: a rubric item's, a pair's, or both in a mixed export."""
    columns = list(RUBRIC_OUTPUT_COLUMNS) if ctx.rubric_rows else []
    return columns + (PAIR_OUTPUT_COLUMNS if ctx.pairwise else [])


def judgment_columns(ctx: Context) -> list[tuple[str, pa.DataType]]:
    """The columns a pairwise judgment adds after the answers (none in a rubric export)."""
    if not ctx.pairwise:
        return []
    return PAIR_JUDGMENT_COLUMNS + [
        (PREFERENCE_PREFIX + key, pa.string()) for key in ctx.preference_keys
    ]


def output_cells(row: Row, ctx: Context) -> list[Any]:
    """``output_columns`` of one row: the other kind's cells are empty."""
    pair = row.queue_id in ctx.pairwise_queues
    cells: list[Any] = []
    if ctx.rubric_rows:
        cells += [None] * 3 if pair else [row.output, row.model_name, row.model_version]
    if ctx.pairwise:
        cells += (
            [
                row.output,
                row.model_name,
                row.model_version,
                row.output_b,
                row.model_name_b,
                row.model_version_b,
            ]
            if pair
            else [None] * 6
        )
    return cells


def preferred(answers: dict[str, Any]) -> str | None:
    value = answers.get(PREFERENCE_KEY)
    return value if isinstance(value, str) and value in PREFERENCES else None


def shown_left(a_on_left: Any) -> str | None:
    """``a`` or ``b``: the output shown on the left (unknown unless a boolean was stored)."""
    return SIDES[a_on_left] if isinstance(a_on_left, bool) else None


def preferred_side(preference: str | None, a_on_left: Any) -> str | None:
    """``left`` or ``right``: where the chosen output was (none for a tie or both bad)."""
    if preference not in ("a", "b") or not isinstance(a_on_left, bool):
        return None
    return "left" if (preference == "a") == a_on_left else "right"


def _text(value: Any) -> str | None:
    """Free text as the answer columns write it: other JSON values as their JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json_text(value)


def judgment_cells(row: Row, ctx: Context) -> list[Any]:
    """``judgment_columns`` of one row (all empty for a rubric judgment)."""
    if row.queue_id not in ctx.pairwise_queues:
        return [None] * (len(PAIR_JUDGMENT_COLUMNS) + len(ctx.preference_keys))
    answers = row.answers or {}
    choice = preferred(answers)
    a_on_left = answers.get("a_on_left")
    strength = answers.get("strength")
    by_criterion = answers.get("criteria")
    by_criterion = by_criterion if isinstance(by_criterion, dict) else {}
    names = {"a": (row.model_name, row.model_version), "b": (row.model_name_b, row.model_version_b)}
    name, version = names.get(choice or "", (None, None))
    return [
        choice,
        name,
        version,
        shown_left(a_on_left),
        preferred_side(choice, a_on_left),
        strength if isinstance(strength, int) and not isinstance(strength, bool) else None,
        _text(answers.get("rationale")),
        *(_categorical(by_criterion.get(key)) for key in ctx.preference_keys),
    ]


def _categorical(value: Any) -> Any:
    return value if isinstance(value, str) else None


def preference_consensus(group: Sequence[Row]) -> tuple[str | None, float | None]:
    """The majority preference of an item's judgments (None on a tie) and its share."""
    votes = [row.answers.get(PREFERENCE_KEY) for row in group]
    votes = [v for v in votes if v in PREFERENCES]
    if not votes:
        return None, None
    counts = Counter(votes).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None, None
    return counts[0][0], counts[0][1] / len(votes)


def consensus_preferred(group: Sequence[Row], override: dict | None) -> str | None:
    """The item's preference: the adjudicated one, else the majority (a tie gives null)."""
    if override is not None and override.get(PREFERENCE_KEY) in PREFERENCES:
        return override[PREFERENCE_KEY]
    return preference_consensus(group)[0]
