from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate.models import ApiToken, Membership, Role
from annotate.tokens import TokenError, check_token, create_token, revoke_token
from tests.factories import make_token


def _whoami(client, plain: str):
    return client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {plain}")


def test_a_valid_token_reaches_its_workspace(client, workspace):
    _, plain = make_token(workspace, "ci", scopes=["read", "exports"])
    response = _whoami(client, plain)
    assert response.status_code == 200
    assert response.json() == {
        "workspace": workspace.slug,
        "token": "ci",
        "scopes": ["read", "exports"],
        "expires_at": None,
    }


def test_a_wrong_token_is_401_in_the_error_format(client, workspace):
    _, plain = make_token(workspace, "ci")
    response = _whoami(client, f"{plain}x")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_revoked_token_is_401(client, workspace):
    token, plain = make_token(workspace, "ci")
    revoke_token(token)
    response = _whoami(client, plain)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == {"reason": "revoked"}


def test_an_expired_token_is_401_saying_it_expired(client, workspace):
    token, plain = make_token(workspace, "ci", expires_days=30)
    assert _whoami(client, plain).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _whoami(client, plain)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthenticated" and error["details"] == {"reason": "expired"}
    assert "expired on" in error["message"]


def test_a_token_stops_working_when_its_maker_is_removed_from_the_workspace(
    client, workspace, engineer
):
    _, plain = make_token(workspace, "ci", user=engineer)
    assert _whoami(client, plain).status_code == 200
    Membership.objects.filter(workspace=workspace, user=engineer).delete()
    response = _whoami(client, plain)
    assert response.status_code == 401
    assert response.json()["error"]["details"] == {"reason": "maker_lost_access"}


def test_a_token_stops_working_when_its_maker_is_demoted_to_reviewer(client, workspace, engineer):
    _, plain = make_token(workspace, "ci", user=engineer)
    assert _whoami(client, plain).status_code == 200
    Membership.objects.filter(workspace=workspace, user=engineer).update(role=Role.REVIEWER)
    assert _whoami(client, plain).status_code == 401
    Membership.objects.filter(workspace=workspace, user=engineer).update(role=Role.ADMIN)
    assert _whoami(client, plain).status_code == 200  # the role is read on every request


def test_a_token_stops_working_when_its_makers_account_is_deactivated(client, workspace, engineer):
    _, plain = make_token(workspace, "ci", user=engineer)
    engineer.is_active = False
    engineer.save(update_fields=["is_active"])
    assert _whoami(client, plain).status_code == 401


def test_a_token_whose_maker_was_deleted_stops_working(client, workspace, engineer):
    token, plain = make_token(workspace, "ci", user=engineer)
    ApiToken.objects.filter(pk=token.pk).update(created_by=None)  # on_delete=SET_NULL
    assert _whoami(client, plain).status_code == 401


def test_a_makers_membership_in_another_workspace_does_not_count(client, workspace, outsider):
    token, plain = make_token(workspace, "ci")
    ApiToken.objects.filter(pk=token.pk).update(created_by=outsider)  # admin elsewhere only
    assert _whoami(client, plain).status_code == 401


def test_a_token_cannot_be_made_without_a_maker_who_may_make_tokens(workspace, author):
    with pytest.raises(TokenError) as nobody:
        create_token(workspace, "ci", None, scopes=["read"])
    assert "Name the member who owns the token" in nobody.value.errors["user"]
    with pytest.raises(TokenError) as not_allowed:
        create_token(workspace, "ci", author, scopes=["read"])
    assert "not an admin or engineer" in not_allowed.value.errors["user"]
    assert not ApiToken.objects.exists()


def test_checking_a_token_and_its_makers_role_is_one_query(workspace):
    _, plain = make_token(workspace, "ci")
    check_token(plain)  # sets last_used_at, written at most once a minute
    with CaptureQueriesContext(connection) as queries:
        assert check_token(plain) is not None
    assert len(queries) == 1


def test_the_secret_is_stored_only_as_a_hash(workspace):
    token, plain = make_token(workspace, "ci")
    secret = plain.split("_", 2)[2]
    assert secret not in token.secret_hash and len(token.secret_hash) == 64


def test_unknown_paths_and_methods_answer_in_the_error_format(client, workspace):
    _, plain = make_token(workspace, "ci")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    missing = client.get("/api/v1/nope", **auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/queues", **auth)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong["Allow"]
