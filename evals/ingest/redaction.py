"""Masking personal data in logs before they are stored, configured per source.

``Source.redaction`` is a dict such as::

    {"enabled": true, "emails": true, "phones": true, "dates_of_birth": true,
     "record_patterns": ["MRN[- ]?\\d{6,10}"]}

Everything here is plain string work: ``find_spans`` says what would be masked
(the preview uses it), ``redact_text`` masks it. See docs/engineer.md for what it
does not catch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from annotate.text import text_problem

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Phone numbers: an optional +country code, then 7+ digits with spaces, dots, dashes
# or brackets between groups. Starts and ends on a digit (or "+" / "(").
PHONE = re.compile(
    r"(?<![\w.])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,5}\)[\s.\-]?)?\d[\d\s.\-]{5,16}\d(?![\w])"
)
_DATE = (
    r"(?:\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{4}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4})"
)
# A date is a date of birth only next to a cue: "DOB", "date of birth", "born (on)".
DATE_OF_BIRTH = re.compile(
    r"(?i)\b(?:d\.?o\.?b\.?|date\s+of\s+birth|born(?:\s+on)?|birth\s*date)\s*[:#\-]?\s*("
    + _DATE
    + r")"
)

MASKS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "record": "[RECORD]",
    "dob": "[DOB]",
}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


class RedactionConfigError(ValueError):
    pass


def is_enabled(config: dict[str, Any] | None) -> bool:
    return (
        bool(config)
        and bool(config.get("enabled", True))
        and any(config.get(k) for k in ("emails", "phones", "dates_of_birth", "record_patterns"))
    )


@lru_cache(maxsize=64)
def _compile_records(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise RedactionConfigError(f"Bad record-number pattern {pattern!r}: {exc}") from exc
    return tuple(compiled)


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """A cleaned config; raises RedactionConfigError for a pattern that does not compile
    (or holds text that cannot be stored)."""
    patterns = [p for p in (config.get("record_patterns") or []) if str(p).strip()]
    for pattern in patterns:
        if problem := text_problem(str(pattern)):
            raise RedactionConfigError(f"The pattern {pattern!r} {problem}.")
    _compile_records(tuple(patterns))
    return {
        "enabled": bool(config.get("enabled", True)),
        "emails": bool(config.get("emails")),
        "phones": bool(config.get("phones")),
        "dates_of_birth": bool(config.get("dates_of_birth")),
        "record_patterns": patterns,
    }


def find_spans(text: str, config: dict[str, Any]) -> list[Span]:
    """Non-overlapping spans to mask, in text order. Record patterns win over phones."""
    if not text or not is_enabled(config):
        return []
    found: list[Span] = []
    for pattern in _compile_records(tuple(config.get("record_patterns") or [])):
        found += [Span(m.start(), m.end(), "record") for m in pattern.finditer(text)]
    if config.get("emails"):
        found += [Span(m.start(), m.end(), "email") for m in EMAIL.finditer(text)]
    if config.get("dates_of_birth"):
        found += [Span(m.start(1), m.end(1), "dob") for m in DATE_OF_BIRTH.finditer(text)]
    if config.get("phones"):
        found += [
            Span(m.start(), m.end(), "phone")
            for m in PHONE.finditer(text)
            if sum(c.isdigit() for c in m.group()) >= 7
        ]
    kept: list[Span] = []
    end = -1
    for span in sorted(found, key=lambda s: (s.start, -(s.end - s.start))):
        if span.start >= end and span.end > span.start:
            kept.append(span)
            end = span.end
    return kept


def redact_text(text: str, config: dict[str, Any]) -> tuple[str, int]:
    """The masked text and the number of masks applied."""
    spans = find_spans(text, config)
    if not spans:
        return text, 0
    out, pos = [], 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(MASKS[span.kind])
        pos = span.end
    out.append(text[pos:])
    return "".join(out), len(spans)


def segments(text: str, config: dict[str, Any]) -> list[tuple[str, str]]:
    """The text cut into (kind, piece) pairs, kind "" for kept text: for the preview."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    for span in find_spans(text, config):
        if span.start > pos:
            pieces.append(("", text[pos : span.start]))
        pieces.append((span.kind, text[span.start : span.end]))
        pos = span.end
    if pos < len(text):
        pieces.append(("", text[pos:]))
    return pieces


def redact_value(value: Any, config: dict[str, Any]) -> tuple[Any, int]:
    """Mask every string inside a JSON value (messages, metadata, feedback)."""
    if isinstance(value, str):
        return redact_text(value, config)
    if isinstance(value, list):
        total, items = 0, []
        for v in value:
            masked, n = redact_value(v, config)
            items.append(masked)
            total += n
        return items, total
    if isinstance(value, dict):
        total, out = 0, {}
        for k, v in value.items():
            masked, n = redact_value(v, config)
            out[k] = masked
            total += n
        return out, total
    return value, 0


REDACTED_FIELDS = ("input_text", "input_messages", "output", "metadata", "feedback")


def redact_record(record: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Mask the free-text fields of a normalized log record; marks it redacted."""
    if not is_enabled(config):
        return record
    for field in REDACTED_FIELDS:
        record[field], _ = redact_value(record[field], config)
    record["redacted"] = True
    return record
