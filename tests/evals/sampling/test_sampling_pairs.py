"""Pairing rules: logs with the same normalized input under two versions become pairwise items."""

from collections import Counter

import pytest

from annotate.models import Item, Queue
from evals.ingest.pipeline import ingest_lines
from evals.models import Log, QueuedLog, SamplingRule, SamplingRun
from evals.sampling import pairing
from evals.sampling import rules as sampling
from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.evals.conftest import log_line, numbered
from tests.factories import make_queue

TOPICS = ("meds", "diet", "sleep")
BASE = "/w/patient-messages/sampling/"


def question(n: int) -> str:
    return f"Question {n}: can I take ibuprofen with my blood pressure pills?"


def line(external_id: str, version: str, n: int, **fields) -> bytes:
    fields.setdefault("input", question(n))
    fields.setdefault("output", f"{version} answers question {n}.")
    fields.setdefault("metadata", {"topic": TOPICS[n % 3]})
    fields.setdefault("feedback", {"thumbs": "up"})
    return log_line(0, external_id=external_id, model_version=version, **fields)


@pytest.fixture
def paired_logs(source):
    """30 inputs asked of v1 and v2; extras that must not pair, or pair despite spelling."""
    lines = []
    for n in range(30):
        lines.append(line(f"a-{n}", "v1", n))
        # v2 saw the same input with other spacing and case: still the same input.
        lines.append(line(f"b-{n}", "v2", n, input="  " + question(n).upper().replace(" ", "  ")))
    lines += [line(f"a-only-{n}", "v1", 100 + n) for n in range(5)]  # no v2 answer
    lines += [line(f"c-{n}", "v3", n) for n in range(30)]  # a version the rule does not pair
    # Same input, same answer under both versions: can only measure noise.
    lines.append(line("a-same", "v1", 200, output="The same answer."))
    lines.append(line("b-same", "v2", 200, output="  The same   answer. "))
    ingest_lines(source, numbered(lines))
    return source


def pair_rule(workspace, queue, **fields) -> SamplingRule:
    fields.setdefault("name", "v1 vs v2")
    fields.setdefault("seed", 7)
    fields.setdefault("strategy", SamplingRule.Strategy.FIXED)
    fields.setdefault("count", 10)
    return SamplingRule.objects.create(
        workspace=workspace, queue=queue, pair_version_a="v1", pair_version_b="v2", **fields
    )


def run_now(rule) -> SamplingRun:
    return sampling.execute_run(SamplingRun.objects.create(rule=rule))


def pairs_in(queue) -> set[tuple[str, str]]:
    """The (log A external id, log B external id) of every item in the queue."""
    by_item: dict[int, list[Log]] = {}
    for queued in QueuedLog.objects.filter(queue=queue).select_related("log"):
        by_item.setdefault(queued.item_id, []).append(queued.log)
    pairs = set()
    for logs in by_item.values():
        logs.sort(key=lambda log: log.model_version)
        pairs.add(tuple(log.external_id for log in logs))
    return pairs


def test_the_input_key_ignores_case_spacing_and_unicode_form_but_not_the_system_prompt():
    key = pairing.input_key("What dose?", [])
    assert key == pairing.input_key("  what   DOSE? ", [])
    assert key == pairing.input_key("", [{"role": "user", "content": "What dose?"}])
    assert key == pairing.input_key("What\u00a0dose?", [])  # NFKC: no-break space is a space
    with_system = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "x"}]
    other_system = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "x"}]
    assert pairing.input_key("", with_system) != pairing.input_key("", other_system)
    assert key != pairing.input_key("What dose? ok", [])
    assert pairing.input_key("", []) is None and pairing.input_key("  ", []) is None


def test_every_way_a_log_is_stored_gives_it_its_input_key(workspace, source, paired_logs):
    stored = Log.objects.get(external_id="b-3")
    assert stored.input_key == Log.objects.get(external_id="a-3").input_key
    created = Log.objects.create(
        workspace=workspace,
        source=source,
        external_id="by-hand",
        timestamp=stored.timestamp,
        input_text=question(3),
        output="x",
    )
    assert created.input_key == stored.input_key
    Log.objects.update(input_key=None)
    pairing.backfill_input_keys(Log, batch=7)
    assert Log.objects.filter(input_key__isnull=True).count() == 0
    assert Log.objects.get(external_id="b-3").input_key == created.input_key


