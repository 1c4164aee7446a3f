"""Pairwise results of a queue: loads its judgments, computes the leaderboards with
``evals.stats.leaderboard`` (overall and per cohort), the position-bias audit and swap
consistency, and stores them as the queue's ``LeaderboardSnapshot``.

A variant is "model version" (model name and version of one output). Judgments where
both outputs come from the same variant cannot rank anything and are left out (and
counted). Ratings are the maximum-likelihood Bradley–Terry estimate; when the data
leave a variant unbeaten or never beating anyone, that estimate does not exist and the
fit adds ``FALLBACK_PRIOR`` pseudo-wins each way per pair (noted in the results).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from annotate.models import Cohort, Judgment, Preference, Queue, SwapCheck
from evals.models import LeaderboardSnapshot
from evals.stats.leaderboard import (
    SCORE_A,
    SCORE_B,
    SCORE_TIE,
    Board,
    NoMaximumLikelihood,
    elo,
    leaderboard,
    position_bias,
    swap_consistency,
)

ROUNDS = 100
FALLBACK_PRIOR = 0.5
SCORES = {
    Preference.A: SCORE_A,
    Preference.B: SCORE_B,
    Preference.TIE: SCORE_TIE,
    Preference.BOTH_BAD: SCORE_TIE,
}


def variant_label(name: str, version: str) -> str:
    return " ".join(part for part in (name.strip(), version.strip()) if part) or "unnamed"


def _board(rows: list[dict[str, Any]], seed: int) -> Board | None:
    variants = sorted({r["va"] for r in rows} | {r["vb"] for r in rows})
    if not rows or len(variants) < 2:
        return None
    index = {v: i for i, v in enumerate(variants)}
    a = np.array([index[r["va"]] for r in rows])
    b = np.array([index[r["vb"]] for r in rows])
    score = np.array([r["score"] for r in rows])
    bad = np.array([r["both_bad"] for r in rows])
    try:
        return leaderboard(variants, a, b, score, both_bad=bad, rounds=ROUNDS, seed=seed)
    except NoMaximumLikelihood:
        board = leaderboard(
            variants, a, b, score, both_bad=bad, rounds=ROUNDS, seed=seed, prior=FALLBACK_PRIOR
        )
        board.notes.append(
            f"Some variants never lost or never won, so the ratings add {FALLBACK_PRIOR} "
            "pseudo-wins each way per pair to stay finite."
        )
        return board


def _cohorts_by_reviewer(queue: Queue) -> dict[int, list[str]]:
    by_reviewer: dict[int, list[str]] = defaultdict(list)
    through = Cohort.members.through
    for user_id, name in through.objects.filter(cohort__in=queue.cohorts.all()).values_list(
        "user_id", "cohort__name"
    ):
        by_reviewer[user_id].append(name)
    return by_reviewer


def load_rows(queue: Queue) -> tuple[list[dict[str, Any]], int, int]:
    """One row per usable judgment; also how many were left out and the newest judgment id."""
    cohorts = _cohorts_by_reviewer(queue)
    rows, left_out, newest = [], 0, 0
    fields = (
        "pk", "reviewer_id", "reviewer__username", "answers", "item__model_name",
        "item__model_version", "item__model_name_b", "item__model_version_b",
    )  # fmt: skip
    for values in Judgment.objects.filter(queue=queue).values_list(*fields).iterator():
        pk, reviewer_id, username, answers, name_a, version_a, name_b, version_b = values
        newest = max(newest, pk)
        preference = (answers or {}).get("preference")
        va, vb = variant_label(name_a, version_a), variant_label(name_b, version_b)
        if preference not in SCORES or va == vb:
            left_out += 1
            continue
        rows.append(
            {
                "reviewer": username,
                "cohorts": cohorts.get(reviewer_id, []),
                "va": va,
                "vb": vb,
                "score": SCORES[preference],
                "both_bad": preference == Preference.BOTH_BAD,
                "chose_left": answers.get("chose_left"),
            }
        )
    return rows, left_out, newest


def _bias(rows: list[dict[str, Any]]) -> dict:
    decisive = [r["chose_left"] for r in rows if r["chose_left"] is not None]
    return position_bias(decisive).to_dict()


def _consistency(queue: Queue) -> dict:
    checks = list(
        SwapCheck.objects.filter(queue=queue, state=SwapCheck.State.SUBMITTED).values_list(
            "reviewer__username", "original__answers", "preference"
        )
    )
    result = swap_consistency(
        [c[0] for c in checks], [(c[1] or {}).get("preference", "") for c in checks],
        [c[2] for c in checks],
    )  # fmt: skip
    return {
        "overall": result["overall"].to_dict(),
        "by_reviewer": {k: v.to_dict() for k, v in result["by_reviewer"].items()},
    }


def compute(queue: Queue) -> dict[str, Any]:
    """Everything the results page shows, as JSON-ready data."""
    rows, left_out, newest = load_rows(queue)
    overall = _board(rows, seed=queue.pk)
    cohort_names = sorted({name for r in rows for name in r["cohorts"]})
    cohorts = {}
    bias_by_cohort = {}
    for name in cohort_names:
        subset = [r for r in rows if name in r["cohorts"]]
        board = _board(subset, seed=queue.pk)
        if board is not None:
            cohorts[name] = board.to_dict()
        bias_by_cohort[name] = _bias(subset)
    return {
        "judgments": len(rows),
        "left_out": left_out,
        "last_judgment_id": newest,
        "overall": overall.to_dict() if overall else None,
        "cohorts": cohorts,
        "position_bias": {"overall": _bias(rows), "by_cohort": bias_by_cohort},
        "swap_consistency": _consistency(queue),
    }


def refresh(queue: Queue) -> LeaderboardSnapshot:
    """Recompute and store the queue's snapshot (replacing the previous one)."""
    data = compute(queue)
    with transaction.atomic():
        snapshot, _ = LeaderboardSnapshot.objects.update_or_create(
            queue=queue,
            defaults={
                "workspace_id": queue.workspace_id,
                "judgments": data["judgments"],
                "last_judgment_id": data["last_judgment_id"],
                "data": data,
                "computed_at": timezone.now(),
            },
        )
    return snapshot


