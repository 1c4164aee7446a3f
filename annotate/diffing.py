"""A word-level diff of two outputs, for the optional highlight on the pairwise page.

The result is a list of (text, changed) runs per side; the template renders each run
escaped, in a ``<mark>`` when it changed. Nothing here produces HTML.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

MAX_TOKENS = 6000
_TOKENS = re.compile(r"\s+|[^\s]+")

Runs = list[tuple[str, bool]]


def _merge(runs: Runs) -> Runs:
    merged: Runs = []
    for text, changed in runs:
        if merged and merged[-1][1] == changed:
            merged[-1] = (merged[-1][0] + text, changed)
        else:
            merged.append((text, changed))
    return merged


def word_diff(left: str, right: str) -> tuple[Runs, Runs] | None:
    """Runs of unchanged and changed words on each side; None when the texts are too long."""
    left_tokens = _TOKENS.findall(left or "")
    right_tokens = _TOKENS.findall(right or "")
    if len(left_tokens) + len(right_tokens) > MAX_TOKENS:
        return None
    matcher = SequenceMatcher(None, left_tokens, right_tokens, autojunk=False)
    left_runs: Runs = []
    right_runs: Runs = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        changed = tag != "equal"
        left_runs.append(("".join(left_tokens[i1:i2]), changed))
        right_runs.append(("".join(right_tokens[j1:j2]), changed))
    return _merge([r for r in left_runs if r[0]]), _merge([r for r in right_runs if r[0]])
