"""The judge on pairs: both orders, answers about the outputs, inconsistency as a tie."""

from __future__ import annotations

import json

import pytest

from annotate.items import add_items
from annotate.models import CriterionKind
from evals.judges.judge import FAILED, INCONSISTENT, OK, Caller, Subject
from evals.judges.pairwise import (
    build_pair_messages,
    judge_pair,
    pair_schema,
    parse_pair_answer,
)
from evals.judges.runs import endpoint_config, start_run
from evals.judges.tasks import run_judge
from evals.models import JudgeResult
from tests.factories import LIKERT_5, make_queue, published_rubric

PAIR_CRITERIA = [
    {
        "key": "accuracy",
        "name": "Agreement with medical consensus",
        "kind": CriterionKind.LIKERT,
        "pairwise_preference": True,
        "config": {"levels": LIKERT_5},
    },
    {
        "key": "clarity",
        "name": "Clarity for a patient",
        "kind": CriterionKind.LIKERT,
        "pairwise_preference": True,
        "required": False,
        "config": {"levels": LIKERT_5},
    },
]
PAIR = Subject(input="Question", output="ALPHA answer", output_b="BETA answer")


@pytest.fixture
def criteria(workspace):
    return list(published_rubric(workspace, PAIR_CRITERIA).criteria.all())


@pytest.fixture
def caller(judge_endpoint):
    made = Caller(endpoint_config(judge_endpoint, with_key=True))
    yield made
    made.close()


def _answer(preference: str, accuracy: str = "tie") -> dict:
    return {"preference": preference, "criteria": {"accuracy": accuracy, "clarity": "tie"},
            "rationale": "Because."}  # fmt: skip


def _alpha_is_better(body: dict) -> dict:
    """A judge with a real preference: the ALPHA output, wherever it is shown."""
    user = body["messages"][1]["content"]
    alpha_shown_first = user.index("ALPHA") < user.index("BETA")
    return {
        "answers": _answer("a" if alpha_shown_first else "b", "a" if alpha_shown_first else "b")
    }


def test_the_pair_prompt_asks_for_an_overall_and_a_per_criterion_preference(
    judge_endpoint, criteria
):
    messages = build_pair_messages(endpoint_config(judge_endpoint), "Compare.", criteria, PAIR)
    system, user = messages[0]["content"], messages[1]["content"]
    assert '"both_bad": Both are unacceptable' in system
    assert '"accuracy": Agreement with medical consensus' in system
    assert "Fully agrees with consensus" in system
    assert user.index("## Response A") < user.index("ALPHA") < user.index("## Response B")
    schema = pair_schema(criteria)["json_schema"]["schema"]
    assert schema["properties"]["preference"]["enum"] == ["a", "b", "tie", "both_bad"]
    assert schema["properties"]["criteria"]["required"] == ["accuracy", "clarity"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"preference": "left", "criteria": {"accuracy": "a"}, "rationale": ""}, "preference"),
        (
            {"preference": "a", "criteria": {"accuracy": "better"}, "rationale": ""},
            "criteria.accuracy",
        ),
        ({"preference": "a", "criteria": {}, "rationale": ""}, "criteria.accuracy"),
        ({"preference": "a", "criteria": {"accuracy": "a", "tone": "b"}, "rationale": ""}, "tone"),
    ],
)
def test_an_invalid_pair_answer_has_a_reason(criteria, answer, reason):
    answers, message = parse_pair_answer(json.dumps(answer), criteria)
    assert answers is None
    assert reason in message


def test_a_pair_is_judged_in_both_orders_and_a_stable_choice_is_kept(
    caller, criteria, judge_server
):
    judge_server.responder = _alpha_is_better
    outcome = judge_pair(caller, "", criteria, PAIR)
    assert outcome.status == OK
    assert outcome.answers["preference"] == "a"
    assert outcome.answers["criteria"] == {"accuracy": "a", "clarity": "tie"}
    shown = [r["body"]["messages"][1]["content"] for r in judge_server.requests]
    assert shown[0].index("ALPHA") < shown[0].index("BETA")
    assert shown[1].index("BETA") < shown[1].index("ALPHA")


