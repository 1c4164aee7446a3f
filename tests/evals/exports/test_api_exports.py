import hashlib
import io
import json
from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from django.core.cache import cache
from django.test import override_settings

from annotate.api_common import make_cursor
from annotate.models import Item, Judgment, Queue
from evals.exports.jobs import run_export_job
from evals.models import Job
from tests.evals.exports.test_exports import SNAPSHOT, _export
from tests.factories import WorkspaceFactory, make_queue, make_token


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_queues_list_shows_progress(client, graded_queue, auth):
    response = client.get("/api/v1/queues", **auth)
    assert response.status_code == 200
    (queue,) = response.json()["results"]
    assert queue["id"] == graded_queue.pk
    assert queue["items_total"] == 4 and queue["items_complete"] == 4 and queue["progress"] == 1.0
    assert response.json()["next_cursor"] is None


def test_queues_are_paginated_with_an_opaque_cursor(client, workspace, auth):
    for n in range(3):
        make_queue(workspace, name=f"q{n}")
    first = client.get("/api/v1/queues?limit=2", **auth).json()
    assert len(first["results"]) == 2 and first["next_cursor"]
    second = client.get(f"/api/v1/queues?limit=2&cursor={first['next_cursor']}", **auth).json()
    assert [q["name"] for q in second["results"]] == ["q2"] and second["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["garbage", "bWFkZS11cA", "eyJzIjoicXVldWVzIiwiYSI6MX0:bad:sig"])
def test_a_bad_cursor_is_400_in_the_error_format(client, workspace, auth, cursor):
    response = client.get(f"/api/v1/queues?cursor={cursor}", **auth)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_cursor"


def test_a_cursor_from_another_listing_is_refused(client, workspace, auth):
    cursor = make_cursor("judgments", 1)
    response = client.get(f"/api/v1/queues?cursor={cursor}", **auth)
    assert response.status_code == 400


def test_adding_items_to_a_queue(client, workspace, auth):
    queue = make_queue(workspace)
    body = {
        "items": [
            {"input_text": "Q", "output": "A", "model_version": "v3"},
            {"input": [{"role": "user", "content": "Q2"}], "output": "B"},
        ]
    }
    response = client.post(
        f"/api/v1/queues/{queue.pk}/items", body, content_type="application/json", **auth
    )
    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert Item.objects.filter(queue=queue).count() == 2
    queue.refresh_from_db()
    assert queue.items_total == 2


def test_bad_items_are_422_and_add_nothing(client, workspace, auth):
    queue = make_queue(workspace)
    response = client.post(
        f"/api/v1/queues/{queue.pk}/items",
        {"items": [{"input_text": "no output"}]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert not Item.objects.filter(queue=queue).exists()


def test_another_workspaces_queue_is_404(client, workspace, outsider, auth):
    other = make_queue(outsider.memberships.get().workspace, items=1)
    assert client.get(f"/api/v1/queues/{other.pk}", **auth).status_code == 404
    response = client.post(
        f"/api/v1/queues/{other.pk}/items",
        {"items": [{"input_text": "q", "output": "x"}]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/judgments?queue_id={other.pk}", **auth).status_code == 404


def test_judgments_are_read_page_by_page_with_pseudonymous_reviewers(
    client, graded_queue, reviewer, auth
):
    seen = []
    url = f"/api/v1/judgments?queue_id={graded_queue.pk}&limit=3"
    while url:
        body = client.get(url, **auth).json()
        seen += body["results"]
        url = f"/api/v1/judgments?queue_id={graded_queue.pk}&limit=3&cursor={body['next_cursor']}"
        url = url if body["next_cursor"] else None
    assert sorted(j["id"] for j in seen) == sorted(
        Judgment.objects.filter(queue=graded_queue).values_list("pk", flat=True)
    )
    assert all(j["reviewer"].startswith("r-") for j in seen)
    assert reviewer.username not in str(seen)


def test_the_since_filter_reads_later_judgments_only(client, graded_queue, auth):
    since = (SNAPSHOT - timedelta(days=1) + timedelta(minutes=6)).isoformat().replace("+", "%2B")
    body = client.get(f"/api/v1/judgments?since={since}", **auth).json()
    assert len(body["results"]) == 2


def test_an_export_job_is_created_polled_and_downloaded(client, graded_queue, workspace, auth):
    response = client.post(
        "/api/v1/exports",
        {"shape": "judgments", "format": "parquet", "filters": {"model_versions": ["v1"]}},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 202
    export = response.json()
    assert export["status"] == "queued" and export["files"] == []
    run_export_job(export["id"])  # what the Celery task does
    polled = client.get(f"/api/v1/exports/{export['id']}", **auth).json()
    assert polled["status"] == "succeeded" and polled["percent"] == 100
    files = {f["name"]: f for f in polled["files"]}
    assert set(files) == {"judgments.parquet", "README.md", "manifest.json"}
    download = client.get(files["judgments.parquet"]["url"], **auth)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == files["judgments.parquet"]["sha256"]
    assert pq.read_table(io.BytesIO(data)).num_rows == 4
    listed = client.get("/api/v1/exports", **auth).json()["results"]
    assert [e["id"] for e in listed] == [export["id"]]


def test_a_rerun_export_job_writes_the_same_bytes(client, graded_queue, workspace, auth):
    export = client.post(
        "/api/v1/exports", {"format": "csv"}, content_type="application/json", **auth
    ).json()
    run_export_job(export["id"])
    first = client.get(f"/api/v1/exports/{export['id']}", **auth).json()["files"]
    Job.objects.filter(pk=export["id"]).update(status=Job.Status.QUEUED)
    run_export_job(export["id"])
    again = client.get(f"/api/v1/exports/{export['id']}", **auth).json()["files"]
    assert first == again


def test_another_workspaces_export_and_its_files_are_404(client, graded_queue, workspace, auth):
    other = WorkspaceFactory(slug="elsewhere")
    _, other_token = make_token(other, "theirs")
    export = client.post(
        "/api/v1/exports", {"format": "csv"}, content_type="application/json", **auth
    ).json()
    run_export_job(export["id"])
    theirs = {"HTTP_AUTHORIZATION": f"Bearer {other_token}"}
    assert client.get(f"/api/v1/exports/{export['id']}", **theirs).status_code == 404
    url = f"/api/v1/exports/{export['id']}/files/judgments.csv"
    assert client.get(url, **theirs).status_code == 404
    assert client.get(url).status_code == 401
    assert (
        client.get(f"/api/v1/exports/{export['id']}/files/..%2Fsecret", **auth).status_code == 404
    )


@pytest.mark.parametrize(
    "body",
    [
        {"shape": "nope"},
        {"format": "xlsx"},
        {"filters": {"min_agreement": 3}},
        {"filters": {"since": "not a time"}},
        {"filters": {"queue_ids": ["a"]}},
    ],
)
def test_bad_export_requests_are_422(client, workspace, auth, body):
    response = client.post("/api/v1/exports", body, content_type="application/json", **auth)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


def test_filters_naming_another_workspaces_queue_are_400(client, workspace, outsider, auth):
    other = make_queue(outsider.memberships.get().workspace)
    response = client.post(
        "/api/v1/exports",
        {"filters": {"queue_ids": [other.pk]}},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_filter"
    response = client.post(
        "/api/v1/exports",
        {"shape": "sft", "format": "csv"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400


def test_judgments_are_imported_through_the_api(client, graded_queue, workspace, tmp_path):
    path, _ = _export(workspace, tmp_path, "judgments", "csv")
    empty = WorkspaceFactory(slug="empty")
    queue = make_queue(empty, k=2)
    _, token = make_token(empty, "importer")
    with path.open("rb") as handle:
        response = client.post(
            "/api/v1/imports",
            {"queue_id": queue.pk, "format": "csv", "file": handle},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 8 and response.json()["errors"] == []
    with path.open("rb") as handle:
        again = client.post(
            "/api/v1/imports",
            {"queue_id": queue.pk, "format": "csv", "file": handle},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        ).json()
    assert (again["created"], again["duplicate"], again["refused"]) == (0, 8, 0)


def test_an_unreadable_import_file_is_400(client, workspace, auth):
    queue = make_queue(workspace)
    response = client.post(
        "/api/v1/imports",
        {"queue_id": queue.pk, "format": "parquet", "file": io.BytesIO(b"nope")},
        **auth,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_file"


def test_a_pairwise_queue_takes_pairs_and_refuses_a_rubric_row(client, workspace, auth):
    queue = make_queue(workspace, name="Pairs", kind=Queue.Kind.PAIRWISE)
    rows = [
        {"input_text": "Q", "output_a": "A", "output_b": "B", "reviewer": "x", "preferred": "b"},
        {"input_text": "Q", "output": "A", "reviewer": "y", "answer_accuracy": 4},
    ]
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    response = client.post(
        "/api/v1/imports",
        {"queue_id": queue.pk, "format": "jsonl", "file": io.BytesIO(body)},
        **auth,
    )
    assert response.status_code == 200, response.content
    assert (response.json()["created"], response.json()["refused"]) == (1, 1)
    assert response.json()["errors"] == [{"row": 2, "message": "Missing output_a, output_b."}]
    assert Judgment.objects.get(queue=queue).answers["preference"] == "b"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer qrm_x_y", "Token abc", "Bearer "])
@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/api/v1/queues"),
        ("get", "/api/v1/judgments"),
        ("get", "/api/v1/exports"),
        ("post", "/api/v1/exports"),
        ("get", "/api/v1/exports/1"),
        ("get", "/api/v1/exports/1/files/judgments.csv"),
        ("post", "/api/v1/imports"),
        ("post", "/api/v1/queues/1/items"),
    ],
)
def test_every_endpoint_needs_a_valid_token(client, workspace, header, method, url):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = getattr(client, method)(url, **extra)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@override_settings(QUORUM_API_RATE_LIMIT=3)
def test_a_token_over_its_rate_limit_gets_429_with_retry_after(client, workspace, auth):
    codes = [client.get("/api/v1/queues", **auth).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/queues", **auth)
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    _, other = make_token(workspace, "another")
    assert client.get("/api/v1/queues", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200


def test_the_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/queues", "/api/v1/judgments", "/api/v1/exports", "/api/v1/imports"):
        assert path in paths
    assert client.get("/api/v1/docs").status_code == 200


def test_an_unknown_filter_or_field_is_refused_not_ignored(client, workspace, api_token):
    for body in (
        {"shape": "judgments", "format": "csv", "filters": {"queue_id": [1]}},
        {"shape": "judgments", "format": "csv", "filter": {}},
    ):
        response = client.post(
            "/api/v1/exports",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {api_token}",
        )
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalid"
