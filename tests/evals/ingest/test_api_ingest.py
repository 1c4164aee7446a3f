import gzip
import json

from annotate.tokens import revoke_token
from evals.ingest.pipeline import Reason
from evals.models import Log, Source
from tests.evals.conftest import log_line
from tests.factories import WorkspaceFactory, make_token


def post(client, token: str, body: bytes, **headers):
    return client.generic(
        "POST",
        "/api/v1/logs" + headers.pop("query", ""),
        body,
        content_type=headers.pop("content_type", "application/x-ndjson"),
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


def test_jsonl_is_ingested_and_counted(client, workspace):
    _, token = make_token(workspace, "ci")
    body = log_line(1) + b"{broken\n" + log_line(2)
    response = post(client, token, body)
    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["duplicate"], data["rejected"]) == (2, 0, 1)
    assert data["errors"] == [
        {"line": 2, "reason": Reason.INVALID_JSON, "message": data["errors"][0]["message"]}
    ]
    assert Log.objects.filter(workspace=workspace, source__name="api").count() == 2


def test_a_json_array_is_ingested_element_by_element(client, workspace):
    _, token = make_token(workspace, "ci")
    body = json.dumps(
        [json.loads(log_line(1)), {"external_id": "x"}, json.loads(log_line(2))]
    ).encode()
    data = post(client, token, body, content_type="application/json").json()
    assert (data["accepted"], data["rejected"]) == (2, 1)
    assert data["errors"][0]["line"] == 2 and data["errors"][0]["reason"] == Reason.MISSING_OUTPUT


def test_gzip_bodies_are_accepted_by_content_encoding_or_type(client, workspace):
    _, token = make_token(workspace, "ci")
    body = gzip.compress(log_line(1) + log_line(2))
    first = post(client, token, body, HTTP_CONTENT_ENCODING="gzip").json()
    second = post(client, token, body, content_type="application/gzip").json()
    assert (first["accepted"], second["duplicate"]) == (2, 2)


def test_resending_the_same_body_adds_nothing(client, workspace):
    _, token = make_token(workspace, "ci")
    body = b"".join(log_line(n) for n in range(5))
    post(client, token, body)
    data = post(client, token, body).json()
    assert (data["accepted"], data["duplicate"]) == (0, 5)
    assert Log.objects.count() == 5


def test_the_source_is_chosen_by_name_in_the_token_workspace(client, workspace):
    _, token = make_token(workspace, "ci")
    post(client, token, log_line(1), query="?source=ward-app")
    assert Source.objects.get(name="ward-app").workspace == workspace


def test_a_body_over_the_limit_is_413_in_the_error_format(client, workspace, settings):
    settings.QUORUM_API_MAX_BODY_BYTES = 300
    _, token = make_token(workspace, "ci")
    response = post(client, token, log_line(1) + log_line(2))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == Reason.FILE_TOO_LARGE
    assert Log.objects.count() == 0


def test_a_gzip_bomb_is_stopped_at_the_limit(client, workspace, settings):
    settings.QUORUM_API_MAX_BODY_BYTES = 10_000
    _, token = make_token(workspace, "ci")
    body = gzip.compress(b"\n" * 1_000_000)
    assert len(body) < 10_000
    response = post(client, token, body, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413


def test_a_wrong_token_is_401(client, workspace):
    _, token = make_token(workspace, "ci")
    response = post(client, token + "x", log_line(1))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert Log.objects.count() == 0


def test_a_revoked_token_is_401(client, workspace):
    row, token = make_token(workspace, "ci")
    revoke_token(row)
    assert post(client, token, log_line(1)).status_code == 401


def test_another_workspace_token_writes_only_to_its_own_workspace(client, workspace):
    Source.objects.create(workspace=workspace, name="patient-app")
    other = WorkspaceFactory(slug="other")
    _, token = make_token(other, "ci")
    post(client, token, log_line(1), query="?source=patient-app")
    assert not Log.objects.filter(workspace=workspace).exists()
    assert Log.objects.get().workspace == other
    assert Log.objects.get().source.workspace == other


def test_a_log_is_read_back_only_with_its_own_workspace_token(client, workspace):
    _, token = make_token(workspace, "ci")
    _, other_token = make_token(WorkspaceFactory(slug="other"), "ci")
    post(client, token, log_line(1))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/logs/log-1", **auth).json()["output"].startswith("Answer 1")
    response = client.get("/api/v1/logs/log-1", HTTP_AUTHORIZATION=f"Bearer {other_token}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
