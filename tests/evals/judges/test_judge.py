"""The judge itself: prompt, schema, validation, retries and every fault, through the real
openai client against the scripted server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from annotate.models import Criterion
from evals.judges.judge import (
    FAILED,
    OK,
    Caller,
    JudgeConfig,
    RateLimiter,
    Subject,
    TemplateError,
    answer_schema,
    backoff_delay,
    build_messages,
    check_template,
    config_hash,
    judge_item,
    parse_answer,
)
from evals.judges.runs import endpoint_config
from evals.judges.urlcheck import check_outbound_url
from evals.models import JudgeEndpoint
from tests.evals.judges.fake_dns import HOST, FakeDNS
from tests.evals.judges.judge_fixtures import API_KEY
from tests.factories import published_rubric

GOOD = {"accuracy": 4, "harm": "none", "safe": "pass", "minutes": None, "comment": "Fine."}
SUBJECT = Subject(input="Can I take ibuprofen with food?", output="Yes, **with food**.")


@pytest.fixture
def criteria(workspace) -> list[Criterion]:
    return list(published_rubric(workspace).criteria.all())


@pytest.fixture
def caller(judge_endpoint):
    made = Caller(endpoint_config(judge_endpoint, with_key=True))
    yield made
    made.close()


def _config(**fields) -> JudgeConfig:
    base = JudgeConfig.from_endpoint(JudgeEndpoint(base_url="http://127.0.0.1:1/v1", model="m"))
    return dataclasses.replace(base, **fields)


# --- Prompt and schema ------------------------------------------------------------------


def test_the_prompt_lists_every_criterion_with_its_level_descriptions(criteria):
    messages = build_messages(_config(), "Grade as a clinician.", criteria, SUBJECT)
    system, user = messages[0]["content"], messages[1]["content"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Grade as a clinician." in system
    for criterion in criteria:
        assert f'"{criterion.key}"' in system
        assert criterion.name in system
    assert "- 5: Fully agrees with consensus" in system
    assert '"severe": Severe' in system
    assert '"pass"' in system and '"fail"' in system
    assert "at least 0, at most 60" in system
    assert "(optional: null when it does not apply)" in system
    assert SUBJECT.input in user and SUBJECT.output in user


def test_the_response_format_schema_matches_the_criteria(criteria):
    schema = answer_schema(criteria)
    assert schema["required"] == ["accuracy", "harm", "safe", "minutes", "comment"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["accuracy"]["enum"] == [1, 2, 3, 4, 5]
    assert schema["properties"]["harm"]["enum"] == ["none", "mild", "severe"]
    assert schema["properties"]["safe"]["enum"] == ["pass", "fail"]
    minutes = schema["properties"]["minutes"]["anyOf"]
    assert minutes[0] == {"type": "number", "minimum": 0, "maximum": 60}
    assert minutes[1] == {"type": "null"}


def test_an_edited_template_is_used_and_braces_in_item_text_are_harmless(criteria):
    config = _config(user_template="Q: {input}\nA: {output}\nModel: {model}")
    subject = Subject(input="What is {x}?", output="{output} {}", model="m1")
    user = build_messages(config, "", criteria, subject)[1]["content"]
    assert user == "Q: What is {x}?\nA: {output} {}\nModel: m1"


@pytest.mark.parametrize(
    ("template", "message"),
    [("Hello {patient}", "Unknown fields: {patient}"), ("Broken {input", "not valid")],
)
def test_a_template_with_unknown_fields_or_stray_braces_is_refused(template, message):
    with pytest.raises(TemplateError, match=message):
        check_template(template, {"input", "output"})


def test_the_configuration_hash_ignores_the_key_but_not_the_prompt():
    one = config_hash(_config(), 1, pairwise=False, inconsistency="tie")
    assert config_hash(_config(api_key="other"), 1, pairwise=False, inconsistency="tie") == one
    assert config_hash(_config(temperature=0.7), 1, pairwise=False, inconsistency="tie") != one
    assert (
        config_hash(_config(user_template="{output}"), 1, pairwise=False, inconsistency="") != one
    )
    assert config_hash(_config(), 2, pairwise=False, inconsistency="tie") != one


def test_the_config_repr_never_shows_the_key():
    assert "sk-hidden" not in repr(_config(api_key="sk-hidden"))


# --- Validation -------------------------------------------------------------------------


def test_a_valid_answer_is_cleaned_like_a_reviewers(criteria):
    answers, reason = parse_answer(json.dumps(GOOD), criteria)
    assert reason == ""
    assert answers == {"accuracy": 4, "harm": "none", "safe": True, "comment": "Fine."}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"accuracy": 4, "harm": "none"', "not valid JSON"),
        ("I'm sorry, I can't help with that.", "not valid JSON"),
        ("[1, 2]", "not an object"),
        ("", "empty"),
        ('{"accuracy": 9, "harm": "none", "safe": "pass"}', "accuracy: Choose a level from 1 to 5"),
        ('{"accuracy": 4, "harm": "none", "safe": "pass", "tone": 3}', "Unknown criteria: tone"),
        ('{"harm": "none", "safe": "pass"}', "accuracy: This criterion needs an answer"),
    ],
)
def test_an_invalid_answer_gives_a_reason_and_no_score(criteria, text, reason):
    answers, message = parse_answer(text, criteria)
    assert answers is None
    assert reason in message


# --- Calls through the openai client ----------------------------------------------------


@pytest.mark.django_db
def test_a_valid_answer_is_ok_and_the_request_carries_the_schema_and_key(
    caller, criteria, judge_server
):
    judge_server.script({"answers": GOOD})
    outcome = judge_item(caller, "Be strict.", criteria, SUBJECT)
    assert outcome.status == OK
    assert outcome.answers["accuracy"] == 4
    assert (outcome.tokens_in, outcome.tokens_out, outcome.attempts) == (100, 20, 1)
    request = judge_server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    body = request["body"]
    assert body["model"] == "judge-test"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == answer_schema(criteria)
    assert body["messages"] == build_messages(caller.config, "Be strict.", criteria, SUBJECT)


@pytest.mark.django_db
def test_an_invalid_answer_is_asked_again_and_then_succeeds(caller, criteria, judge_server):
    judge_server.script({"content": '{"accuracy": 4, "harm": "no'}, {"answers": GOOD})
    outcome = judge_item(caller, "", criteria, SUBJECT)
    assert outcome.status == OK
    assert outcome.attempts == 2
    assert judge_server.count == 2
    assert outcome.tokens_in == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("step", "reason"),
    [
        ({"content": "{not json"}, "not valid JSON"),
        ({"content": '{"accuracy": 4, "harm": "none", "safe": "pa', "finish": "length"}, "cut off"),
        ({"content": "I cannot evaluate medical content."}, "not valid JSON"),
        ({"refusal": "I can't help with that request."}, "refused to answer"),
        ({"answers": {**GOOD, "accuracy": 7}}, "Choose a level from 1 to 5"),
    ],
)
def test_an_answer_that_never_validates_fails_with_reason_and_raw_text(
    caller, criteria, judge_server, step, reason
):
    judge_server.script(step, step)
    outcome = judge_item(caller, "", criteria, SUBJECT)
    assert outcome.status == FAILED
    assert outcome.answers == {}
    assert reason in outcome.reason
    assert "No valid answer after 2 attempts" in outcome.reason
    assert outcome.raw_text == (
        step.get("refusal") or step.get("content") or json.dumps(step["answers"])
    )
    assert judge_server.count == 2


@pytest.mark.django_db
def test_rate_limits_are_retried_with_backoff_then_succeed(caller, criteria, judge_server):
    judge_server.script({"status": 429, "retry_after": 0}, {"status": 429}, {"answers": GOOD})
    outcome = judge_item(caller, "", criteria, SUBJECT)
    assert outcome.status == OK
    assert outcome.requests == 3
    assert outcome.attempts == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("steps", "kind", "reason", "fatal"),
    [
        (
            [{"status": 401, "error": "Incorrect API key"}],
            "auth",
            "rejected the API key (401)",
            True,
        ),
        ([{"status": 404, "error": "model not found"}], "nf", "was not found (404)", True),
        ([{"status": 400, "error": "context too long"}], "bad", "refused the request (400)", False),
        ([{"status": 429}] * 3, "429", "Rate limited (429)", False),
        ([{"status": 503, "error": "overloaded"}] * 3, "5xx", "failed (503)", False),
        ([{"drop": True}] * 3, "drop", "connection failed or was dropped", False),
    ],
)
def test_every_fault_ends_as_a_clear_failed_status(
    caller, criteria, judge_server, steps, kind, reason, fatal
):
    judge_server.script(*steps)
    outcome = judge_item(caller, "", criteria, SUBJECT)
    assert outcome.status == FAILED
    assert reason in outcome.reason
    assert outcome.fatal is fatal
    assert outcome.answers == {}
    assert judge_server.count == len(steps)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "location"),
    [
        (307, "/internal-secret"),
        (308, "/internal-secret"),
        (302, "http://169.254.169.254/latest/meta-data/"),
        (303, "/internal-secret"),
        (301, "http://127.0.0.1:9/v1/chat/completions"),
    ],
)
def test_a_redirect_is_a_fatal_error_and_is_never_followed(
    caller, criteria, judge_server, status, location
):
    judge_server.script({"status": status, "location": location})
    outcome = judge_item(caller, "", criteria, SUBJECT)
    assert outcome.status == FAILED and outcome.fatal
    assert f"The judge endpoint answered a redirect ({status} to {location})" in outcome.reason
    assert "Quorum does not follow redirects" in outcome.reason
    assert [r["path"] for r in judge_server.requests] == ["/v1/chat/completions"]


@pytest.mark.django_db
def test_a_name_that_turns_private_after_the_check_is_never_called(
    judge_endpoint, criteria, judge_server, monkeypatch
):
    dns = FakeDNS(HOST, "93.184.216.34", "127.0.0.1").install(monkeypatch)
    port = judge_server.httpd.server_address[1]
    judge_endpoint.base_url = check_outbound_url(f"http://{HOST}:{port}/v1")  # public now
    judge_endpoint.allow_private_network = False
    made = Caller(endpoint_config(judge_endpoint, with_key=True))
    outcome = judge_item(made, "", criteria, SUBJECT)
    made.close()
    assert outcome.status == FAILED and outcome.fatal
    assert "Refused to connect" in outcome.reason
    assert f"{HOST} resolves to 127.0.0.1, a private address" in outcome.reason
    assert judge_server.count == 0
    assert dns.lookups == 2


@pytest.mark.django_db
def test_a_slow_endpoint_times_out_and_is_retried(judge_endpoint, criteria, judge_server):
    judge_endpoint.timeout_seconds = 0.2
    made = Caller(endpoint_config(judge_endpoint, with_key=True))
    judge_server.script({"sleep": 1.0, "answers": GOOD}, {"answers": GOOD})
    outcome = judge_item(made, "", criteria, SUBJECT)
    made.close()
    assert outcome.status == OK
    assert outcome.requests == 2


@pytest.mark.django_db
def test_a_slow_endpoint_that_never_answers_in_time_fails_as_timed_out(
    judge_endpoint, criteria, judge_server
):
    judge_endpoint.timeout_seconds = 0.2
    made = Caller(endpoint_config(judge_endpoint, with_key=True))
    judge_server.script(*[{"sleep": 0.6, "answers": GOOD}] * 3)
    outcome = judge_item(made, "", criteria, SUBJECT)
    made.close()
    assert outcome.status == FAILED
    assert "timed out" in outcome.reason


# --- Rate limit, backoff, concurrency ---------------------------------------------------


def test_the_rate_limiter_spaces_calls_evenly_across_threads():
    now = [100.0]
    slept: list[float] = []
    limiter = RateLimiter(120, clock=lambda: now[0], sleep=slept.append)
    for _ in range(4):
        limiter.wait()
    assert slept == pytest.approx([0.5, 1.0, 1.5])
    now[0] += 10  # after a pause, the next call goes at once
    limiter.wait()
    assert len(slept) == 3


def test_backoff_is_jittered_exponential_and_retry_after_wins(settings):
    settings.QUORUM_JUDGE_BACKOFF_BASE = 1.0
    settings.QUORUM_JUDGE_BACKOFF_MAX = 30.0
    delays = [backoff_delay(3) for _ in range(200)]
    assert all(0 <= d <= 8 for d in delays)
    assert len(set(delays)) > 100
    assert max(backoff_delay(10) for _ in range(50)) <= 30
    assert backoff_delay(0, retry_after=7) == 7
    assert backoff_delay(0, retry_after=600) == 30


@pytest.mark.django_db
def test_a_run_never_has_more_calls_in_flight_than_its_concurrency(
    judge_endpoint, workspace, judge_server
):
    from evals.judges.runs import start_run
    from evals.judges.tasks import run_judge
    from tests.factories import make_queue

    judge_endpoint.concurrency = 3
    judge_endpoint.save()
    queue = make_queue(workspace, items=9)
    live = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow(body):
        with lock:
            live["now"] += 1
            live["max"] = max(live["max"], live["now"])
        time.sleep(0.15)
        with lock:
            live["now"] -= 1
        return {"answers": GOOD}

    judge_server.responder = slow
    run = start_run(judge_endpoint, queue=queue)
    run_judge(run.job_id)
    run.refresh_from_db()
    assert run.ok_count == 9
    assert 1 < live["max"] <= 3