def stale_queues() -> list[Queue]:
    """Pairwise queues with judgments newer than their snapshot (or with none yet)."""
    stale = []
    for queue in Queue.objects.filter(kind=Queue.Kind.PAIRWISE).select_related("leaderboard"):
        newest = Judgment.objects.filter(queue=queue).order_by("-pk").values_list("pk", flat=True)
        latest = newest.first() or 0
        snapshot = getattr(queue, "leaderboard", None)
        if latest and (snapshot is None or snapshot.last_judgment_id < latest):
            stale.append(queue)
    return stale


# --- For the page ------------------------------------------------------------------------------


def ranked_rows(board: dict) -> list[dict[str, Any]]:
    """The board's variants, best first, with Elo-scale ratings for display."""
    rows = []
    for i, name in enumerate(board["variants"]):
        rows.append(
            {
                "variant": name,
                "rank": board["rank"][i],
                "theta": board["rating"][i],
                "rating": round(float(elo(board["rating"][i])), 1),
                "low": round(float(elo(board["ci_low"][i])), 1),
                "high": round(float(elo(board["ci_high"][i])), 1),
                "wins": board["wins"][i],
                "ties": board["ties"][i],
                "losses": board["losses"][i],
                "both_bad": board["both_bad"][i],
            }
        )
    return sorted(rows, key=lambda r: (r["rank"], r["variant"]))


def forest_config(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A Chart.js config: each variant's 95% interval as a floating bar, its rating a point."""
    return {
        "type": "bar",
        "data": {
            "labels": [r["variant"] for r in rows],
            "datasets": [
                {
                    "type": "bar",
                    "label": "95% bootstrap interval",
                    "data": [[r["low"], r["high"]] for r in rows],
                    "backgroundColor": "rgba(36, 86, 199, 0.35)",
                    "borderColor": "rgba(36, 86, 199, 0.9)",
                    "borderWidth": 1,
                    "barPercentage": 0.5,
                },
                {
                    "type": "line",
                    "label": "Rating",
                    "data": [r["rating"] for r in rows],
                    "showLine": False,
                    "pointRadius": 5,
                    "backgroundColor": "#1d2330",
                    "borderColor": "#1d2330",
                },
            ],
        },
        "options": {
            "indexAxis": "y",
            "scales": {
                "x": {
                    "beginAtZero": False,
                    "title": {"display": True, "text": "Rating (Elo scale)"},
                }
            },
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


def heatmap(board: dict, order: list[str]) -> list[dict[str, Any]]:
    """Win-rate rows in ``order`` (best first), each cell with a CSS bucket class 0..9."""
    index = {name: i for i, name in enumerate(board["variants"])}
    rows = []
    for row_name in order:
        cells = []
        for col_name in order:
            value = board["win_rate"][index[row_name]][index[col_name]]
            if value is None:
                cells.append({"value": None, "css": "wr-none"})
            else:
                cells.append({"value": round(100 * value), "css": f"wr-{min(9, int(value * 10))}"})
        rows.append({"variant": row_name, "cells": cells})
    return rows
