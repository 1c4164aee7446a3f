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
OPTIONAL = ("criterion", "level")
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


def parse(lines: Iterable[str], default_level: str = "nominal") -> Parsed:
    reader = csv.DictReader(lines)
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
    groups: dict[str, Group] = {}
    errors: list[dict[str, Any]] = []
    rows = missing_values = 0
    for row in reader:
        rows += 1
        line = reader.line_num

        def bad(message: str, line: int = line) -> None:
            errors.append({"line": line, "error": message})

        if None in row:
            bad(f"has {len(header) + len(row[None])} fields; the header has {len(header)}.")
            continue
        item = (row.get("item") or "").strip()
        rater = (row.get("rater") or "").strip()
        value = (row.get("value") or "").strip()
        criterion = (row.get("criterion") or "").strip() or ALL_CRITERIA
        level = (row.get("level") or "").strip().lower() or default_level
        if not item:
            bad("the item is empty.")
            continue
        if not rater:
            bad("the rater is empty.")
            continue
        if level not in agreement.LEVELS:
            bad(f"unknown level {level!r}; use one of {', '.join(agreement.LEVELS)}.")
            continue
        group = groups.get(criterion)
        if group is None:
            group = groups[criterion] = Group(level=level, line=line)
        elif group.level != level:
            bad(
                f"level {level!r} for criterion {criterion!r} conflicts with "
                f"{group.level!r} on line {group.line}."
            )
            continue
        if not value:
            missing_values += 1
            continue
        parsed: Any = value
        if level != "nominal":
            try:
                parsed = _number(value)
            except ValueError:
                bad(f"value {value!r} is not a number, and level {level!r} needs numbers.")
                continue
            if level == "ratio" and parsed < 0:
                bad(f"value {value!r} is negative; ratio data cannot be.")
                continue
        earlier = group.seen.get((item, rater))
        if earlier is not None:
            bad(f"rater {rater!r} already rated item {item!r} on line {earlier}.")
            continue
        group.seen[(item, rater)] = line
        group.items.append(item)
        group.raters.append(rater)
        group.values.append(parsed)
    return Parsed(groups, errors, rows, missing_values)


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