def test_a_run_makes_pairwise_items_of_the_same_input_under_both_versions(workspace, paired_logs):
    queue = make_pairwise_queue(workspace)
    run = run_now(pair_rule(workspace, queue))
    assert run.picked == run.added == 10
    assert Item.objects.filter(queue=queue).count() == 10
    queue.refresh_from_db()
    assert queue.items_total == 10
    for item in Item.objects.filter(queue=queue).select_related("source_log"):
        log_a = item.source_log
        log_b = QueuedLog.objects.get(item=item, log__model_version="v2").log
        assert log_a.model_version == item.model_version == "v1"
        assert item.model_version_b == "v2" and item.output_b == log_b.output
        assert item.output == log_a.output and item.input_text == log_a.input_text
        assert log_a.input_key == log_b.input_key
        assert log_b.external_id == "b-" + log_a.external_id.removeprefix("a-")


def test_inputs_without_both_versions_and_identical_answers_never_pair(workspace, paired_logs):
    queue = make_pairwise_queue(workspace)
    rule = pair_rule(workspace, queue, count=1000)
    preview = sampling.preview(rule)
    assert preview["pairing"] is True
    assert preview["matching"] == 31  # 30 questions + the identical one
    assert preview["picked"] == 30
    assert sum(row["skipped"] for row in preview["by_stratum"]) == 1
    run_now(rule)
    pairs = pairs_in(queue)
    assert pairs == {(f"a-{n}", f"b-{n}") for n in range(30)}


@pytest.mark.parametrize(
    ("fields", "skipped"),
    [
        ({"count": 1}, {"": 2}),
        ({"count": 1, "strategy": "quota", "strata": ["metadata.topic"]}, {"sleep": 1, "meds": 1}),
    ],
)
def test_the_preview_counts_every_pair_it_would_skip_not_only_those_before_the_limit(
    workspace, source, paired_logs, fields, skipped
):
    # An empty answer beside a real one: skipped like the identical answers.
    ingest_lines(source, numbered([line("a-empty", "v1", 300, output=""), line("b-e", "v2", 300)]))
    rule = pair_rule(workspace, make_pairwise_queue(workspace), **fields)
    preview = sampling.preview(rule)
    assert preview["picked"] == (1 if fields.get("strategy") != "quota" else 3)
    counted = {row["stratum"]: row["skipped"] for row in preview["by_stratum"] if row["skipped"]}
    assert counted == {key or "(all)": n for key, n in skipped.items()}
    run = run_now(rule)
    assert run.added == preview["picked"]


def test_the_same_rule_pairs_the_same_logs_and_another_seed_other_ones(workspace, paired_logs):
    first = make_pairwise_queue(workspace, name="First")
    second = make_pairwise_queue(workspace, name="Second")
    third = make_pairwise_queue(workspace, name="Third")
    run_now(pair_rule(workspace, first, name="one"))
    run_now(pair_rule(workspace, second, name="two"))
    run_now(pair_rule(workspace, third, name="three", seed=8))
    assert len(pairs_in(first)) == 10
    assert pairs_in(first) == pairs_in(second)
    assert pairs_in(first) != pairs_in(third)


def test_later_runs_never_pair_an_input_already_in_the_queue(workspace, source, paired_logs):
    queue = make_pairwise_queue(workspace)
    rule = pair_rule(workspace, queue, count=20)
    run_now(rule)
    # Another v2 answer to a question already paired arrives: it is not paired again.
    ingest_lines(source, numbered([line("b-again-0", "v2", 0, output="A later answer.")]))
    second = run_now(rule)
    assert second.added == 10
    third = run_now(rule)
    assert third.added == 0 and third.skipped_duplicates == 30  # inputs already paired
    assert len(pairs_in(queue)) == 30
    assert not QueuedLog.objects.filter(log__external_id="b-again-0").exists()
    assert sampling.preview(rule)["already_in_queue"] == 30


def test_quotas_count_pairs_per_stratum_of_version_a(workspace, paired_logs):
    queue = make_pairwise_queue(workspace)
    rule = pair_rule(workspace, queue, strategy="quota", count=3, strata=["metadata.topic"])
    run = run_now(rule)
    assert run.added == 9
    topics = Counter(
        Item.objects.get(pk=q.item_id).metadata["topic"]
        for q in QueuedLog.objects.filter(queue=queue, log__model_version="v1")
    )
    assert topics == {"meds": 3, "diet": 3, "sleep": 3}
    assert {k: v["picked"] for k, v in run.by_stratum.items()} == topics


