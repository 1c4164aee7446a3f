"""Turning answers into numbers: parsing raw answers, normalizing them to 0..1, weighting.

Pure pandas code with no Django in it: a criterion is anything with ``key``, ``kind``,
``weight`` and ``config`` attributes (``annotate.models.Criterion`` fits).

How each kind is normalized to a score between 0 (worst) and 1 (best):

- **likert**: ``(value - lowest level) / (highest level - lowest level)``; the levels come
  from the criterion's config, so a 1..5 scale maps 1→0, 3→0.5, 5→1.
- **pass/fail**: pass = 1, fail = 0.
- **categorical**: an option's explicit ``"score"`` (0..1) in the criterion config when any
  option has one; otherwise by position, the first option listed = 1 and the last = 0
  (``1 - index / (options - 1)``). List options best first (e.g. harm: none, mild, severe).
  A categorical criterion with a single option, or none, is not scored.
- **numeric**: ``(value - min) / (max - min)`` when the config has both bounds; otherwise it
  is not scored.
- **free text**: never scored.

The weighted rubric score of one judgment is ``sum(weight * score) / sum(weight)`` over the
scored criteria that judgment answered; an unanswered optional criterion drops out of both
sums rather than counting as zero.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

SCORED_KINDS = ("likert", "pass_fail", "categorical", "numeric")
DISCRETE_KINDS = ("likert", "pass_fail", "categorical")
MEAN_KINDS = ("likert", "numeric")
TRUE_TEXT = {"true", "1", "1.0", "pass", "yes"}
FALSE_TEXT = {"false", "0", "0.0", "fail", "no"}


class CriterionLike(Protocol):
    key: str
    kind: str
    weight: float
    config: dict


def parse(criterion: CriterionLike, raw: pd.Series) -> pd.Series:
    """Raw answers (JSON values, or their text from a SQL ``->>``) as typed values.

    likert/numeric → float, pass/fail → 1.0/0.0, categorical → str; unknown or blank → NaN.
    """
    if criterion.kind in MEAN_KINDS:
        return pd.to_numeric(raw, errors="coerce").astype(float)
    if criterion.kind == "pass_fail":
        text = raw.map(_lower_text)
        return text.map(lambda t: 1.0 if t in TRUE_TEXT else (0.0 if t in FALSE_TEXT else np.nan))
    if criterion.kind == "categorical":
        return raw.map(lambda v: np.nan if v is None or v == "" else str(v)).astype(object)
    return raw


def _lower_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def levels(criterion: CriterionLike) -> list[tuple[Any, str]]:
    """The discrete answers of a criterion in display order, as (value, label) pairs.

    Values are the parsed form: floats for likert, 1.0/0.0 for pass/fail, str for categories.
    """
    if criterion.kind == "likert":
        return [
            (float(level["value"]), str(level.get("label") or level["value"]))
            for level in criterion.config.get("levels", [])
        ]
    if criterion.kind == "pass_fail":
        return [(1.0, "Pass"), (0.0, "Fail")]
    if criterion.kind == "categorical":
        return [
            (str(option["value"]), str(option.get("label") or option["value"]))
            for option in criterion.config.get("options", [])
        ]
    return []


def score_map(criterion: CriterionLike) -> dict[Any, float] | None:
    """For discrete kinds, parsed value → score in 0..1. None when the kind is not discrete."""
    if criterion.kind == "likert":
        values = [value for value, _ in levels(criterion)]
        if len(values) < 2:
            return {}
        low, high = min(values), max(values)
        return {value: (value - low) / (high - low) for value in values}
    if criterion.kind == "pass_fail":
        return {1.0: 1.0, 0.0: 0.0}
    if criterion.kind == "categorical":
        options = criterion.config.get("options", [])
        if any("score" in option for option in options):
            return {
                str(option["value"]): float(option["score"])
                for option in options
                if option.get("score") is not None
            }
        if len(options) < 2:
            return {}
        last = len(options) - 1
        return {str(option["value"]): 1 - index / last for index, option in enumerate(options)}
    return None


def is_scored(criterion: CriterionLike) -> bool:
    if criterion.kind == "numeric":
        return _numeric_bounds(criterion) is not None
    mapping = score_map(criterion)
    return bool(mapping)


def _numeric_bounds(criterion: CriterionLike) -> tuple[float, float] | None:
    low, high = criterion.config.get("min"), criterion.config.get("max")
    if low is None or high is None or float(high) <= float(low):
        return None
    return float(low), float(high)


def normalize(criterion: CriterionLike, parsed: pd.Series) -> pd.Series:
    """Parsed values as scores in 0..1 (NaN where unanswered or not scored)."""
    if criterion.kind == "numeric":
        bounds = _numeric_bounds(criterion)
        if bounds is None:
            return pd.Series(np.nan, index=parsed.index)
        low, high = bounds
        return ((parsed.astype(float) - low) / (high - low)).clip(0.0, 1.0)
    mapping = score_map(criterion)
    if not mapping:
        return pd.Series(np.nan, index=parsed.index)
    return parsed.map(mapping).astype(float)


def weighted_score(criteria: list[CriterionLike], parsed: dict[str, pd.Series]) -> pd.Series:
    """Per row, ``sum(weight * score) / sum(weight)`` over the scored criteria answered."""
    scored = [c for c in criteria if c.kind in SCORED_KINDS and is_scored(c) and c.key in parsed]
    if not scored:
        return pd.Series(dtype=float)
    index = parsed[scored[0].key].index
    total = pd.Series(0.0, index=index)
    weights = pd.Series(0.0, index=index)
    for criterion in scored:
        score = normalize(criterion, parsed[criterion.key])
        answered = score.notna()
        total += score.fillna(0.0) * float(criterion.weight)
        weights += answered * float(criterion.weight)
    return (total / weights.where(weights > 0)).astype(float)
