"""A token may do only what its scopes allow: each API operation needs one scope.

(Every operation, against the matrix in docs/permissions.md: tests/security/test_permissions.py.)
"""

import pytest
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from annotate.api_common import ApiError, TokenAuth
from annotate.models import ApiToken, TokenScope
from annotate.tokens import TokenError, create_token
from quorum.api import api
from tests.factories import make_queue, make_token

# One operation of each family, with the scope it needs.
FAMILIES = [
    ("post", "/api/v1/logs", "logs:write"),
    ("post", "/api/v1/queues/{queue}/items", "items:write"),
    ("get", "/api/v1/queues", "read"),
    ("get", "/api/v1/judgments", "read"),
    ("get", "/api/v1/queues/{queue}/agreement", "read"),
    ("get", "/api/v1/whoami", "read"),
    ("get", "/api/v1/exports", "exports"),
    ("post", "/api/v1/exports", "exports"),
    ("post", "/api/v1/imports", "imports"),
]
BODIES = {
    "/api/v1/logs": b'{"external_id": "a", "output": "o"}\n',
    "/api/v1/queues/{queue}/items": b'{"items": [{"output": "o"}]}',
    "/api/v1/exports": b'{"shape": "judgments", "format": "csv"}',
}


def _call(client, method, path, queue, plain):
    url = path.replace("{queue}", str(queue.pk))
    body = BODIES.get(path, b"") if method == "post" else None
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    if method == "post":
        content_type = "application/x-ndjson" if path.endswith("/logs") else "application/json"
        return client.post(url, body, content_type=content_type, **kwargs)
    return client.get(url, **kwargs)


@pytest.mark.parametrize(("method", "path", "scope"), FAMILIES)
def test_a_token_without_the_scope_gets_403_naming_it(
    client, workspace, clinicians, method, path, scope
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    others = [s for s in TokenScope.values if s != scope]
    _, plain = make_token(workspace, scopes=others)
    response = _call(client, method, path, queue, plain)
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "forbidden_scope"
    assert error["message"] == f"This token lacks the '{scope}' scope."
    assert error["details"] == {"required_scope": scope, "token_scopes": others}


@pytest.mark.parametrize(("method", "path", "scope"), FAMILIES)
def test_a_token_with_only_that_scope_gets_through(
    client, workspace, clinicians, settings, tmp_path, monkeypatch, method, path, scope
):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr("evals.jobs.dispatch", lambda job: None)  # no broker messages
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    _, plain = make_token(workspace, scopes=[scope])
    response = _call(client, method, path, queue, plain)
    assert response.status_code not in (401, 403), response.content


def test_every_operation_names_its_scope_in_the_schema():
    schema = api.get_openapi_schema()
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            scopes = [
                s
                for requirement in operation.get("security", [])
                for s in requirement.get("TokenAuth", [])
            ]
            if len(scopes) != 1 or scopes[0] not in TokenScope.values:
                missing.append(f"{method.upper()} {path}: {scopes}")
            elif f"`{scopes[0]}` scope" not in operation.get("description", ""):
                missing.append(f"{method.upper()} {path}: description does not name the scope")
            if 403 not in operation["responses"]:
                missing.append(f"{method.upper()} {path}: 403 not documented")
    assert not missing, missing


def test_an_operation_that_names_no_scope_refuses_every_token(workspace):
    _, plain = make_token(workspace)  # every scope
    request = RequestFactory().get("/api/v1/anything")
    with pytest.raises(ApiError) as refused:
        TokenAuth().authenticate(request, plain)
    assert (refused.value.status, refused.value.code) == (403, "forbidden_scope")
    assert refused.value.message == "This operation declares no scope."


def test_a_token_needs_at_least_one_known_scope(workspace, engineer):
    with pytest.raises(TokenError) as none:
        create_token(workspace, "ci", engineer, scopes=[])
    assert none.value.errors == {"scopes": "Choose at least one scope: what the token may do."}
    with pytest.raises(TokenError) as unknown:
        create_token(workspace, "ci", engineer, scopes=["read", "admin"])
    assert "Unknown scope 'admin'" in unknown.value.errors["scopes"]
    assert not ApiToken.objects.exists()


def test_scopes_are_stored_once_each_in_a_fixed_order(workspace, engineer):
    token, _ = create_token(workspace, "ci", engineer, scopes=["exports", "read", "exports"])
    assert token.scopes == "read,exports"


@pytest.mark.parametrize("stored", ["", "read,admin", "read,", "READ", "read, exports"])
def test_the_database_refuses_unknown_scopes(workspace, engineer, stored):
    token, _ = make_token(workspace, user=engineer)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(scopes=stored)
