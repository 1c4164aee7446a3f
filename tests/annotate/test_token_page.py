"""Admins and engineers create, see and revoke API tokens in the browser."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from annotate import tokens
from annotate.models import ApiToken, AuditEvent, Membership, Role
from tests.factories import make_token


def _page(workspace):
    return reverse("api-tokens", args=[workspace.slug])


def test_an_engineer_creates_a_token_sees_it_once_and_it_works(client, workspace, engineer):
    client.force_login(engineer)
    response = client.post(
        _page(workspace),
        {"name": "patient-app ingest", "scopes": ["logs:write", "read"], "expires": "30"},
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    token = ApiToken.objects.get(workspace=workspace)
    plain = page.split('id="token-value">')[1].split("</pre>")[0]
    assert plain.startswith(f"qrm_{token.prefix}_")
    assert tokens.check_token(plain) == token
    assert token.created_by == engineer and token.name == "patient-app ingest"
    assert token.scopes == "logs:write,read"
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    again = client.get(_page(workspace)).content.decode()
    assert plain not in again and "patient-app ingest" in again  # listed, never shown again
    api = client.get("/api/v1/queues", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.status_code == 200
    assert AuditEvent.objects.filter(action="token.create", actor=engineer).exists()


def test_a_nameless_or_overlong_token_is_refused_and_nothing_is_made(client, workspace, admin_user):
    client.force_login(admin_user)
    response = client.post(_page(workspace), {"name": "  ", "scopes": ["read"], "expires": "90"})
    assert response.status_code == 422 and "Give the token a name" in response.content.decode()
    response = client.post(
        _page(workspace), {"name": "x" * 101, "scopes": ["read"], "expires": "90"}
    )
    assert response.status_code == 422 and "under 100 characters" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_revoked_token_stops_working(client, workspace, admin_user):
    token, plain = make_token(workspace, "old pipeline")
    client.force_login(admin_user)
    url = reverse("api-token-revoke", args=[workspace.slug, token.pk])
    assert client.post(url).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/queues", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 401
    assert "revoked" in client.get(_page(workspace)).content.decode()


@pytest.mark.parametrize("who", ["author", "reviewer"])
def test_authors_and_reviewers_cannot_manage_tokens(client, workspace, request, who):
    token, _ = make_token(workspace, "pipeline")
    client.force_login(request.getfixturevalue(who))
    assert client.get(_page(workspace)).status_code == 403
    url = reverse("api-token-revoke", args=[workspace.slug, token.pk])
    assert client.post(url).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_workspaces_token_cannot_be_revoked(client, workspace, outsider):
    token, _ = make_token(workspace, "pipeline")
    client.force_login(outsider)
    other = outsider.memberships.get().workspace
    assert client.post(reverse("api-token-revoke", args=[other.slug, token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_token_without_scopes_is_refused_with_the_error_beside_the_scopes(
    client, workspace, engineer
):
    client.force_login(engineer)
    response = client.post(_page(workspace), {"name": "ingest", "expires": "90"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="token-scopes-error">Choose at least one scope' in page
    assert 'value="ingest"' in page  # what was typed is kept
    assert not ApiToken.objects.exists()


def test_an_expiry_that_is_not_offered_is_refused(client, workspace, engineer):
    client.force_login(engineer)
    response = client.post(_page(workspace), {"name": "ci", "scopes": ["read"], "expires": "9999"})
    assert response.status_code == 422
    assert 'id="token-expires-error">Choose how long' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_made_to_never_expire_has_no_expiry(client, workspace, engineer):
    client.force_login(engineer)
    response = client.post(_page(workspace), {"name": "ci", "scopes": ["read"], "expires": "never"})
    assert response.status_code == 201
    assert ApiToken.objects.get().expires_at is None


def test_the_page_shows_scopes_expiry_last_use_and_status(client, workspace, admin_user, engineer):
    used, plain = make_token(workspace, "ingest-bot", scopes=["logs:write"], expires_days=30)
    client.get("/api/v1/queues", HTTP_AUTHORIZATION=f"Bearer {plain}")  # 403: still a use
    make_token(workspace, "forever", scopes=["read", "exports"], user=engineer)
    expired, _ = make_token(workspace, "old", scopes=["read"], expires_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    Membership.objects.filter(workspace=workspace, user=engineer).update(role=Role.REVIEWER)
    client.force_login(admin_user)
    page = client.get(_page(workspace)).content.decode()
    used.refresh_from_db()

    def row(prefix: str) -> str:
        return page.split(f'data-token="{prefix}"')[1].split("</tr>")[0]

    bot = row(used.prefix)
    assert "<code>logs:write</code>" in bot
    assert used.expires_at.strftime("%Y-%m-%d") in bot
    assert used.last_used_at is not None
    assert used.last_used_at.strftime("%Y-%m-%d %H:%M") in bot and "ago" in bot
    assert 'class="token-status">active' in bot
    forever = row(ApiToken.objects.get(name="forever").prefix)
    assert "<code>read</code> <code>exports</code>" in forever
    assert 'class="token-expires">never' in forever and 'class="token-last-used">never' in forever
    assert "stopped: its maker is no longer an admin or engineer" in forever
    assert 'class="token-status">expired' in row(expired.prefix)


def test_the_command_prints_a_working_token_with_the_scopes_asked_for(workspace, engineer):
    out = StringIO()
    call_command(
        "create_api_token",
        workspace.slug,
        "ci",
        "--user",
        engineer.username,
        "--scope",
        "logs:write",
        "--scopes",
        "read,exports",
        "--expires-days",
        "7",
        stdout=out,
    )
    token = tokens.check_token(out.getvalue().strip())
    assert token.workspace == workspace and token.created_by == engineer
    assert token.scope_list == ["logs:write", "read", "exports"]
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_the_command_without_an_expiry_makes_a_token_that_never_expires(workspace, admin_user):
    out = StringIO()
    call_command(
        "create_api_token", workspace.slug, "ci", "--user", admin_user.username,
        "--scope", "read", stdout=out,
    )  # fmt: skip
    assert tokens.check_token(out.getvalue().strip()).expires_at is None


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["nope", "ci", "--user", "eric-engineer", "--scope", "read"], "No workspace"),
        (["{ws}", "  ", "--user", "eric-engineer", "--scope", "read"], "Give the token a name"),
        (["{ws}", "a\x1b[31m", "--user", "eric-engineer", "--scope", "read"], "control character"),
        (["{ws}", "ci", "--user", "eric-engineer"], "Choose at least one scope"),
        (["{ws}", "ci", "--user", "eric-engineer", "--scope", "admin"], "Unknown scope 'admin'"),
        (["{ws}", "ci", "--user", "nobody", "--scope", "read"], "No user"),
        (
            ["{ws}", "ci", "--user", "carla-clinician", "--scope", "read"],
            "not an admin or engineer",
        ),
        (
            ["{ws}", "ci", "--user", "eric-engineer", "--scope", "read", "--expires-days", "0"],
            "1 to",
        ),
    ],
)
def test_the_command_refuses_what_the_page_refuses(workspace, engineer, reviewer, args, error):
    with pytest.raises(CommandError, match=error):
        call_command("create_api_token", *[a.replace("{ws}", workspace.slug) for a in args])
    assert not ApiToken.objects.exists()


def test_the_command_requires_naming_the_tokens_owner(workspace):
    with pytest.raises(CommandError, match="--user"):
        call_command("create_api_token", workspace.slug, "ci", "--scope", "read")
