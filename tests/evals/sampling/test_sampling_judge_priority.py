"""Sampling priority to logs an LLM judge scored low ("judge scored below X on criterion Y")."""

import pytest

from evals.models import JudgeEndpoint, JudgeResult, Log
from evals.sampling import rules as sampling
from tests.evals.sampling.test_sampling import logs, make_rule, picked_ids, run_now  # noqa: F401 - fixtures
from tests.factories import make_queue


def judged(workspace, version, scores: dict[int, int], name: str) -> None:
    endpoint = JudgeEndpoint.objects.create(
        workspace=workspace, name=name, base_url="https://judge.example.org/v1", model=name
    )
    JudgeResult.objects.bulk_create(
        JudgeResult(
            workspace=workspace,
            endpoint=endpoint,
            rubric_version=version,
            config_hash=name,
            log_id=log_id,
            status=JudgeResult.Status.OK,
            answers={"accuracy": score},
        )
        for log_id, score in scores.items()
    )


def test_logs_the_judge_scored_low_are_picked_first(workspace, logs):  # noqa: F811
    queue = make_queue(workspace)
    ids = sorted(Log.objects.filter(workspace=workspace).values_list("pk", flat=True))
    low = set(ids[5:12])  # 7 logs the judge scored 1 or 2
    judged(workspace, queue.rubric_version, {i: (1 if i % 2 else 2) for i in low}, "a")
    judged(workspace, queue.rubric_version, {i: 5 for i in ids[20:40]}, "b")
    rule = make_rule(
        workspace,
        queue,
        strategy="judge_low_first",
        count=10,
        filters={"judge_criterion": "accuracy", "judge_below": 3},
    )
    run_now(rule)
    picked = picked_ids(queue)
    assert len(picked) == 10
    assert low <= picked  # all 7 flagged logs, then 3 others by the seeded hash


def test_a_judge_priority_needs_both_a_criterion_and_a_threshold():
    with pytest.raises(sampling.RuleError, match="both a criterion key"):
        sampling.validate_filters({"judge_criterion": "accuracy"})
    assert sampling.validate_filters({"judge_criterion": "accuracy", "judge_below": "2.5"}) == {
        "judge_criterion": "accuracy",
        "judge_below": 2.5,
    }


def test_without_judge_results_the_rule_falls_back_to_the_seeded_order(workspace, logs):  # noqa: F811
    first = make_queue(workspace, name="A")
    second = make_queue(workspace, name="B", rubric_version=first.rubric_version)
    filters = {"judge_criterion": "accuracy", "judge_below": 3}
    run_now(make_rule(workspace, first, strategy="judge_low_first", count=8, filters=filters))
    run_now(make_rule(workspace, second, name="b", strategy="fixed", count=8))
    assert picked_ids(first) == picked_ids(second)
