"""One raw line of a log file: its limits, its reason codes, and the checks every line takes.

``iter_lines`` reads a binary stream as ``(line number, bytes)`` pairs without ever
holding an oversized line whole; ``decode_line``, ``parse_json_line`` and
``check_shape`` turn one line into a value or raise ``Rejected`` with a reason code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
from django.conf import settings

from annotate.text import text_problem


class Reason:
    """Reason codes for a rejected line (shown in the page and in the API response)."""

    INVALID_JSON = "invalid_json"
    TRUNCATED = "truncated"
    INVALID_UTF8 = "invalid_utf8"
    NUL_BYTE = "nul_byte"
    LINE_TOO_LARGE = "line_too_large"
    FIELD_TOO_LARGE = "field_too_large"
    TOO_DEEP = "too_deep"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_OUTPUT = "missing_output"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_COLUMN = "unknown_column"
    FILE_TOO_LARGE = "file_too_large"


class Format:
    JSONL = "jsonl"
    CSV = "csv"


def max_line_bytes() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_LINE_BYTES", 1024 * 1024)


def max_field_chars() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_FIELD_CHARS", 200_000)


def max_depth() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_DEPTH", 20)


def max_reported() -> int:
    return getattr(settings, "QUORUM_INGEST_MAX_REPORTED", 1000)


class Rejected(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- Parsing one line ---------------------------------------------------------------------


def decode_line(raw: bytes) -> str:
    if b"\x00" in raw:
        raise Rejected(Reason.NUL_BYTE, "The line contains a NUL byte.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(Reason.INVALID_UTF8, f"Not valid UTF-8 at byte {exc.start}.") from None


def parse_json_line(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    # orjson refused it: ask the standard parser why, for a precise reason code.
    stripped = text.strip()
    try:
        json.loads(stripped)
    except RecursionError:
        raise Rejected(Reason.TOO_DEEP, "The JSON is nested too deeply.") from None
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(stripped) or exc.msg.startswith("Unterminated string")
        if at_end and stripped[:1] in "{[":
            raise Rejected(Reason.TRUNCATED, "The line ends before its JSON does.") from None
        raise Rejected(
            Reason.INVALID_JSON, f"Invalid JSON: {exc.msg} at column {exc.colno}."
        ) from None
    except ValueError:
        pass
    raise Rejected(
        Reason.INVALID_JSON, "Invalid JSON: NaN, Infinity, a lone surrogate, or nested too deep."
    )


def check_shape(
    value: Any, text: str = "", depth_limit: int | None = None, chars_limit: int | None = None
) -> None:
    """Reject values nested too deep, with a string over the size limit, or with NUL.

    ``text`` is the line the value was parsed from: strings are only walked when the
    line is long enough to hold an oversized one, or holds an escaped NUL.
    """
    depth_limit = depth_limit or max_depth()
    chars_limit = chars_limit or max_field_chars()
    walk_strings = not text or len(text) > chars_limit or "\\u0000" in text
    if not walk_strings and text.count("{") + text.count("[") < depth_limit:
        return  # too few brackets to nest that deep, too short to hold an oversized field
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > depth_limit:
            raise Rejected(Reason.TOO_DEEP, f"Nested deeper than {depth_limit} levels.")
        children = node.values() if isinstance(node, dict) else node
        if walk_strings and isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif walk_strings and isinstance(child, str):
                _check_string(child, chars_limit)
    if walk_strings and isinstance(value, str):
        _check_string(value, chars_limit)


def _check_string(value: str, chars_limit: int) -> None:
    if len(value) > chars_limit:
        raise Rejected(Reason.FIELD_TOO_LARGE, f"A field is over {chars_limit} characters.")
    problem = text_problem(value)  # the one text rule of every way in
    if problem:
        reason = Reason.NUL_BYTE if "\x00" in value else Reason.INVALID_VALUE
        raise Rejected(reason, f"A field {problem}.")


# --- Reading lines from a stream ----------------------------------------------------------


def iter_lines(stream, first_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """``(number, bytes)`` per line of a binary stream; an oversized line comes back cut short
    but still over the limit, so the parser rejects it without holding all of it."""
    limit = max_line_bytes()
    number = first_line
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:  # skip the rest of the long line
                rest = stream.readline(limit)
                if not rest or rest.endswith(b"\n"):
                    break
        yield number, raw
        number += 1
