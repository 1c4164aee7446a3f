"""GET /api/v1/queues/{id}/agreement and /leaderboard: the stored reports, as the pages
show them, for the token's own workspace only."""

from evals.results import pairwise as pairwise_results
from evals.results import snapshots as agreement_snapshots
from tests.evals.results.test_pairwise_results import build
from tests.factories import make_token


def _get(client, token, path):
    return client.get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_agreement_is_null_until_computed_then_the_latest_report(
    client, workspace, graded_queue, api_token
):
    empty = _get(client, api_token, f"/queues/{graded_queue.pk}/agreement").json()
    assert empty == {
        "queue_id": graded_queue.pk,
        "computed_at": None,
        "judgment_count": None,
        "report": None,
    }
    snapshot = agreement_snapshots.take_snapshot(graded_queue)
    body = _get(client, api_token, f"/queues/{graded_queue.pk}/agreement").json()
    assert body["judgment_count"] == snapshot.judgment_count == 8
    assert body["report"] == snapshot.report
    assert {c["key"] for c in body["report"]["criteria"]} >= {"accuracy", "harm", "safe"}


def test_a_pairwise_queues_leaderboard(
    client, workspace, clinicians, reviewer, second_reviewer, api_token
):
    queue = build(workspace, clinicians, reviewer, second_reviewer)
    assert _get(client, api_token, f"/queues/{queue.pk}/leaderboard").json()["leaderboard"] is None
    snapshot = pairwise_results.refresh(queue)
    body = _get(client, api_token, f"/queues/{queue.pk}/leaderboard").json()
    assert body["judgments"] == snapshot.judgments
    assert body["leaderboard"]["overall"]["variants"] == ["assistant v1", "assistant v2"]
    assert body["leaderboard"]["overall"]["wins"] == [12, 4]


def test_a_rubric_queue_has_no_leaderboard(client, graded_queue, api_token):
    response = _get(client, api_token, f"/queues/{graded_queue.pk}/leaderboard")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_pairwise"


def test_another_workspaces_token_gets_404(client, graded_queue, outsider):
    other = outsider.memberships.get().workspace
    token = make_token(other, "theirs")[1]
    for path in ("agreement", "leaderboard"):
        response = _get(client, token, f"/queues/{graded_queue.pk}/{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
