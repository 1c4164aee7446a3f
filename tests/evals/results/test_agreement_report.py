"""The queue agreement report: per criterion, per cohort, across cohorts; snapshots."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evals.models import AgreementSnapshot, Job
from evals.results import snapshots as agreement_snapshots
from evals.results.agreement import queue_report
from tests.evals.stats.agreement_data import record, two_cohort_queue

ACCURACY = {  # reviewer -> accuracy per item (None: not rated)
    "doc-a": [5, 4, 2, 1, 3, 5],
    "doc-b": [5, 4, 2, 2, 3, None],
    "doc-c": [4, 4, 1, 1, None, 5],
    "lay-a": [3, 3, 3, 3, 3, 3],
    "lay-b": [5, 2, 4, 1, 2, 3],
}


@pytest.fixture
def graded(workspace):
    data = two_cohort_queue(workspace)
    people = {u.username: u for u in data["clinicians"] + data["lay_reviewers"]}
    for name, scores in ACCURACY.items():
        for item, score in zip(data["items"], scores, strict=True):
            if score is None:
                continue
            answers = {"accuracy": score, "safe": score >= 3, "harm": "none", "comment": "x"}
            record(data["queue"], item, people[name], answers)
    return data


def _matrix(names):
    return np.array([[np.nan if v is None else v for v in ACCURACY[n]] for n in names], float)


def test_the_report_has_overall_per_cohort_and_cross_cohort_agreement(graded):
    report = queue_report(graded["queue"], resamples=50)
    keys = [section["key"] for section in report["criteria"]]
    assert keys == ["accuracy", "harm", "safe", "minutes"]  # free text is not measured
    assert report["criteria"][3]["overall"] is None  # nobody answered the optional number
    accuracy = report["criteria"][0]
    assert accuracy["level"] == "ordinal"
    overall = accuracy["overall"]["coefficients"]["krippendorff_alpha"]
    expected = krippendorff.alpha(_matrix(ACCURACY), level_of_measurement="ordinal")
    assert overall["value"] == pytest.approx(expected, abs=1e-9)
    assert overall["n_items"] == 6 and overall["n_raters"] == 5
    cohorts = {c["name"]: c["result"] for c in accuracy["cohorts"]}
    clinicians = krippendorff.alpha(
        _matrix(["doc-a", "doc-b", "doc-c"]), level_of_measurement="ordinal"
    )
    assert cohorts["Clinicians"]["coefficients"]["krippendorff_alpha"]["value"] == pytest.approx(
        clinicians, abs=1e-9
    )
    assert cohorts["Lay reviewers"]["n_raters"] == 2
    (across,) = accuracy["across_cohorts"]
    assert across["cohorts"] == ["Clinicians", "Lay reviewers"]
    assert across["shared_items"] == 6
    assert across["result"]["n_raters"] == 2


def test_pass_fail_is_nominal_and_all_agree_gives_no_alpha(graded):
    report = queue_report(graded["queue"], resamples=0)
    harm = report["criteria"][1]
    assert harm["level"] == "nominal"
    # Every reviewer said "none": no variation, so alpha is undefined, not 1.
    alpha = harm["overall"]["coefficients"]["krippendorff_alpha"]
    assert alpha["value"] is None
    assert harm["overall"]["coefficients"]["percent_agreement"]["value"] == 1.0


def test_the_report_reads_judgments_with_one_query(graded):
    queue = graded["queue"]
    queue.rubric_version  # noqa: B018 - loaded by the view before the report
    with CaptureQueriesContext(connection) as queries:
        queue_report(queue, resamples=20)
    judgment_queries = [q for q in queries.captured_queries if "annotate_judgment" in q["sql"]]
    assert len(judgment_queries) == 1
    assert len(queries.captured_queries) <= 4  # judgments, criteria, cohorts, members


def test_pairwise_queues_measure_agreement_on_the_preference(workspace):
    data = two_cohort_queue(workspace, items=4)
    queue = data["queue"]
    queue.kind = "pairwise"
    queue.save(update_fields=["kind"])
    choices = {"doc-a": "a b tie a", "doc-b": "a b a a", "doc-c": "a b tie both_bad"}
    people = {u.username: u for u in data["clinicians"]}
    for name, picks in choices.items():
        for item, pick in zip(data["items"], picks.split(), strict=True):
            record(queue, item, people[name], {"preference": pick})
    report = queue_report(queue, resamples=0)
    preference = report["criteria"][0]
    assert preference["key"] == "preference" and preference["level"] == "nominal"
    matrix = np.array(
        [[["a", "b", "tie", "both_bad"].index(p) for p in c.split()] for c in choices.values()],
        float,
    )
    expected = krippendorff.alpha(matrix, level_of_measurement="nominal")
    assert preference["overall"]["coefficients"]["krippendorff_alpha"]["value"] == pytest.approx(
        expected
    )


def test_a_snapshot_job_stores_the_report_once_even_when_run_twice(graded, settings):
    queue = graded["queue"]
    settings.QUORUM_AGREEMENT_RESAMPLES = 20
    job = agreement_snapshots.request_snapshot(queue)
    assert agreement_snapshots.request_snapshot(queue) == job  # one waiting job per queue
    snapshot = agreement_snapshots.run_job(job.pk)
    assert snapshot.judgment_count == 28
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)  # delivered again
    agreement_snapshots.run_job(job.pk)
    assert AgreementSnapshot.objects.filter(queue=queue).count() == 1


def test_queues_become_due_after_n_new_judgments_or_on_schedule(graded, settings):
    queue = graded["queue"]
    settings.QUORUM_AGREEMENT_RESAMPLES = 0
    settings.QUORUM_AGREEMENT_EVERY_N = 2
    assert agreement_snapshots.due_queues() == [queue]  # never computed
    agreement_snapshots.take_snapshot(queue)
    assert agreement_snapshots.due_queues() == []
    people = {u.username: u for u in graded["clinicians"]}
    answers = {"accuracy": 3, "safe": True, "harm": "none"}
    record(queue, graded["items"][4], people["doc-c"], answers)
    assert agreement_snapshots.due_queues() == []  # one new judgment, snapshot still fresh
    later = timezone.now() + agreement_snapshots.interval() * 2
    assert agreement_snapshots.due_queues(later) == [queue]  # changed, and the snapshot is old
    record(queue, graded["items"][5], people["doc-b"], answers)
    assert agreement_snapshots.due_queues() == [queue]  # N new judgments
    assert agreement_snapshots.enqueue_due() == 1
    assert agreement_snapshots.enqueue_due() == 0  # its job is already waiting
