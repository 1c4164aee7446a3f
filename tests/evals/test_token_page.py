"""Admins and engineers create, see and revoke API tokens in the browser."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotate.models import AuditEvent
from evals import tokens
from evals.models import ApiToken


def _page(workspace):
    return reverse("api-tokens", args=[workspace.slug])


def test_an_engineer_creates_a_token_sees_it_once_and_it_works(client, workspace, engineer):
    client.force_login(engineer)
    response = client.post(_page(workspace), {"name": "patient-app ingest"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    token = ApiToken.objects.get(workspace=workspace)
    plain = page.split('id="token-value">')[1].split("</pre>")[0]
    assert plain.startswith(f"qrm_{token.prefix}_")
    assert tokens.verify_token(plain) == token
    assert token.created_by == engineer and token.name == "patient-app ingest"
    again = client.get(_page(workspace)).content.decode()
    assert plain not in again and "patient-app ingest" in again  # listed, never shown again
    api = client.get("/api/v1/queues", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.status_code == 200
    assert AuditEvent.objects.filter(action="token.create", actor=engineer).exists()


def test_a_nameless_or_overlong_token_is_refused_and_nothing_is_made(client, workspace, admin_user):
    client.force_login(admin_user)
    response = client.post(_page(workspace), {"name": "  "})
    assert response.status_code == 422 and "Give the token a name" in response.content.decode()
    response = client.post(_page(workspace), {"name": "x" * 101})
    assert response.status_code == 422 and "under 100 characters" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_revoked_token_stops_working(client, workspace, admin_user):
    token, plain = tokens.create_token(workspace, "old pipeline")
    client.force_login(admin_user)
    url = reverse("api-token-revoke", args=[workspace.slug, token.pk])
    assert client.post(url).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/queues", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 401
    assert "revoked" in client.get(_page(workspace)).content.decode()


@pytest.mark.parametrize("who", ["author", "reviewer"])
def test_authors_and_reviewers_cannot_manage_tokens(client, workspace, request, who):
    token, _ = tokens.create_token(workspace, "pipeline")
    client.force_login(request.getfixturevalue(who))
    assert client.get(_page(workspace)).status_code == 403
    url = reverse("api-token-revoke", args=[workspace.slug, token.pk])
    assert client.post(url).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_workspaces_token_cannot_be_revoked(client, workspace, outsider):
    token, _ = tokens.create_token(workspace, "pipeline")
    client.force_login(outsider)
    other = outsider.memberships.get().workspace
    assert client.post(reverse("api-token-revoke", args=[other.slug, token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_command_prints_a_working_token(workspace):
    out = StringIO()
    call_command("create_api_token", workspace.slug, "ci", stdout=out)
    assert tokens.verify_token(out.getvalue().strip()).workspace == workspace
    with pytest.raises(CommandError, match="No workspace"):
        call_command("create_api_token", "nope", "ci")
    with pytest.raises(CommandError, match="Give the token a name"):
        call_command("create_api_token", workspace.slug, "  ")
