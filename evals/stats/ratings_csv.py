"""Reading long-format ratings from CSV (item, rater, value; optional criterion, level).

Every bad row gets its own error naming the CSV line and what is wrong with it; the
good rows are still analysed, grouped by criterion.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from evals.stats import agreement

REQUIRED = ("item", "rater", "value")
ALL_CRITERIA = "all"


@dataclass
class Group:
    level: str
    line: int  # where the level was first set, for messages
    items: list[str] = field(default_factory=list)
    raters: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    seen: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass
class Parsed:
    groups: dict[str, Group]
    errors: list[dict[str, Any]]
    rows: int
    missing_values: int


class CsvError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


def _number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError
    return number


class _BadRow(ValueError):
    """One row that cannot be used; the message says what is wrong with it."""


def parse(lines: Iterable[str], default_level: str = "nominal") -> Parsed:
    """The good rows grouped by criterion, and one error per bad row naming its CSV line."""
    reader = csv.DictReader(lines)
    n_columns = _read_header(reader, default_level)
    parsed = Parsed(groups={}, errors=[], rows=0, missing_values=0)
    for row in reader:
        parsed.rows += 1
        line = reader.line_num
        try:
            _add_row(parsed, row, line, n_columns, default_level)
        except _BadRow as exc:
            parsed.errors.append({"line": line, "error": str(exc)})
    return parsed


def _read_header(reader: csv.DictReader, default_level: str) -> int:
    """Check the header and the default level, set the cleaned header; the number of columns."""
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        raise CsvError("The file is empty: expected a header row with item, rater, value.")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise CsvError(
            "Missing column(s): " + ", ".join(missing) + ". Expected item, rater, value "
            "and optionally criterion, level."
        )
    reader.fieldnames = header
    if default_level not in agreement.LEVELS:
        raise CsvError(
            f"Unknown level {default_level!r}: use one of {', '.join(agreement.LEVELS)}."
        )
    return len(header)


def _add_row(
    parsed: Parsed, row: dict[str | None, Any], line: int, n_columns: int, default_level: str
) -> None:
    """Add one row to its criterion's group (an empty value is only counted as missing)."""
    if None in row:
        raise _BadRow(f"has {n_columns + len(row[None])} fields; the header has {n_columns}.")
    item = (row.get("item") or "").strip()
    rater = (row.get("rater") or "").strip()
    value = (row.get("value") or "").strip()
    criterion = (row.get("criterion") or "").strip() or ALL_CRITERIA
    level = (row.get("level") or "").strip().lower() or default_level
    if not item:
        raise _BadRow("the item is empty.")
    if not rater:
        raise _BadRow("the rater is empty.")
    if level not in agreement.LEVELS:
        raise _BadRow(f"unknown level {level!r}; use one of {', '.join(agreement.LEVELS)}.")
    group = _group(parsed.groups, criterion, level, line)
    if not value:
        parsed.missing_values += 1
        return
    parsed_value = _value(value, level)
    earlier = group.seen.get((item, rater))
    if earlier is not None:
        raise _BadRow(f"rater {rater!r} already rated item {item!r} on line {earlier}.")
    group.seen[(item, rater)] = line
    group.items.append(item)
    group.raters.append(rater)
    group.values.append(parsed_value)


def _group(groups: dict[str, Group], criterion: str, level: str, line: int) -> Group:
    """The criterion's group, created with this row's level; every row must share it."""
    group = groups.get(criterion)
    if group is None:
        group = groups[criterion] = Group(level=level, line=line)
    elif group.level != level:
        raise _BadRow(
            f"level {level!r} for criterion {criterion!r} conflicts with "
            f"{group.level!r} on line {group.line}."
        )
    return group


def _value(value: str, level: str) -> Any:
    """The value as text (nominal) or as a number that the level accepts."""
    if level == "nominal":
        return value
    try:
        number = _number(value)
    except ValueError:
        raise _BadRow(
            f"value {value!r} is not a number, and level {level!r} needs numbers."
        ) from None
    if level == "ratio" and number < 0:
        raise _BadRow(f"value {value!r} is negative; ratio data cannot be.")
    return number


def analyse(
    text: str, default_level: str = "nominal", resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Every coefficient per criterion of a long-format CSV, plus the per-row errors."""
    parsed = parse(io.StringIO(text), default_level)
    criteria = {}
    for name, group in parsed.groups.items():
        if not group.values:
            continue
        criteria[name] = agreement.agreement(
            group.items, group.raters, group.values, group.level, resamples=resamples, seed=seed
        )
    return {
        "rows": parsed.rows,
        "rows_used": sum(len(group.values) for group in parsed.groups.values()),
        "missing_values": parsed.missing_values,
        "errors": parsed.errors,
        "criteria": criteria,
    }
