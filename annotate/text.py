"""The one rule for text Quorum stores: no NUL characters and no lone surrogates.

PostgreSQL refuses a NUL in ``text`` and ``jsonb`` columns, and a lone surrogate (a
``\\ud800`` escape in JSON with no partner) cannot be written as UTF-8 by any database
driver, so either would fail at the database and lose the whole request or file. Every
way in checks text with ``text_problem`` first and refuses it with a message that says
where: the API's schemas (``annotate.api_fields``), uploads (pairs, log ingest, judgment
imports: ``nested_text_problem`` walks a row's keys and values), and the pages' hand-parsed
forms (``check_fields``; Django's form fields refuse NUL themselves, and a form body cannot
carry a lone surrogate: Django decodes it with replacement characters).

``check_fields`` also holds typed text to the model's ``max_length``, so a long name
gets an error beside its field instead of a database error. ``replace_bad_text`` is only
for a free note whose refusal would block the action it comes with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import models

_BAD = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored (a short phrase), or None when it can."""
    found = _BAD.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000)"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not valid Unicode"


def nested_text_problem(value: Any, where: str = "") -> str | None:
    """The first string, dict key included, in nested dicts and lists that breaks the rule,
    as ``"metadata['topic'][0]: <problem>"`` (``where`` names the value itself); None when
    all of it can be stored."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return f"{path}: {problem}" if path else problem
        elif isinstance(node, Mapping):
            for key in node:
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    return f"{path or 'a'} key {key!r} {problem}"
            # Reversed, so the stack pops them in order and the first problem is reported.
            stack.extend((node[key], _step(path, key)) for key in reversed(list(node)))
        elif isinstance(node, list | tuple):
            stack.extend((node[n], f"{path}[{n}]") for n in reversed(range(len(node))))
    return None


def _step(path: str, key: Any) -> str:
    return f"{path}[{key!r}]" if path else str(key)


def replace_bad_text(value: str) -> str:
    """``value`` with each NUL and lone surrogate replaced by U+FFFD, for a free note
    whose refusal would block the action it comes with (a reviewer's skip reason)."""
    return _BAD.sub("\ufffd", value)


def check_fields(model: type[models.Model], **values: Any) -> dict[str, str]:
    """Errors by field name for text about to be written to ``model``'s fields: the text
    rule, and the field's ``max_length``. Empty when every value can be stored."""
    errors: dict[str, str] = {}
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        problem = text_problem(value)
        limit = model._meta.get_field(name).max_length
        if problem:
            errors[name] = f"This text {problem}."
        elif limit is not None and len(value) > limit:
            errors[name] = f"Keep it to {limit} characters (this is {len(value)})."
    return errors
