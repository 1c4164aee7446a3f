"""One row of a judgments file to import, checked as a reviewer's answer is.

``parse_row`` reads a row of the judgments export's shape for a rubric queue (the
output, models and an ``answer_<key>`` per criterion) or a pairwise one (the pair and
the preference), checks it against the rubric version and returns it as ``Parsed``;
``item_key`` is the item's content as a key, to match rows to existing items.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from annotate.judging import UNKNOWN, validate_answers
from annotate.models import Criterion, Queue
from annotate.pairs import PairError, pair_fields
from annotate.pairwise import to_screen, validate_pairwise
from annotate.text import nested_text_problem
from evals.exports.pairwise import PREFERENCE_PREFIX, PREFERENCES
from evals.exports.writers import canonical_json, parse_time

ANSWER_PREFIX = "answer_"


@dataclass
class Parsed:
    number: int
    item: dict[str, Any]
    item_key: str
    reviewer: str
    cohorts: list[str]
    answers: dict[str, Any]
    time_spent_ms: int
    revision: int
    created_at: Any
    updated_at: Any


def _json_field(value: Any, default: Any, name: str) -> Any:
    if value in (None, ""):
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"{name} is not valid JSON.") from None
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number.") from None
    if number < 0 or number > 2**31 - 1:
        raise ValueError(f"{name} is out of range.")
    return number


def _reviewer(raw: dict[str, Any]) -> str:
    reviewer = _text(raw.get("reviewer")).strip()
    if not reviewer:
        raise ValueError("reviewer is missing.")
    if len(reviewer) > 200:
        raise ValueError("reviewer is longer than 200 characters.")
    return reviewer


def _item_json(raw: dict[str, Any]) -> tuple[list, dict]:
    messages = _json_field(raw.get("input_messages"), [], "input_messages")
    metadata = _json_field(raw.get("item_metadata"), {}, "item_metadata")
    if not isinstance(messages, list):
        raise ValueError("input_messages must be a JSON list.")
    if not isinstance(metadata, dict):
        raise ValueError("item_metadata must be a JSON object.")
    return messages, metadata


def _rubric_row(raw: dict[str, Any], criteria) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(reviewer, item fields, answers) of a row for a rubric queue."""
    output = _text(raw.get("output"))
    if not output.strip():
        raise ValueError("output is missing.")
    reviewer = _reviewer(raw)
    messages, metadata = _item_json(raw)
    item = {
        "input_text": _text(raw.get("input_text")),
        "input_messages": messages,
        "output": output,
        "model_name": _text(raw.get("model_name"))[:200],
        "model_version": _text(raw.get("model_version"))[:200],
        "metadata": metadata,
    }
    answers_raw = {
        key[len(ANSWER_PREFIX) :]: value
        for key, value in raw.items()
        if key.startswith(ANSWER_PREFIX) and value not in (None, "")
    }
    answers, errors = validate_answers(criteria, answers_raw)
    if errors:
        message = "; ".join(
            f"{key}: {text}" if key != UNKNOWN else text for key, text in sorted(errors.items())
        )
        raise ValueError(message)
    return reviewer, item, answers


# Pair columns of the export and the keys ``annotate.pairs.pair_fields`` reads them as.
PAIR_COLUMNS = {
    "input_text": "input",
    "output_a": "output_a",
    "model_name_a": "model_a",
    "model_version_a": "version_a",
    "output_b": "output_b",
    "model_name_b": "model_b",
    "model_version_b": "version_b",
}
CRITERION_PREFERENCES = ("a", "b", "tie")


def _pair_item(raw: dict[str, Any]) -> dict[str, Any]:
    """The item fields of a row for a pairwise queue, checked as pairs are when added."""
    messages, metadata = _item_json(raw)
    row: dict[str, Any] = {key: _text(raw.get(column)) for column, key in PAIR_COLUMNS.items()}
    for column in ("model_name_a", "model_version_a", "model_name_b", "model_version_b"):
        if len(row[PAIR_COLUMNS[column]].strip()) > 200:
            raise ValueError(f"{column} is longer than 200 characters.")
    try:
        fields = pair_fields({**row, "input_messages": messages, "metadata": metadata})
    except PairError as exc:
        raise ValueError(str(exc)) from None
    fields.setdefault("input_messages", [])
    return fields


