"""Load the frames ``evals.judges.compare`` needs from the database, and chart configs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from annotate.models import Criterion, CriterionKind, Judgment, RubricVersion
from evals.judges.compare import CriterionComparison, CriterionSpec
from evals.models import JudgeEndpoint, JudgeResult

MAX_NUMERIC_VALUES = 50
PAIR_VALUES = ("a", "b", "tie", "both_bad")


def _categories(criterion: Criterion) -> tuple[Any, ...]:
    if criterion.kind == CriterionKind.LIKERT:
        return tuple(int(level["value"]) for level in criterion.levels)
    if criterion.kind == CriterionKind.PASS_FAIL:
        return (True, False)
    if criterion.kind == CriterionKind.CATEGORICAL:
        return tuple(str(option["value"]) for option in criterion.options)
    if criterion.kind == CriterionKind.NUMERIC:
        low, high = criterion.config.get("min"), criterion.config.get("max")
        step = criterion.config.get("step") or 1
        if low is None or high is None or (high - low) / step + 1 > MAX_NUMERIC_VALUES:
            return ()
        count = int(round((high - low) / step)) + 1
        return tuple(_tidy(low + n * step) for n in range(count))
    return ()


def _tidy(number: float) -> float | int:
    return int(number) if float(number).is_integer() else round(number, 9)


def specs(version: RubricVersion, *, pairwise: bool = False) -> list[CriterionSpec]:
    """What can be compared: the rubric's criteria, or for pairs the overall preference and
    each per-criterion preference (flattened as ``criteria.<key>``)."""
    if pairwise:
        return [
            CriterionSpec("preference", "Overall preference", "categorical", PAIR_VALUES),
            *(
                CriterionSpec(f"criteria.{c.key}", c.name, "categorical", PAIR_VALUES[:3])
                for c in version.criteria.filter(pairwise_preference=True)
            ),
        ]
    return [
        CriterionSpec(key=c.key, name=c.name, kind=c.kind, categories=_categories(c))
        for c in version.criteria.all()
    ]


def _flat(answers: dict | None) -> dict[str, Any]:
    """Answers with nested dicts (pairwise ``criteria``) flattened to ``outer.inner`` keys."""
    out: dict[str, Any] = {}
    for key, value in (answers or {}).items():
        if isinstance(value, dict):
            out.update({f"{key}.{inner}": v for inner, v in value.items()})
        else:
            out[key] = value
    return out


def label(spec: CriterionSpec, value: Any) -> str:
    if spec.kind == CriterionKind.PASS_FAIL:
        return "Pass" if value else "Fail"
    return str(value)


def frames(endpoint: JudgeEndpoint, version: RubricVersion) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Human judgments and the endpoint's latest usable result on every item it judged."""
    results = (
        JudgeResult.objects.filter(
            endpoint=endpoint,
            rubric_version=version,
            item__isnull=False,
            status__in=[JudgeResult.Status.OK, JudgeResult.Status.INCONSISTENT],
        )
        .order_by("created_at", "id")
        .values_list("item_id", "answers", "created_at")
    )
    latest: dict[int, tuple[dict, Any]] = {}
    for item_id, answers, at in results:
        latest[item_id] = (_flat(answers), at)
    judge_rows = [
        {"item": item, "criterion": key, "value": value, "at": at}
        for item, (answers, at) in latest.items()
        for key, value in answers.items()
    ]
    judgments = (
        Judgment.objects.filter(item_id__in=list(latest), rubric_version=version)
        .select_related("queue")
        .values_list("item_id", "reviewer_id", "queue_id", "answers")
    )
    cohort_of = _cohorts(version)
    human_rows = [
        {
            "item": item,
            "rater": reviewer,
            "cohort": cohort_of.get((queue, reviewer), ""),
            "criterion": key,
            "value": value,
        }
        for item, reviewer, queue, answers in judgments
        for key, value in _flat(answers).items()
    ]
    human = pd.DataFrame(human_rows, columns=["item", "rater", "cohort", "criterion", "value"])
    judge = pd.DataFrame(judge_rows, columns=["item", "criterion", "value", "at"])
    return human, judge


def _cohorts(version: RubricVersion) -> dict[tuple[int, int], str]:
    """(queue, reviewer) -> the name of the queue's cohort the reviewer grades in."""
    out: dict[tuple[int, int], str] = {}
    for queue in version.queues.prefetch_related("cohorts__members"):
        for cohort in sorted(queue.cohorts.all(), key=lambda c: c.name, reverse=True):
            for member in cohort.members.all():
                out[(queue.pk, member.pk)] = cohort.name
    return out


# --- Chart.js configs (drawn by static/js/charts.js) ---------------------------------------


def drift_chart(result: CriterionComparison) -> dict[str, Any]:
    periods = [row["period"] for row in result.drift]
    return {
        "type": "line",
        "data": {
            "labels": periods,
            "datasets": [
                {"label": "kappa", "data": [row["kappa"] for row in result.drift]},
                {"label": "alpha", "data": [row["alpha"] for row in result.drift]},
                {"label": "exact agreement", "data": [row["exact"] for row in result.drift]},
            ],
        },
        "options": {"scales": {"y": {"min": -1, "max": 1}}},
    }


def cohort_chart(result: CriterionComparison) -> dict[str, Any]:
    names = ["All humans", *result.cohorts]
    values = [result.consensus, *result.cohorts.values()]
    return {
        "type": "bar",
        "data": {
            "labels": names,
            "datasets": [
                {"label": "kappa", "data": [v.kappa for v in values]},
                {"label": "alpha", "data": [v.alpha for v in values]},
            ],
        },
        "options": {"scales": {"y": {"min": -1, "max": 1}}},
    }
