"""Stored pairwise results: the snapshot, its recompute triggers, and the results page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from unittest import mock

import choix
import numpy as np
import pytest
from django.urls import reverse

from annotate.models import Assignment, Judgment, SwapCheck
from annotate.pairwise import SWAP_CHECK_GAP, claim_pair, submit_pair
from evals.models import Job, LeaderboardSnapshot
from evals.results import hooks
from evals.results import pairwise as pairwise_results
from evals.results.tasks import refresh_leaderboard, refresh_stale_leaderboards
from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.factories import UserFactory

# Each reviewer answers these in output terms (A is v1): mostly A, some ties and both-bads.
PLAN = ["a", "a", "b", "a", "tie", "a", "both_bad", "b", "a", "a"]


def grade_all(queue, reviewer, plan):
    criteria = list(queue.rubric_version.criteria.all())
    for preference in plan:
        task = claim_pair(queue, reviewer)
        if task is None:
            return
        if preference in ("a", "b"):
            screen = "left" if (preference == "a") == task.a_on_left else "right"
        else:
            screen = preference
        submit_pair(queue, task, criteria, {"choice": screen})


def build(workspace, clinicians, reviewer, second_reviewer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=len(PLAN), k=2)
    grade_all(queue, reviewer, PLAN)
    grade_all(queue, second_reviewer, PLAN)
    return queue


def test_the_snapshot_counts_wins_in_output_terms_and_rates_like_choix(
    workspace, clinicians, reviewer, second_reviewer
):
    queue = build(workspace, clinicians, reviewer, second_reviewer)
    snapshot = pairwise_results.refresh(queue)
    board = snapshot.data["overall"]
    assert board["variants"] == ["assistant v1", "assistant v2"]
    assert board["wins"] == [12, 4] and board["losses"] == [4, 12]
    assert board["ties"] == [4, 4] and board["both_bad"] == [2, 2]
    assert board["rank"] == [1, 2]
    # Ties as half wins: 12 + 2 = 14 against 4 + 2 = 6, so the gap is ln(14 / 6).
    assert (
        board["rating"][0] - board["rating"][1] == np.log(14 / 6).__float__()
        or abs(board["rating"][0] - board["rating"][1] - np.log(14 / 6)) < 1e-9
    )
    theirs = choix.ilsr_pairwise(2, [(0, 1)] * 28 + [(1, 0)] * 12)
    assert np.allclose(board["rating"], theirs, atol=1e-6)
    assert board["ci_low"][0] <= board["rating"][0] <= board["ci_high"][0]
    assert snapshot.data["cohorts"]["Clinicians"]["wins"] == [12, 4]
    assert snapshot.judgments == 20
    bias = snapshot.data["position_bias"]["overall"]
    assert bias["trials"] == 16 and 0 <= bias["low"] <= bias["share"] <= bias["high"] <= 1


def test_refreshing_twice_replaces_the_snapshot(workspace, clinicians, reviewer, second_reviewer):
    queue = build(workspace, clinicians, reviewer, second_reviewer)
    refresh_leaderboard(queue.pk)
    refresh_leaderboard(queue.pk)
    assert LeaderboardSnapshot.objects.filter(queue=queue).count() == 1


def test_beat_recomputes_only_queues_with_new_judgments(
    workspace, clinicians, reviewer, second_reviewer
):
    queue = build(workspace, clinicians, reviewer, second_reviewer)
    assert refresh_stale_leaderboards() == 1
    assert refresh_stale_leaderboards() == 0
    extra = UserFactory(username="third")
    clinicians.members.add(extra)
    queue.items.update(judgments_needed=3, state="open")
    type(queue).objects.filter(pk=queue.pk).update(items_complete=0)
    grade_all(queue, extra, ["b"])
    assert refresh_stale_leaderboards() == 1
    assert LeaderboardSnapshot.objects.get(queue=queue).judgments == 21


def test_every_nth_pairwise_judgment_enqueues_a_recompute_after_commit(
    workspace, clinicians, reviewer, settings, django_capture_on_commit_callbacks
):
    settings.QUORUM_LEADERBOARD_EVERY = 2
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=4)
    with (
        mock.patch("evals.results.hooks.app.send_task") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        grade_all(queue, reviewer, ["a", "b", "tie"])
    assert send.call_args_list == [mock.call(hooks.REFRESH_LEADERBOARD, args=[queue.pk])]
    json.dumps(send.call_args.kwargs["args"])  # task arguments survive the JSON serializer
    assert refresh_leaderboard.name == hooks.REFRESH_LEADERBOARD  # the worker's task


def test_the_recompute_is_sent_by_name_from_a_process_that_never_imported_the_tasks():
    """Web processes do not import tasks modules; looking the task up in the registry
    there raised NotRegistered and answered 500 on every N-th pairwise judgment."""
    script = (
        "import sys, django; django.setup()\n"
        "from unittest import mock\n"
        "from evals.results import hooks\n"
        "assert 'evals.results.tasks' not in sys.modules\n"
        "with mock.patch.object(hooks.app, 'send_task') as send:\n"
        "    hooks._send_refresh(7)\n"
        "print(send.call_args_list)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "call('evals.tasks.refresh_leaderboard', args=[7])" in result.stdout


def test_swap_consistency_is_reported_per_reviewer(workspace, clinicians, reviewer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=8)
    grade_all(queue, reviewer, ["a"] * (SWAP_CHECK_GAP + 2))
    queue.swap_check_rate = 1.0
    queue.save(update_fields=["swap_check_rate"])
    # A repeat (same answer), the new pair held behind it, a repeat (other answer).
    grade_all(queue, reviewer, ["a", "tie", "b"])
    assert SwapCheck.objects.filter(state="submitted").count() == 2
    assert Judgment.objects.count() == SWAP_CHECK_GAP + 3
    data = pairwise_results.refresh(queue).data["swap_consistency"]
    assert data["overall"]["trials"] == 2 and data["overall"]["successes"] == 1
    assert data["by_reviewer"][reviewer.username]["share"] == 0.5


def test_the_results_page_shows_the_leaderboard_heatmap_and_audits(
    client, workspace, clinicians, reviewer, second_reviewer, author
):
    queue = build(workspace, clinicians, reviewer, second_reviewer)
    pairwise_results.refresh(queue)
    client.force_login(author)
    response = client.get(reverse("leaderboard", args=[workspace.slug, queue.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="leaderboard-table"' in body and 'id="win-rate"' in body
    assert 'data-chart="forest-config"' in body and 'id="forest-config"' in body
    cells = re.findall(r'<td class="(wr-[^"]+)">([^<]*)</td>', body)
    assert cells == [("wr-none", "–"), ("wr-7", "70%"), ("wr-3", "30%"), ("wr-none", "–")]
    assert 'id="position-bias"' in body
    assert "<script>" not in body and "style=" not in body
    csv = client.get(reverse("leaderboard-csv", args=[workspace.slug, queue.pk]))
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("rank,variant,rating") and lines[1].startswith("1,assistant v1,")
    cohort = client.get(
        reverse("leaderboard", args=[workspace.slug, queue.pk]), {"cohort": "Clinicians"}
    )
    assert "Leaderboard · Clinicians" in cohort.content.decode()


def test_the_recompute_button_creates_a_job(client, workspace, clinicians, engineer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=1)
    client.force_login(engineer)
    url = reverse("leaderboard-recompute", args=[workspace.slug, queue.pk])
    with mock.patch("evals.jobs.dispatch") as dispatch:
        response = client.post(url)
    job = Job.objects.get(kind="leaderboard")
    assert response.status_code == 302 and response.url.endswith(f"?job={job.pk}")
    assert job.params == {"queue_id": queue.pk}
    page = client.get(response.url).content.decode()
    assert f'id="job-{job.pk}"' in page and "Not computed yet." in page
    del dispatch


def test_the_leaderboard_job_runs_and_records_success(
    workspace, clinicians, reviewer, second_reviewer
):
    from evals.jobs import create_job
    from evals.results.tasks import leaderboard_job

    queue = build(workspace, clinicians, reviewer, second_reviewer)
    job = create_job(
        workspace, "leaderboard", "evals.tasks.leaderboard_job", {"queue_id": queue.pk}
    )
    leaderboard_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result == {"judgments": 20}
    assert LeaderboardSnapshot.objects.filter(queue=queue).exists()


def test_only_setup_readers_of_the_workspace_see_results(
    client, workspace, clinicians, reviewer, outsider
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=1)
    url = reverse("leaderboard", args=[workspace.slug, queue.pk])
    client.force_login(reviewer)
    assert client.get(url).status_code == 403
    assert (
        client.post(reverse("leaderboard-recompute", args=[workspace.slug, queue.pk])).status_code
        == 403
    )
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert (
        client.get(reverse("leaderboard-csv", args=[workspace.slug, queue.pk])).status_code == 404
    )
    assert not Assignment.objects.exists()


@pytest.mark.worker
@pytest.mark.redis
def test_a_real_worker_computes_the_snapshot(
    celery_worker_process, workspace, clinicians, reviewer, second_reviewer
):
    from celery import Celery

    queue = build(workspace, clinicians, reviewer, second_reviewer)
    sender = Celery("quorum-test", broker=celery_worker_process["broker"])
    sender.send_task("evals.tasks.refresh_leaderboard", args=[queue.pk])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = LeaderboardSnapshot.objects.filter(queue=queue).first()
        if snapshot is not None:
            break
        time.sleep(0.3)
    else:
        pytest.fail("No snapshot after 60 s:\n" + celery_worker_process["log"].read_text())
    assert snapshot.judgments == 20
    assert snapshot.data["overall"]["rank"] == [1, 2]
