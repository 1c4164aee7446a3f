from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotate.models import Item
from evals.ingest.pipeline import ingest_lines
from evals.models import Job, QueuedLog, SamplingRule, SamplingRun
from evals.sampling import rules as sampling
from tests.evals.conftest import log_line, numbered
from tests.factories import make_queue


@pytest.fixture
def logs(source):
    ingest_lines(source, numbered([log_line(n) for n in range(120)]))
    return source


def make_rule(workspace, queue, **fields) -> SamplingRule:
    fields.setdefault("name", "rule")
    fields.setdefault("seed", 42)
    return SamplingRule.objects.create(workspace=workspace, queue=queue, **fields)


def reference_hash(text: str, seed: int) -> int:
    """The seeded hash each database is documented to use, computed on its own."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT hashtextextended(%s, %s)", [text, seed])
            return cursor.fetchone()[0]
    return sampling.python_hash(text, seed)


def run_now(rule) -> SamplingRun:
    run = SamplingRun.objects.create(rule=rule)
    return sampling.execute_run(run)


def picked_ids(queue) -> set[int]:
    return set(QueuedLog.objects.filter(queue=queue).values_list("log_id", flat=True))


def test_the_same_rule_over_the_same_logs_picks_the_same_logs(workspace, logs):
    first = make_queue(workspace, name="A")
    second = make_queue(workspace, name="B", rubric_version=first.rubric_version)
    run_now(make_rule(workspace, first, name="a", strategy="fixed", count=10))
    run_now(make_rule(workspace, second, name="b", strategy="fixed", count=10))
    assert len(picked_ids(first)) == 10
    assert picked_ids(first) == picked_ids(second)


def test_another_seed_picks_other_logs(workspace, logs):
    first = make_queue(workspace, name="A")
    second = make_queue(workspace, name="B", rubric_version=first.rubric_version)
    run_now(make_rule(workspace, first, name="a", strategy="fixed", count=10, seed=1))
    run_now(make_rule(workspace, second, name="b", strategy="fixed", count=10, seed=2))
    assert picked_ids(first) != picked_ids(second)


def test_a_rate_picks_about_that_share_and_the_same_logs_each_time(workspace, logs):
    queue = make_queue(workspace)
    rule = make_rule(workspace, queue, strategy="rate", rate=0.25)
    preview = sampling.preview(rule)
    run = run_now(rule)
    assert run.added == preview["picked"]
    assert 15 <= run.added <= 45
    expected = {
        log.pk
        for log in logs.logs.all()
        if reference_hash(f"{log.source_id}:{log.external_id}", 42) < sampling.rate_threshold(0.25)
    }
    assert picked_ids(queue) == expected


def test_a_log_never_enters_the_same_queue_twice(workspace, logs):
    queue = make_queue(workspace)
    rule = make_rule(workspace, queue, strategy="rate", rate=0.5)
    first = run_now(rule)
    second = run_now(rule)
    assert second.added == 0
    assert second.skipped_duplicates == first.added
    assert Item.objects.filter(queue=queue).count() == first.added
    queue.refresh_from_db()
    assert queue.items_total == first.added


def test_fixed_runs_take_new_logs_each_time(workspace, logs):
    queue = make_queue(workspace)
    rule = make_rule(workspace, queue, strategy="fixed", count=30)
    run_now(rule)
    run_now(rule)
    assert len(picked_ids(queue)) == 60


def test_quotas_pick_up_to_n_per_stratum(workspace, logs):
    queue = make_queue(workspace)
    rule = make_rule(
        workspace, queue, strategy="quota", count=7, strata=["metadata.topic", "model_version"]
    )
    run = run_now(rule)
    strata = Counter(QueuedLog.objects.filter(queue=queue).values_list("stratum", flat=True))
    assert strata == {f"{t} · {v}": 7 for t in ("meds", "diet", "sleep") for v in ("v1", "v2")}
    assert run.by_stratum["meds · v1"] == {"matching": 20, "picked": 7}
    item = Item.objects.filter(queue=queue).first()
    assert item.source_log.metadata["topic"] == item.metadata["topic"]


def test_negative_feedback_comes_first(workspace, logs):
    queue = make_queue(workspace)
    run_now(make_rule(workspace, queue, strategy="negative_first", count=30))
    logs_in = QueuedLog.objects.filter(queue=queue).select_related("log")
    assert sum(q.log.feedback_negative for q in logs_in) == 24  # every 5th of 120
    assert logs_in.count() == 30


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"model_versions": ["v1"]}, 60),
        ({"metadata": {"topic": "meds"}}, 40),
        ({"feedback_negative": True}, 24),
        ({"text_contains": "question 11"}, 11),  # 11, 110..119
        ({"min_length": 67, "max_length": 67}, 90),  # "Answer nn: ..." two-digit numbers
        ({"model_versions": ["v1"], "metadata": {"topic": "diet"}}, 20),
        ({"since": "2026-11-02T00:00:00+00:00"}, 0),
        ({"model_names": ["other"]}, 0),
    ],
)
def test_filters_narrow_the_matching_logs(workspace, logs, filters, expected):
    rule = make_rule(
        workspace, make_queue(workspace), strategy="rate", rate=1.0,
        filters=sampling.validate_filters(filters),
    )  # fmt: skip
    assert sampling.preview(rule)["matching"] == expected


def test_the_preview_writes_nothing_and_counts_by_stratum(workspace, logs):
    queue = make_queue(workspace)
    rule = make_rule(workspace, queue, strategy="quota", count=5, strata=["model_version"])
    preview = sampling.preview(rule)
    assert preview["by_stratum"] == [
        {"stratum": "v1", "matching": 60, "picked": 5},
        {"stratum": "v2", "matching": 60, "picked": 5},
    ]
    assert not QueuedLog.objects.exists() and not Item.objects.exists()


def test_bad_filters_and_strata_are_refused():
    with pytest.raises(sampling.RuleError):
        sampling.validate_filters({"metadata": {"a__b": "x"}})
    with pytest.raises(sampling.RuleError):
        sampling.validate_filters({"since": "last week"})
    with pytest.raises(sampling.RuleError):
        sampling.validate_strata(["output"])


def test_due_rules_are_started_once_and_rescheduled(
    workspace, logs, django_capture_on_commit_callbacks
):
    queue = make_queue(workspace)
    now = timezone.now()
    rule = make_rule(
        workspace, queue, strategy="fixed", count=5, schedule="hourly", next_run_at=now
    )
    make_rule(workspace, queue, name="manual", strategy="fixed", count=5)
    with django_capture_on_commit_callbacks(execute=False):
        assert sampling.run_due_rules(now) == 1
        assert sampling.run_due_rules(now) == 0
    rule.refresh_from_db()
    assert rule.next_run_at == now + timedelta(hours=1)
    run = SamplingRun.objects.get()
    assert run.trigger == "schedule" and run.job.kind == "sampling"
    sampling.run_job(run.job.pk)
    run.refresh_from_db()
    assert run.added == 5
    assert Job.objects.get().status == Job.Status.SUCCEEDED


def test_a_retried_run_keeps_its_first_pick_list(workspace, logs):
    queue = make_queue(workspace)
    rule = make_rule(workspace, queue, strategy="fixed", count=10)
    run = SamplingRun.objects.create(rule=rule)
    frozen = sampling._freeze_plan(run)
    # Half the picks were added before the worker died...
    sampling._add_batch(frozen, queue.pk, frozen.picks[:5])
    # ...and meanwhile new logs arrived that would rank first.
    ingest_lines(logs, numbered([log_line(n) for n in range(1000, 1100)]))
    finished = sampling.execute_run(run)
    assert finished.added == 10
    assert picked_ids(queue) == {log_id for log_id, _ in frozen.picks}
