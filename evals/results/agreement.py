"""A queue's agreement report: per criterion, per cohort, and across cohorts on shared items.

The judgments are read with one query into pandas; the numbers come from
``evals.stats.agreement``. All sets of ratings in one report share the same bootstrap
resamples of the queue's items.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models.fields.json import KT
from django.utils import timezone

from annotate.models import Cohort, Criterion, CriterionKind, Judgment, Queue
from annotate.pairwise import PREFERENCE_CHOICES, PREFERENCE_KEY
from evals.stats import agreement

LEVEL_BY_KIND = {
    CriterionKind.PASS_FAIL: "nominal",
    CriterionKind.CATEGORICAL: "nominal",
    CriterionKind.LIKERT: "ordinal",
    CriterionKind.NUMERIC: "interval",
}


@dataclass
class Spec:
    """One criterion as the report sees it."""

    key: str
    name: str
    kind: str
    level: str
    categories: list[Any] | None


def report_resamples() -> int:
    return int(getattr(settings, "QUORUM_AGREEMENT_RESAMPLES", 200))


def criterion_specs(queue: Queue, criteria: list[Criterion]) -> list[Spec]:
    specs = []
    for criterion in criteria:
        level = LEVEL_BY_KIND.get(criterion.kind)
        if level is None:
            continue  # free text has no agreement
        categories: list[Any] | None = None
        if criterion.kind == CriterionKind.PASS_FAIL:
            categories = ["pass", "fail"]
        elif criterion.kind == CriterionKind.CATEGORICAL:
            categories = [str(option["value"]) for option in criterion.options]
        elif criterion.kind == CriterionKind.LIKERT:
            categories = [int(level["value"]) for level in criterion.levels]
        specs.append(Spec(criterion.key, criterion.name, criterion.kind, level, categories))
    if queue.kind == Queue.Kind.PAIRWISE and PREFERENCE_KEY not in {s.key for s in specs}:
        specs.insert(
            0, Spec(PREFERENCE_KEY, "Preference", "preference", "nominal", PREFERENCE_CHOICES)
        )
    return specs


def load_ratings(queue: Queue, specs: list[Spec]) -> pd.DataFrame:
    """The queue's judgments in one query: item, reviewer, time spent, one column per criterion.

    Each criterion's answer is extracted by the database (``answers ->> key``), so no
    JSON is parsed in Python. Gold items are left out: every reviewer grades them,
    against a known answer.
    """
    extracted = {f"c{index}": KT(f"answers__{spec.key}") for index, spec in enumerate(specs)}
    rows = list(
        Judgment.objects.filter(queue=queue, item__is_gold=False)
        .annotate(**extracted)
        .values_list("item_id", "reviewer_id", "time_spent_ms", *extracted)
    )
    frame = pd.DataFrame(rows, columns=["item", "reviewer", "time_ms", *extracted])
    for index, spec in enumerate(specs):
        frame[spec.key] = normalize(frame.pop(f"c{index}"), spec)
    return frame


TRUE_TEXT = {"true", "1", "True"}
FALSE_TEXT = {"false", "0", "False"}


def normalize(raw: pd.Series, spec: Spec) -> pd.Series:
    """Database text (or numbers, on SQLite) to answer values; None where unanswered."""
    missing = raw.isna().to_numpy()
    text = raw.astype(object).where(~missing, "").astype(str).to_numpy(dtype=object)
    if spec.kind == CriterionKind.PASS_FAIL:
        values = np.where(
            np.isin(text, list(TRUE_TEXT)),
            "pass",
            np.where(np.isin(text, list(FALSE_TEXT)), "fail", None),
        )
        return pd.Series(values, index=raw.index, dtype=object)
    if spec.level == "nominal":
        keep = ~missing
        if spec.categories:
            keep &= np.isin(text, [str(c) for c in spec.categories])
        return pd.Series(np.where(keep, text, None), index=raw.index, dtype=object)
    return pd.to_numeric(raw, errors="coerce").astype(np.float64)


def load_cohorts(queue: Queue) -> tuple[dict[int, str], dict[int, list[int]]]:
    """The queue's cohorts (id -> name) and, per reviewer, the queue cohorts they belong to."""
    cohorts = dict(queue.cohorts.order_by("name").values_list("id", "name"))
    members: dict[int, list[int]] = {}
    links = Cohort.members.through.objects.filter(cohort_id__in=list(cohorts)).values_list(
        "cohort_id", "user_id"
    )
    for cohort_id, user_id in links:
        members.setdefault(user_id, []).append(cohort_id)
    return cohorts, members


