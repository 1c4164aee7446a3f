"""Disagreement thresholds per criterion type, and consensus answers for exports."""

from __future__ import annotations

import pytest

from annotate import adjudication
from annotate.adjudication import DEFAULT_RULES, disagreement
from annotate.models import CriterionKind
from evals.exports.rows import consensus_override
from tests.evals.stats.agreement_data import record, two_cohort_queue


@pytest.mark.parametrize(
    ("kind", "config", "values", "disputed"),
    [
        (CriterionKind.LIKERT, {}, [3, 4, 4], False),
        (CriterionKind.LIKERT, {}, [2, 4, 4], True),
        (CriterionKind.NUMERIC, {"min": 0, "max": 60}, [10, 20], False),
        (CriterionKind.NUMERIC, {"min": 0, "max": 60}, [10, 30], True),
        (CriterionKind.NUMERIC, {}, [100, 140], True),  # unbounded: relative to the largest
        (CriterionKind.PASS_FAIL, {}, [True, True, True], False),
        (CriterionKind.PASS_FAIL, {}, [True, False, True], True),
        (CriterionKind.CATEGORICAL, {}, ["none", "mild"], True),
        ("preference", {}, ["a", "a", "tie"], True),
        (CriterionKind.LIKERT, {}, [5], False),  # one answer cannot disagree
    ],
)
def test_disagreement_thresholds_per_criterion_type(kind, config, values, disputed):
    assert (disagreement(kind, config, values, DEFAULT_RULES) is not None) is disputed


def test_a_queue_can_dispute_only_items_without_a_majority():
    rule = {**DEFAULT_RULES, "categorical": "no_majority", "likert_spread": 3}
    assert disagreement(CriterionKind.CATEGORICAL, {}, ["a", "a", "b"], rule) is None
    assert disagreement(CriterionKind.CATEGORICAL, {}, ["a", "b"], rule) is not None
    assert disagreement(CriterionKind.LIKERT, {}, [2, 4], rule) is None


def test_disputes_and_consensus_prefer_the_adjudicated_answer(workspace, admin_user):
    data = two_cohort_queue(workspace, items=2)
    queue = data["queue"]
    first, second = data["items"]
    for doc, score in zip(data["clinicians"], [1, 2, 5], strict=True):
        record(queue, first, doc, {"accuracy": score, "safe": True, "harm": "none"})
    for doc, score in zip(data["clinicians"], [4, 4, 5], strict=True):
        record(queue, second, doc, {"accuracy": score, "safe": True, "harm": "none"})
    criteria = list(queue.rubric_version.criteria.all())
    (dispute,) = adjudication.disputes(queue, criteria)
    assert dispute.item_id == first.pk and set(dispute.reasons) == {"accuracy"}
    assert consensus_override([first.pk, second.pk]) == {}  # exports take the majority
    final, errors = adjudication.record(
        queue, first, admin_user, criteria, {"accuracy": "4", "safe": "pass", "harm": "none"}
    )
    assert errors == {}
    assert consensus_override([first.pk, second.pk]) == {first.pk: final.answers}
    assert adjudication.disputes(queue, criteria)[0].adjudicated
