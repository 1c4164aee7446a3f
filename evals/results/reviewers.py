"""Reviewer quality: volume, speed, agreement with the others, gold accuracy, skips, outliers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from annotate import gold
from annotate.models import Assignment, Queue, ReviewerPause
from evals.results.agreement import Spec, criterion_specs, load_cohorts, load_ratings
from evals.stats import agreement

OUTLIER_Z = 2.5


def agreement_with_others(frame: pd.DataFrame) -> pd.DataFrame:
    """Per reviewer: pairs of ratings (theirs, another's, same item) and how many match."""
    same = frame.groupby(["item", "value"])["reviewer"].transform("size") - 1
    others = frame.groupby("item")["reviewer"].transform("size") - 1
    return (
        pd.DataFrame({"reviewer": frame["reviewer"], "agree": same, "pairs": others})
        .groupby("reviewer")[["agree", "pairs"]]
        .sum()
    )


def _robust_z(values: pd.Series) -> pd.Series:
    median = values.median()
    mad = (values - median).abs().median() * 1.4826
    if not np.isfinite(mad) or mad == 0:
        return pd.Series(0.0, index=values.index)
    return (values - median) / mad


def reviewer_quality(queue: Queue) -> list[dict[str, Any]]:
    """One row per reviewer of the queue, with what is unusual within their cohort flagged."""
    criteria = list(queue.rubric_version.criteria.all())
    specs = criterion_specs(queue, criteria)
    judgments = load_ratings(queue, specs)  # gold items are not in it
    cohorts, members = load_cohorts(queue)
    assignments = _assignment_counts(queue)
    agree, loo = _agreement_by_reviewer(judgments, specs)
    accuracy = gold.accuracy(queue, criteria)
    paused = dict(
        ReviewerPause.objects.filter(queue=queue, lifted_at__isnull=True).values_list(
            "reviewer_id", "reason"
        )
    )
    reviewer_ids = sorted(set(judgments["reviewer"].tolist()) | set(assignments))
    users = get_user_model().objects.in_bulk(reviewer_ids)
    rows = []
    for reviewer_id in reviewer_ids:
        mine = judgments[judgments["reviewer"] == reviewer_id]
        assignment = assignments.get(reviewer_id, {"total": 0, "skipped": 0})
        user = users.get(reviewer_id)
        rows.append(
            {
                "reviewer_id": reviewer_id,
                "name": (user.get_full_name() or user.get_username()) if user else "?",
                "cohorts": [cohorts[c] for c in members.get(reviewer_id, [])],
                "judgments": len(mine),
                "median_seconds": float(mine["time_ms"].median() / 1000) if len(mine) else None,
                "agreement": _agreement_share(agree, reviewer_id),
                "alpha_without": loo.get(reviewer_id, {}),
                "gold_items": accuracy.get(reviewer_id, {}).get("items", 0),
                "gold_accuracy": accuracy.get(reviewer_id, {}).get("accuracy"),
                "gold_by_criterion": accuracy.get(reviewer_id, {}).get("by_criterion", {}),
                "skip_share": assignment["skipped"] / assignment["total"]
                if assignment["total"]
                else None,
                "paused": paused.get(reviewer_id, ""),
                "flags": [],
            }
        )
    _flag_outliers(rows, cohorts, members)
    return rows


def _assignment_counts(queue: Queue) -> dict[int, dict[str, Any]]:
    """Per reviewer: their assignments in the queue (``total``) and how many they skipped."""
    return {
        row["reviewer_id"]: row
        for row in Assignment.objects.filter(queue=queue)
        .values("reviewer_id")
        .annotate(total=Count("id"), skipped=Count("id", filter=Q(state="skipped")))
        .order_by()
    }


def _agreement_by_reviewer(
    judgments: pd.DataFrame, specs: list[Spec]
) -> tuple[pd.DataFrame, dict[int, dict[str, float | None]]]:
    """Pairs agreed with the others (summed over criteria), and alpha without each reviewer.

    The second is, per reviewer and criterion key, alpha without them minus alpha.
    """
    agree = pd.DataFrame(columns=["agree", "pairs"], dtype=float)
    loo: dict[int, dict[str, float | None]] = {}
    for spec in specs:
        column = judgments[spec.key]
        present = column.notna()
        frame = pd.DataFrame(
            {
                "item": judgments["item"][present].to_numpy(),
                "reviewer": judgments["reviewer"][present].to_numpy(),
                "value": column[present].astype(str).to_numpy(),
            }
        )
        if frame.empty:
            continue
        agree = agree.add(agreement_with_others(frame), fill_value=0)
        values = column[present].to_numpy(dtype=object)
        if spec.level != "nominal":
            values = values.astype(np.float64)
        for reviewer_id, delta in _alpha_without(frame, values, spec.level).items():
            loo.setdefault(reviewer_id, {})[spec.key] = delta
    return agree, loo


def _alpha_without(frame: pd.DataFrame, values: np.ndarray, level: str) -> dict[int, float | None]:
    """Per reviewer: alpha with their ratings left out, minus alpha with everyone's."""
    full = agreement.point_alpha(frame["item"], frame["reviewer"], values, level)
    deltas: dict[int, float | None] = {}
    for reviewer_id in frame["reviewer"].unique():
        keep = (frame["reviewer"] != reviewer_id).to_numpy()
        without = agreement.point_alpha(
            frame["item"][keep], frame["reviewer"][keep], values[keep], level
        )
        deltas[int(reviewer_id)] = None if full is None or without is None else without - full
    return deltas


def _agreement_share(agree: pd.DataFrame, reviewer_id: int) -> float | None:
    """The share of the reviewer's pairs of ratings that match; None without pairs."""
    pairs = agree.loc[reviewer_id] if reviewer_id in agree.index else None
    return float(pairs["agree"] / pairs["pairs"]) if pairs is not None and pairs["pairs"] else None


CHECKS = (  # (field, direction that is bad, message)
    ("agreement", -1, "agrees with the others much less than their cohort"),
    ("median_seconds", -1, "grades much faster than their cohort"),
    ("skip_share", 1, "skips much more than their cohort"),
    ("gold_accuracy", -1, "much less accurate on gold items than their cohort"),
)


def _flag_outliers(rows: list[dict], cohorts: dict[int, str], members: dict[int, list[int]]):
    groups: dict[str, list[dict]] = {}
    for row in rows:
        for cohort_id in members.get(row["reviewer_id"], []) or [None]:
            groups.setdefault(cohorts.get(cohort_id, "No cohort"), []).append(row)
    for group in groups.values():
        if len(group) < 3:
            continue
        for field, direction, message in CHECKS:
            values = pd.Series(
                {id(r): r[field] for r in group if r[field] is not None}, dtype=float
            )
            if len(values) < 3:
                continue
            z = _robust_z(values)
            for row in group:
                flagged = id(row) in z.index and direction * z[id(row)] > OUTLIER_Z
                if flagged and message not in row["flags"]:
                    row["flags"].append(message)
