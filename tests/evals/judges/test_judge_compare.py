"""Judge versus humans: consensus, kappa/alpha with CIs, confusion matrix, cohorts, drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from evals.judges.compare import CriterionSpec, agreement, compare, consensus, kappa

LIKERT = CriterionSpec("accuracy", "Accuracy", "likert", (1, 2, 3, 4, 5))
HARM = CriterionSpec("harm", "Harm", "categorical", ("none", "mild", "severe"))
SAFE = CriterionSpec("safe", "Safe", "pass_fail", (True, False))
START = datetime(2026, 1, 5, tzinfo=UTC)


def test_consensus_is_the_lower_median_for_scales_and_the_majority_for_categories():
    assert consensus([1, 4, 5], LIKERT) == 4
    assert consensus([2, 3], LIKERT) == 2
    assert consensus(["mild", "none", "mild"], HARM) == "mild"
    assert consensus(["severe", "none"], HARM) == "none"  # a tie goes to the rubric's order
    assert consensus([None], HARM) is None


def test_kappa_is_quadratic_weighted_for_scales_as_statsmodels_computes_it():
    human = [1, 2, 3, 4, 5, 5, 3]
    judge = [1, 3, 3, 4, 4, 5, 2]
    table = np.zeros((5, 5))
    for h, j in zip(human, judge, strict=True):
        table[h - 1, j - 1] += 1
    assert kappa(human, judge, LIKERT) == pytest.approx(cohens_kappa(table, wt="quadratic").kappa)
    assert kappa(human, judge, LIKERT) != pytest.approx(cohens_kappa(table).kappa)


def test_a_perfect_judge_has_kappa_and_alpha_one_and_a_contrary_judge_is_negative():
    human = [True, False] * 20
    perfect = agreement(human, human, SAFE, bootstrap=50)
    assert perfect.kappa == pytest.approx(1.0) and perfect.alpha == pytest.approx(1.0)
    assert perfect.exact == 1.0
    contrary = agreement(human, [not v for v in human], SAFE, bootstrap=50)
    assert contrary.kappa < 0 and contrary.alpha < 0


def test_the_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(3)
    human = list(rng.integers(1, 6, 80))
    judge = [int(min(5, max(1, h + rng.integers(-1, 2)))) for h in human]
    result = agreement(human, judge, LIKERT, bootstrap=200)
    assert result.kappa_ci[0] <= result.kappa <= result.kappa_ci[1]
    assert result.alpha_ci[0] <= result.alpha <= result.alpha_ci[1]
    assert result.kappa_ci[0] < result.kappa_ci[1]


def _frames():
    """Clinicians agree with the judge on harm; lay reviewers always say 'none'."""
    judge_values = ["none", "mild", "severe", "mild"] * 5
    human, judge = [], []
    for item, value in enumerate(judge_values):
        for rater in ("c1", "c2"):
            human.append(
                {
                    "item": item,
                    "rater": rater,
                    "cohort": "Clinicians",
                    "criterion": "harm",
                    "value": value,
                }
            )
        human.append(
            {"item": item, "rater": "lay", "cohort": "Lay", "criterion": "harm", "value": "none"}
        )
        at = START + timedelta(days=7 * (item // 10))
        judge.append({"item": item, "criterion": "harm", "value": value, "at": at})
    return pd.DataFrame(human), pd.DataFrame(judge), judge_values


def test_the_comparison_is_per_criterion_per_cohort_with_a_confusion_matrix_and_drift():
    human, judge, judge_values = _frames()
    (result,) = compare(
        human, judge, [HARM, CriterionSpec("comment", "C", "free_text", ())], bootstrap=50
    )
    assert result.spec.key == "harm"
    assert result.consensus.n_items == 20
    assert result.consensus.kappa == pytest.approx(1.0)
    assert set(result.cohorts) == {"Clinicians", "Lay"}
    assert result.cohorts["Clinicians"].kappa == pytest.approx(1.0)
    assert result.cohorts["Lay"].exact == judge_values.count("none") / 20
    assert result.confusion == [[5, 0, 0], [0, 10, 0], [0, 0, 5]]
    assert [row["period"] for row in result.drift] == ["2026-01-05", "2026-01-12"]
    assert [row["n_items"] for row in result.drift] == [10, 10]


def test_items_without_a_judge_answer_or_with_an_unknown_value_are_left_out():
    human, judge, _ = _frames()
    judge = judge[judge["item"] != 0].copy()
    judge.loc[judge["item"] == 1, "value"] = "catastrophic"
    (result,) = compare(human, judge, [HARM], bootstrap=0)
    assert result.consensus.n_items == 18