def test_a_choice_that_flips_with_the_order_is_inconsistent_and_a_tie(
    caller, criteria, judge_server
):
    judge_server.default = {"answers": _answer("a", "a")}  # always the first one shown
    outcome = judge_pair(caller, "", criteria, PAIR)
    assert outcome.status == INCONSISTENT
    assert outcome.answers["preference"] == "tie"
    assert outcome.answers["criteria"]["accuracy"] == "tie"
    assert "flipped with the order" in outcome.reason
    assert judge_server.count == 2


def test_an_inconsistent_pair_can_be_recorded_without_a_preference(caller, criteria, judge_server):
    judge_server.default = {"answers": _answer("b")}
    outcome = judge_pair(caller, "", criteria, PAIR, inconsistency="fail")
    assert outcome.status == INCONSISTENT
    assert "preference" not in outcome.answers


def test_a_failure_in_the_second_order_fails_the_pair(caller, criteria, judge_server):
    judge_server.script({"answers": _answer("a")}, {"content": "nope"}, {"content": "nope"})
    outcome = judge_pair(caller, "", criteria, PAIR)
    assert outcome.status == FAILED
    assert "not valid JSON" in outcome.reason
    assert outcome.answers == {}
    assert outcome.attempts == 3


def test_a_pairwise_queue_run_counts_inconsistent_items(workspace, judge_endpoint, judge_server):
    version = published_rubric(workspace, PAIR_CRITERIA)
    queue = make_queue(workspace, kind="pairwise", rubric_version=version)
    add_items(queue, [{"output": "ALPHA", "metadata": {"output_b": "BETA"}}] * 2)
    judge_server.default = {"answers": _answer("a")}
    run = start_run(judge_endpoint, queue=queue)
    run_judge(run.job_id)
    run.refresh_from_db()
    assert run.pairwise
    assert (run.inconsistent_count, run.ok_count) == (2, 0)
    assert judge_server.count == 4
    assert set(JudgeResult.objects.values_list("answers__preference", flat=True)) == {"tie"}


def test_pair_answers_are_compared_with_human_pair_judgments(
    workspace, judge_endpoint, judge_server, reviewer, second_reviewer
):
    from annotate.models import Assignment, Judgment
    from evals.judges import compare as judge_compare
    from evals.judges import compare_data as judge_compare_data

    version = published_rubric(workspace, PAIR_CRITERIA)
    queue = make_queue(workspace, kind="pairwise", rubric_version=version)
    add_items(queue, [{"output": f"ALPHA {n}", "metadata": {"output_b": "BETA"}} for n in range(4)])
    judge_server.responder = _alpha_is_better
    run = start_run(judge_endpoint, queue=queue)
    run_judge(run.job_id)
    for item in queue.items.all():
        for user in (reviewer, second_reviewer):
            assignment = Assignment.objects.create(
                item=item, queue=queue, reviewer=user, expires_at=item.created_at
            )
            Judgment.objects.create(
                item=item, queue=queue, reviewer=user, assignment=assignment,
                rubric_version=version,
                answers={"preference": "a", "criteria": {"accuracy": "a"}, "rationale": "",
                         "strength": None, "a_on_left": True},
            )  # fmt: skip
    human, judge = judge_compare_data.frames(judge_endpoint, version)
    specs = judge_compare_data.specs(version, pairwise=True)
    assert [s.key for s in specs] == ["preference", "criteria.accuracy", "criteria.clarity"]
    results = {r.spec.key: r for r in judge_compare.compare(human, judge, specs, bootstrap=0)}
    assert results["preference"].consensus.n_items == 4
    assert results["preference"].consensus.exact == 1.0
    assert results["criteria.accuracy"].confusion[0][0] == 4
    assert results["criteria.clarity"].consensus.n_items == 0
