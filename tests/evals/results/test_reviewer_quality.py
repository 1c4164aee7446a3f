"""Reviewer quality: counts, speed, agreement with the others, gold accuracy, skips, outliers."""

from __future__ import annotations

import pandas as pd
import pytest
from django.utils import timezone

from annotate import gold
from annotate.models import Assignment
from evals.results.reviewers import agreement_with_others, reviewer_quality
from tests.evals.stats.agreement_data import record, reviewers
from tests.factories import make_queue

SCORES = {  # four reviewers who mostly agree, one who contradicts them, and is fast
    "ann": [5, 4, 2, 1, 3, 5, 4, 2],
    "ben": [5, 4, 2, 1, 3, 4, 4, 2],
    "cid": [5, 3, 2, 1, 3, 5, 4, 2],
    "dee": [4, 4, 2, 1, 3, 5, 4, 1],
    "eve": [1, 1, 5, 5, 1, 1, 2, 5],
}
SECONDS = {"ann": 30, "ben": 34, "cid": 36, "dee": 32, "eve": 2}


@pytest.fixture
def graded(workspace, clinicians):
    queue = make_queue(workspace, cohorts=[clinicians], k=5, items=9)
    people = {u.username: u for u in reviewers(workspace, clinicians, list(SCORES))}
    items = list(queue.items.order_by("id"))
    for name, scores in SCORES.items():
        for item, score in zip(items, scores, strict=False):
            answers = {"accuracy": score, "safe": score >= 3, "harm": "none"}
            record(queue, item, people[name], answers, time_ms=SECONDS[name] * 1000)
    criteria = list(queue.rubric_version.criteria.all())
    golden = items[8]
    gold.mark_gold(golden, criteria, {"accuracy": "4", "safe": "pass", "harm": "none"})
    record(queue, golden, people["ann"], {"accuracy": 4, "safe": True, "harm": "none"})
    record(queue, golden, people["eve"], {"accuracy": 1, "safe": False, "harm": "none"})
    now = timezone.now()
    for item in items[:2]:
        Assignment.objects.create(
            item=item, queue=queue, reviewer=people["dee"], state="skipped", expires_at=now
        )
    return queue, people


def test_agreement_with_others_counts_matching_pairs_per_reviewer():
    frame = pd.DataFrame(
        {"item": [1, 1, 1, 2, 2], "reviewer": ["a", "b", "c", "a", "b"], "value": list("xxyzz")}
    )
    result = agreement_with_others(frame)
    assert result.loc["a"].tolist() == [2, 3]  # item 1: agrees with b, not c; item 2: with b
    assert result.loc["c"].tolist() == [0, 2]


def test_each_reviewer_gets_volume_speed_agreement_gold_and_skips(graded):
    queue, people = graded
    rows = {row["name"].lower(): row for row in reviewer_quality(queue)}
    assert set(rows) == set(SCORES)
    assert rows["ann"]["judgments"] == 8  # the gold judgment is not counted here
    assert rows["ann"]["median_seconds"] == pytest.approx(30)
    assert rows["eve"]["agreement"] < rows["ann"]["agreement"] - 0.4
    assert rows["eve"]["alpha_without"]["accuracy"] > 0.3  # alpha rises a lot without eve
    assert rows["ann"]["alpha_without"]["accuracy"] < 0.05
    assert rows["ann"]["gold_accuracy"] == 1.0 and rows["ann"]["gold_items"] == 1
    assert rows["eve"]["gold_accuracy"] == pytest.approx(1 / 3)  # only "harm" right
    assert rows["eve"]["gold_by_criterion"] == {"accuracy": 0.0, "safe": 0.0, "harm": 1.0}
    assert rows["ben"]["gold_accuracy"] is None
    assert rows["dee"]["skip_share"] == 1.0 and rows["ann"]["skip_share"] is None


def test_outliers_are_flagged_against_their_cohort(graded):
    queue, _ = graded
    rows = {row["name"].lower(): row for row in reviewer_quality(queue)}
    assert "grades much faster than their cohort" in rows["eve"]["flags"]
    assert "agrees with the others much less than their cohort" in rows["eve"]["flags"]
    assert rows["ann"]["flags"] == []
