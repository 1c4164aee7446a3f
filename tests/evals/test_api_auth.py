from evals.tokens import create_token, revoke_token


def test_a_valid_token_reaches_its_workspace(client, workspace):
    _, plain = create_token(workspace, "ci")
    response = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.status_code == 200
    assert response.json() == {"workspace": workspace.slug, "token": "ci"}


def test_a_wrong_token_is_401_in_the_error_format(client, workspace):
    _, plain = create_token(workspace, "ci")
    response = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {plain}x")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_revoked_token_is_401(client, workspace):
    token, plain = create_token(workspace, "ci")
    revoke_token(token)
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 401


def test_the_secret_is_stored_only_as_a_hash(workspace):
    token, plain = create_token(workspace, "ci")
    secret = plain.split("_", 2)[2]
    assert secret not in token.secret_hash and len(token.secret_hash) == 64


def test_unknown_paths_and_methods_answer_in_the_error_format(client, workspace):
    _, plain = create_token(workspace, "ci")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    missing = client.get("/api/v1/nope", **auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/queues", **auth)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong["Allow"]