def _pair_answers(queue: Queue, criteria: list[Criterion], raw: dict[str, Any]) -> dict:
    """A pairwise judgment's answers from a row, in the outputs' terms, cleaned as a
    reviewer's are; ``shown_left`` unknown (empty) leaves ``a_on_left`` unknown."""
    choice = _text(raw.get("preferred")).strip()
    if not choice:
        raise ValueError("preferred is missing.")
    if choice not in PREFERENCES:
        raise ValueError("preferred must be a, b, tie or both_bad.")
    shown = _text(raw.get("shown_left")).strip()
    if shown not in ("", "a", "b"):
        raise ValueError("shown_left must be a or b.")
    a_on_left = shown != "b"  # unknown: checked as if output A was on the left
    asked = {c.key for c in criteria if c.pairwise_preference}
    given: dict[str, str] = {}
    for column, value in raw.items():
        if not column.startswith(PREFERENCE_PREFIX) or value in (None, ""):
            continue
        key, value = column[len(PREFERENCE_PREFIX) :], _text(value).strip()
        if key not in asked:
            raise ValueError(f"{column}: the rubric asks no preference on {key}.")
        if value not in CRITERION_PREFERENCES:
            raise ValueError(f"{column} must be a, b or tie.")
        given[key] = to_screen(value, a_on_left)
    strength = raw.get("strength")
    strength = "" if strength in (None, "") else str(_int(strength, 0, "strength"))
    screen = {
        "choice": to_screen(choice, a_on_left),
        "strength": strength,
        "rationale": raw.get("rationale"),
        "criteria": given,
    }
    answers, errors = validate_pairwise(queue, a_on_left, criteria, screen)
    if errors:
        names = {"choice": "preferred"} | {f"pc-{key}": PREFERENCE_PREFIX + key for key in asked}
        raise ValueError(
            "; ".join(
                f"{names[key]} is missing."
                if key.startswith("pc-")
                else f"{names.get(key, key)}: {text}"
                for key, text in sorted(errors.items())
            )
        )
    if not shown:
        answers["a_on_left"] = answers["chose_left"] = None
    return answers


def parse_row(number: int, raw: dict[str, Any], criteria, queue: Queue | None = None) -> Parsed:
    """One file row checked against the rubric (a pairwise ``queue``'s: as a pair).
    Raises ValueError with the row's problem."""
    if raw.get("__invalid__"):
        raise ValueError("This line is not a JSON object.")
    problem = nested_text_problem(raw)
    if problem:
        raise ValueError(f"{problem}.")
    if queue is not None and queue.kind == Queue.Kind.PAIRWISE:
        reviewer = _reviewer(raw)
        item = _pair_item(raw)
        answers = _pair_answers(queue, criteria, raw)
    else:
        reviewer, item, answers = _rubric_row(raw, criteria)
    try:
        created_at = parse_time(raw["created_at"]) if raw.get("created_at") else None
        updated_at = parse_time(raw["updated_at"]) if raw.get("updated_at") else created_at
    except (TypeError, ValueError):
        raise ValueError("created_at and updated_at must be ISO 8601 times.") from None
    cohorts = [name.strip() for name in _text(raw.get("cohorts")).split(";") if name.strip()]
    return Parsed(
        number=number,
        item=item,
        item_key=item_key(item),
        reviewer=reviewer,
        cohorts=cohorts,
        answers=answers,
        time_spent_ms=_int(raw.get("time_spent_ms"), 0, "time_spent_ms"),
        revision=max(1, _int(raw.get("revision"), 1, "revision")),
        created_at=created_at,
        updated_at=updated_at,
    )


PAIR_FIELDS = ("output_b", "model_name_b", "model_version_b")


def item_key(fields: dict[str, Any]) -> str:
    """The item's content as a key; a pair's (``output_b`` given) includes output B."""
    content = {
        "input_text": fields["input_text"],
        "input_messages": fields["input_messages"] or [],
        "output": fields["output"],
        "model_name": fields["model_name"],
        "model_version": fields["model_version"],
        "metadata": fields["metadata"] or {},
    }
    if "output_b" in fields:
        content |= {name: fields[name] for name in PAIR_FIELDS}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()