def test_a_rate_keeps_the_pairs_whose_seeded_input_hash_is_low(workspace, paired_logs):
    queue = make_pairwise_queue(workspace)
    rule = pair_rule(workspace, queue, strategy="rate", rate=0.4, count=None)
    run_now(rule)
    threshold = sampling.rate_threshold(0.4)
    expected = {
        (f"a-{n}", f"b-{n}")
        for n in range(30)
        if sampling.python_hash(str(Log.objects.get(external_id=f"a-{n}").input_key), 7) < threshold
    }
    assert 4 <= len(expected) <= 26
    assert pairs_in(queue) == expected


def test_disliked_answers_come_first(workspace, source, paired_logs):
    disliked = [4, 11, 23]
    Log.objects.filter(external_id__in=[f"b-{n}" for n in disliked]).update(feedback_negative=True)
    queue = make_pairwise_queue(workspace)
    run_now(pair_rule(workspace, queue, strategy="negative_first", count=3))
    assert pairs_in(queue) == {(f"a-{n}", f"b-{n}") for n in disliked}


def test_a_retried_run_adds_exactly_the_pairs_it_first_planned(workspace, source, paired_logs):
    queue = make_pairwise_queue(workspace)
    rule = pair_rule(workspace, queue, count=12)
    run = SamplingRun.objects.create(rule=rule)
    frozen = sampling._freeze_plan(run)
    sampling._add_batch(frozen, queue.pk, frozen.picks[:5])  # then the worker died
    ingest_lines(source, numbered([line(f"a-new-{n}", "v1", 300 + n) for n in range(20)]))
    ingest_lines(source, numbered([line(f"b-new-{n}", "v2", 300 + n) for n in range(20)]))
    finished = sampling.execute_run(run)
    assert finished.added == 12 and finished.status == SamplingRun.Status.DONE
    assert Item.objects.filter(queue=queue).count() == 12
    expected = {
        (Log.objects.get(pk=a).external_id, Log.objects.get(pk=b).external_id)
        for a, b, _ in frozen.picks
    }
    assert pairs_in(queue) == expected


# --- The form ------------------------------------------------------------------------------


def form(queue, **overrides) -> dict:
    data = {
        "name": "Compare versions",
        "queue": queue.pk,
        "strategy": "fixed",
        "count": "5",
        "schedule": "manual",
        "seed": "7",
        "active": "on",
        "pair_version_a": "v1",
        "pair_version_b": "v2",
    }
    data.update(overrides)
    return data


def test_an_author_creates_a_pairing_rule_and_previews_its_pairs(
    client, author, workspace, paired_logs
):
    queue = make_pairwise_queue(workspace)
    client.force_login(author)
    response = client.post(BASE + "new/", form(queue))
    rule = SamplingRule.objects.get()
    assert response.status_code == 302
    assert (rule.pair_version_a, rule.pair_version_b) == ("v1", "v2")
    page = client.get(f"{BASE}{rule.pk}/").content.decode()
    assert "pairs <code>v1</code> with <code>v2</code>" in page
    html = client.get(f"{BASE}{rule.pk}/preview/", HTTP_HX_REQUEST="true").content.decode()
    assert "31 inputs answered by both versions" in html
    assert 'id="preview-picked">5<' in html


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"pair_version_a": ""}, "A pairwise queue needs the version shown as A."),
        ({"pair_version_b": " "}, "A pairwise queue needs the version to compare with."),
        ({"pair_version_b": "v1"}, "Choose two different versions."),
    ],
)
def test_a_pairwise_queue_needs_two_different_versions(
    client, author, workspace, overrides, message
):
    queue = make_pairwise_queue(workspace)
    client.force_login(author)
    response = client.post(BASE + "new/", form(queue, **overrides))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not SamplingRule.objects.exists()


def test_a_rubric_queue_takes_no_pair_of_versions(client, author, workspace):
    queue = make_queue(workspace)
    assert queue.kind == Queue.Kind.RUBRIC
    client.force_login(author)
    response = client.post(BASE + "new/", form(queue))
    assert response.status_code == 422
    assert "Only a pairwise queue takes pairs of versions." in response.content.decode()