def _consensus(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """One value per (item, group): the unique mode, the lower median, or the mean."""
    if level == "interval" or level == "ratio":
        return frame.groupby(["item", "group"], as_index=False)["value"].mean()
    if level == "ordinal":
        grouped = frame.groupby(["item", "group"])["value"]
        return grouped.quantile(0.5, interpolation="lower").reset_index()
    counts = frame.groupby(["item", "group", "value"]).size().rename("n").reset_index()
    top = counts.groupby(["item", "group"])["n"].transform("max")
    winners = counts[counts["n"] == top]
    unique = winners.groupby(["item", "group"])["value"].transform("size") == 1
    return winners[unique][["item", "group", "value"]]


def _run(
    frame: pd.DataFrame,
    rater_column: str,
    spec: Spec,
    resampler: agreement.Resampler,
    all_items: np.ndarray,
    pairs: bool = True,
) -> dict[str, Any] | None:
    if frame.empty:
        return None
    ratings = agreement.prepare(
        frame["item"].to_numpy(),
        frame[rater_column].to_numpy(),
        frame["value"].to_numpy(dtype=object) if spec.level == "nominal" else frame["value"],
        spec.level,
        spec.categories if spec.level != "interval" else None,
    )
    columns = np.searchsorted(all_items, ratings.item_labels.astype(np.int64))
    n_categories = len(spec.categories) if spec.categories else None
    return agreement.compute(
        ratings,
        resamples=resampler.resamples,
        resampler=resampler,
        item_columns=columns,
        pairs=pairs,
        n_categories=n_categories,
    )


def build_report(
    judgments: pd.DataFrame,
    specs: list[Spec],
    cohorts: dict[int, str],
    members: dict[int, list[int]],
    resamples: int,
    seed: int = 0,
    on_criterion: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The report from already-loaded judgments (no database access).

    ``on_criterion(done, total)`` is called after each criterion (a job's heartbeat).
    """
    all_items = np.unique(judgments["item"].to_numpy(dtype=np.int64))
    resampler = agreement.Resampler(len(all_items), resamples, seed)
    reviewer_cohorts = judgments["reviewer"].map(lambda r: members.get(r, []))
    sections = []
    for spec in specs:
        frame = _criterion_frame(judgments, spec, reviewer_cohorts)
        sections.append(_section(frame, spec, cohorts, resampler, all_items))
        if on_criterion is not None:
            on_criterion(len(sections), len(specs))
    return {
        "judgment_count": len(judgments),
        "item_count": len(all_items),
        "reviewer_count": int(judgments["reviewer"].nunique()),
        "resamples": resamples,
        "criteria": sections,
    }


def _criterion_frame(
    judgments: pd.DataFrame, spec: Spec, reviewer_cohorts: pd.Series
) -> pd.DataFrame:
    """The judgments that answer ``spec``: item, reviewer, value and the reviewer's cohorts."""
    column = judgments[spec.key]
    present = column.notna()
    frame = pd.DataFrame(
        {
            "item": judgments["item"][present].to_numpy(),
            "reviewer": judgments["reviewer"][present].to_numpy(),
            "value": column[present].to_numpy(),
            "cohorts": reviewer_cohorts[present].to_numpy(),
        }
    )
    if spec.level != "nominal":
        frame["value"] = frame["value"].astype(np.float64)
    return frame


def _section(
    frame: pd.DataFrame,
    spec: Spec,
    cohorts: dict[int, str],
    resampler: agreement.Resampler,
    all_items: np.ndarray,
) -> dict[str, Any]:
    """One criterion: all reviewers, each cohort alone, and each pair of cohorts."""
    overall = _run(frame, "reviewer", spec, resampler, all_items)
    exploded = frame.explode("cohorts").dropna(subset=["cohorts"])
    exploded = exploded.rename(columns={"cohorts": "group"})
    return {
        "key": spec.key,
        "name": spec.name,
        "kind": spec.kind,
        "level": spec.level,
        "overall": overall,
        "cohorts": _per_cohort(exploded, spec, cohorts, resampler, all_items),
        "across_cohorts": _across_cohorts(exploded, spec, cohorts, resampler, all_items),
    }


def _per_cohort(
    exploded: pd.DataFrame,
    spec: Spec,
    cohorts: dict[int, str],
    resampler: agreement.Resampler,
    all_items: np.ndarray,
) -> list[dict[str, Any]]:
    """Agreement among each cohort's reviewers (one row per rating per cohort in ``group``)."""
    rows = []
    for cohort_id, name in cohorts.items():
        subset = exploded[exploded["group"] == cohort_id]
        result = _run(subset, "reviewer", spec, resampler, all_items, pairs=False)
        if result is not None:
            rows.append({"id": cohort_id, "name": name, "result": result})
    return rows


def _across_cohorts(
    exploded: pd.DataFrame,
    spec: Spec,
    cohorts: dict[int, str],
    resampler: agreement.Resampler,
    all_items: np.ndarray,
) -> list[dict[str, Any]]:
    """Agreement between the consensus of two cohorts, on the items both rated."""
    if len(cohorts) < 2 or exploded.empty:
        return []
    rows = []
    consensus = _consensus(exploded[["item", "group", "value"]], spec.level)
    for first, second in itertools.combinations(cohorts, 2):
        pair = consensus[consensus["group"].isin([first, second])]
        shared = pair.groupby("item")["group"].transform("nunique") == 2
        pair = pair[shared]
        result = _run(pair, "group", spec, resampler, all_items, pairs=False)
        if result is not None:
            rows.append(
                {
                    "cohorts": [cohorts[first], cohorts[second]],
                    "shared_items": int(pair["item"].nunique()),
                    "result": result,
                }
            )
    return rows


def queue_report(
    queue: Queue,
    resamples: int | None = None,
    on_criterion: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The full agreement report of a queue, JSON-ready."""
    specs = criterion_specs(queue, list(queue.rubric_version.criteria.all()))
    judgments = load_ratings(queue, specs)
    cohorts, members = load_cohorts(queue)
    report = build_report(
        judgments,
        specs,
        cohorts,
        members,
        report_resamples() if resamples is None else resamples,
        on_criterion=on_criterion,
    )
    report["queue"] = queue.pk
    report["computed_at"] = timezone.now().isoformat()
    return report


def headline(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per criterion: overall alpha with its interval, for tables and the trend plot."""
    rows = []
    for section in report.get("criteria", []):
        overall = section.get("overall") or {}
        alpha = (overall.get("coefficients") or {}).get("krippendorff_alpha") or {}
        rows.append(
            {
                "key": section["key"],
                "name": section["name"],
                "level": section["level"],
                "alpha": alpha.get("value"),
                "ci_low": alpha.get("ci_low"),
                "ci_high": alpha.get("ci_high"),
                "n_items": alpha.get("n_items", 0),
                "reading": alpha.get("reading", ""),
            }
        )
    return rows
