"""Every route × every method × every role, with and without htmx, against the written matrix.

The routes come from the URL resolver and the API's OpenAPI schema, the expectations
from the tables in ``docs/permissions.md``: a route added later without a row there,
or a URL keyword without a resolver in ``tests/security/world.py``, fails here with a
message saying what to add. Each request runs in a savepoint that is rolled back, so
a DELETE by one role does not change what the next role sees.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.utils import timezone

from annotate.models import ApiToken, Membership, Role, TokenScope
from annotate.tokens import create_token, revoke_token
from tests.security.routes import (
    API_CALLERS,
    METHODS,
    Operation,
    Route,
    api_matrix,
    api_operations,
    api_scopes,
    page_matrix,
    page_routes,
)
from tests.security.world import KWARG_RESOLVERS, ROLES, MissingResolver, World, resolve_kwargs

DENIED = {401, 403, 404, 405}
STATS = {"page_requests": 0, "api_requests": 0}


def outcome(response) -> str:
    """``error`` (5xx), ``login`` (sent to log in), ``denied`` or ``allowed``."""
    status = response.status_code
    if status >= 500:
        return "error"
    login = resolve_url(settings.LOGIN_URL)
    if status in (301, 302, 303) and urlsplit(response.get("Location", "")).path == login:
        return "login"
    if status == 401 and response.get("HX-Redirect", "").startswith(login):
        return "login"
    if status in DENIED:
        return "denied"
    return "allowed"


def call(client: Client, method: str, url: str, *, htmx: bool = False, **kwargs):
    """One request in a rolled-back savepoint; the client's cookies are kept as they were."""
    cookies = SimpleCookie()
    cookies.load(client.cookies.output(header="", sep=";"))
    kwargs.setdefault("content_type", "application/x-www-form-urlencoded")
    headers = kwargs.pop("headers", {})
    if htmx:
        headers = {**headers, "HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}
    with transaction.atomic():
        response = client.generic(
            method, url, data=kwargs.pop("data", ""), headers=headers, **kwargs
        )
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


def _url(route: Route, world: World) -> str:
    path = route.pattern
    for kw, value in resolve_kwargs(world, route.name, list(route.keywords)).items():
        path = path.replace(f"<slug:{kw}>", str(value))
        for conv in ("int", "str", "uuid", "path", ""):
            path = path.replace(f"<{conv}:{kw}>" if conv else f"<{kw}>", str(value))
    return "/" + path


def row_hint(route: Route) -> str:
    return (
        f"add rows for route {route.name!r} to the Pages table of docs/permissions.md, e.g.\n"
        f"| `{route.name}` | GET | yes | yes | yes | yes | yes | no | no |"
    )


def report(problems: list[str], shown: int = 40) -> str:
    more = f"\n... and {len(problems) - shown} more" if len(problems) > shown else ""
    return (
        f"{len(problems)} answers differ from docs/permissions.md:\n"
        + "\n".join(problems[:shown])
        + more
    )


# QUORUM_PERMISSIONS_OBSERVE=path: for routes without rows, write rows drafted from what the
# route answers now. A draft is not a policy: check each cell against the view before pasting.
OBSERVE = os.environ.get("QUORUM_PERMISSIONS_OBSERVE", "")


def observe(route: Route, url: str, clients: dict[str, Client]) -> None:
    lines = []
    for method in METHODS:
        cells = [
            "yes" if outcome(call(clients[r], method, url)) == "allowed" else "no" for r in ROLES
        ]
        if "yes" in cells:
            lines.append(f"| `{route.name}` | {method} | " + " | ".join(cells) + " |")
    with open(OBSERVE, "a") as out:
        out.write("\n".join(lines) + "\n")


ROUTES = page_routes()


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_each_route_answers_every_role_as_the_matrix_says(db, world, clients, route):
    matrix = page_matrix()
    rows = {m: matrix[(route.name, m)] for m in METHODS if (route.name, m) in matrix}
    try:
        url = _url(route, world)
    except MissingResolver as exc:
        pytest.fail(str(exc))
    if not rows and OBSERVE:
        observe(route, url, clients)
    assert rows, row_hint(route)
    workspace_scoped = "slug" in route.keywords
    problems = []
    for method in METHODS:
        allowed = rows.get(method)
        for role in ROLES:
            for htmx in (False, True):
                response = call(clients[role], method, url, htmx=htmx)
                STATS["page_requests"] += 1
                got = outcome(response)
                where = f"{method} {url} as {role}{' (htmx)' if htmx else ''}"
                if got == "error":
                    problems.append(f"{where}: server error {response.status_code}")
                    continue
                if allowed is None:
                    if got == "allowed":
                        problems.append(
                            f"{where}: answered {response.status_code}, but the matrix lists no "
                            f"{method} for {route.name!r} (add a row or refuse the method)"
                        )
                    continue
                if allowed[role]:
                    if got != "allowed":
                        problems.append(f"{where}: refused ({response.status_code}), matrix: yes")
                    continue
                if got == "allowed":
                    problems.append(f"{where}: answered {response.status_code}, matrix: no")
                elif role == "other" and workspace_scoped and response.status_code != 404:
                    problems.append(
                        f"{where}: another workspace's member got "
                        f"{response.status_code}, must be 404"
                    )
                elif role == "anonymous" and got != "login" and response.status_code != 405:
                    problems.append(
                        f"{where}: anonymous got {response.status_code}, must be sent to log in"
                    )
    assert not problems, report(problems)


OBJECT_ROUTES = [r for r in ROUTES if "slug" in r.keywords and len(r.keywords) > 1]


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=[r.name for r in OBJECT_ROUTES])
def test_another_workspaces_object_ids_in_my_workspace_url_answer_404(db, world, clients, route):
    """The view must scope every lookup to the URL's workspace, not just check membership."""
    twin = world.objects["twin"]
    ids = resolve_kwargs(twin, route.name, [k for k in route.keywords if k != "slug"])
    mine = resolve_kwargs(world, route.name, list(ids))
    assert any(ids[k] != v for k, v in mine.items()), (
        f"{route.name}: the other workspace's objects have the same ids {ids} as this one's, "
        "so this check could not tell them apart; give the route's objects distinct ids"
    )
    path = route.pattern.replace("<slug:slug>", world.workspace.slug)
    for kw, value in ids.items():
        for conv in ("int", "str", "slug", "uuid", "path"):
            path = path.replace(f"<{conv}:{kw}>", str(value))
    url = "/" + path
    matrix = page_matrix()
    problems = []
    for method in METHODS:
        allowed = matrix.get((route.name, method))
        if not allowed:
            continue
        for role in [r for r in ROLES if allowed[r]]:
            response = call(clients[role], method, url)
            if response.status_code != 404:
                problems.append(f"{method} {url} as {role}: {response.status_code}, must be 404")
    assert not problems, report(problems)


def test_every_matrix_row_names_a_route_that_exists():
    names = {r.name for r in ROUTES}
    stale = sorted({name for name, _ in page_matrix()} - names)
    assert not stale, f"docs/permissions.md lists routes that do not exist: {stale}"
    paths = {o.path for o in api_operations()}
    stale_api = sorted({p for p, _ in api_matrix()} - paths)
    assert not stale_api, f"docs/permissions.md lists API paths that do not exist: {stale_api}"


def test_every_url_keyword_resolver_is_used():
    """A resolver for a keyword no route has any more is dead weight: remove it."""
    used = {kw for r in ROUTES for kw in r.keywords} | {
        p for o in api_operations() for p in o.params
    }
    used |= {f"{r.name}:{kw}" for r in ROUTES for kw in r.keywords}
    used |= {f"api:{p}" for o in api_operations() for p in o.params}
    unused = sorted(set(KWARG_RESOLVERS) - used)
    assert not unused, f"KWARG_RESOLVERS has entries no route uses: {unused}"


def test_django_admin_sends_non_staff_to_its_login(db, world, clients):
    for role in ROLES:
        response = call(clients[role], "GET", "/admin/")
        assert response.status_code == 302, role
        assert urlsplit(response["Location"]).path == "/admin/login/", role
        response = call(clients[role], "GET", "/admin/annotate/judgment/")
        assert response.status_code == 302, role


# --- API ------------------------------------------------------------------------------------


def example(schema: dict | None, components: dict, depth: int = 0):
    """A minimal body that passes the schema: required fields with plain values."""
    if schema is None or depth > 8:
        return None
    if "$ref" in schema:
        return example(components[schema["$ref"].split("/")[-1]], components, depth + 1)
    for combo in ("allOf", "anyOf", "oneOf"):
        if combo in schema:
            first = example(schema[combo][0], components, depth + 1)
            rest = {k: v for k, v in schema.items() if k != combo}
            if isinstance(first, dict) and "properties" in rest:  # a rule over an object's fields
                return {**example(rest, components, depth + 1), **first}
            return first
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example(props[k], components, depth + 1) for k in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items"), components, depth + 1)] * schema.get("minItems", 0)
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": False}.get(kind)


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture(scope="module")
def api_callers(world, clients, django_db_blocker) -> dict[str, tuple[Client, dict]]:
    """The API's callers but ``token``, which is per scope (``scoped_tokens``)."""

    every = TokenScope.values
    with django_db_blocker.unblock():
        admin, other_admin = world.users["admin"], world.users["other"]
        _, other = create_token(world.other_workspace, "other", other_admin, scopes=every)
        revoked_row, revoked = create_token(world.workspace, "revoked", admin, scopes=every)
        revoke_token(revoked_row)
        expired_row, expired = create_token(
            world.workspace, "expired", admin, scopes=every, expires_days=1
        )
        ApiToken.objects.filter(pk=expired_row.pk).update(expires_at=timezone.now() - timedelta(1))
        makers = {}
        for key in ("removed", "demoted"):
            maker = get_user_model().objects.create_user(username=f"sec-{key}-maker")
            membership = Membership.objects.create(
                workspace=world.workspace, user=maker, role=Role.ENGINEER
            )
            _, makers[key] = create_token(world.workspace, key, maker, scopes=every)
            if key == "removed":
                membership.delete()
            else:
                Membership.objects.filter(pk=membership.pk).update(role=Role.REVIEWER)

    return {
        "other_token": (Client(), bearer(other)),
        "revoked_token": (Client(), bearer(revoked)),
        "expired_token": (Client(), bearer(expired)),
        "removed_maker_token": (Client(), bearer(makers["removed"])),
        "demoted_maker_token": (Client(), bearer(makers["demoted"])),
        "session": (clients["admin"], {}),
        "anonymous": (Client(), {}),
    }


@pytest.fixture(scope="module")
def scoped_tokens(world, django_db_blocker) -> dict[str, dict[str, str]]:
    """For each scope: ``only`` (a live token with just that scope) and ``without`` (one
    with every other scope), made by the workspace's engineer."""

    made: dict[str, dict[str, str]] = {}
    with django_db_blocker.unblock():
        maker = world.users["engineer"]
        for scope in TokenScope.values:
            others = [s for s in TokenScope.values if s != scope]
            made[scope] = {
                "only": create_token(world.workspace, f"only {scope}", maker, scopes=[scope])[1],
                "without": create_token(world.workspace, f"no {scope}", maker, scopes=others)[1],
            }
    return made


OPERATIONS = api_operations()
API_PATHS = sorted({o.path for o in OPERATIONS})


def _api_url(path: str, params: tuple[str, ...], world: World) -> str:
    values = resolve_kwargs(world, "api", list(params))
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


@pytest.mark.parametrize("path", API_PATHS)
def test_each_api_operation_answers_every_caller_as_the_matrix_says(
    db, world, api_callers, scoped_tokens, path
):
    """``token`` is a live token with only the row's scope; a token with every other
    scope must get 403 ``forbidden_scope``; the scope the operation declares in the
    schema must be the row's."""
    from tests.security.routes import api_schema

    schema = api_schema()
    components = schema.get("components", {}).get("schemas", {})
    ops = {o.method: o for o in OPERATIONS if o.path == path}
    matrix = api_matrix()
    scopes = api_scopes()
    params = next(iter(ops.values())).params
    try:
        url = _api_url(path, params, world)
    except MissingResolver as exc:
        pytest.fail(str(exc))
    problems = []
    for method in METHODS:
        op: Operation | None = ops.get(method)
        allowed = matrix.get((path, method))
        if op is not None and allowed is None:
            problems.append(
                f"{method} {path} has no row in the API table of docs/permissions.md: add\n"
                f"| `{path}` | {method} | read | yes | no | no | no | no | no | no | no |"
            )
            continue
        scope = scopes.get((path, method), "read")
        if op is not None and op.scopes != (scope,):
            problems.append(
                f"{method} {path} declares scopes {list(op.scopes)} in the schema, "
                f"the matrix says {scope!r}"
            )
        body = json.dumps(example(op.body_schema, components)) if op and op.body_schema else ""
        if op is not None:
            without = call(
                Client(),
                method,
                url,
                data=body,
                content_type="application/json",
                headers=bearer(scoped_tokens[scope]["without"]),
            )
            STATS["api_requests"] += 1
            if without.status_code != 403 or without.json()["error"]["code"] != "forbidden_scope":
                problems.append(
                    f"{method} {url} with every scope but {scope!r}: {without.status_code}, "
                    "must be 403 forbidden_scope"
                )
        for caller in API_CALLERS:
            if caller == "token":
                client, headers = Client(), bearer(scoped_tokens[scope]["only"])
            else:
                client, headers = api_callers[caller]
            response = call(
                client, method, url, data=body, content_type="application/json", headers=headers
            )
            STATS["api_requests"] += 1
            got = outcome(response)
            where = f"{method} {url} as {caller}"
            if got == "error":
                problems.append(f"{where}: server error {response.status_code}")
            elif op is None:
                if got == "allowed":
                    problems.append(f"{where}: {response.status_code} for a method not in schema")
            elif allowed[caller]:
                if got != "allowed":
                    problems.append(f"{where}: refused ({response.status_code}), matrix: yes")
            elif got == "allowed":
                problems.append(f"{where}: answered {response.status_code}, matrix: no")
            elif caller == "other_token" and params and response.status_code != 404:
                problems.append(f"{where}: another workspace's token got {response.status_code}")
            elif caller not in ("token", "other_token") and response.status_code != 401:
                problems.append(f"{where}: {response.status_code}, must be 401")
    assert not problems, report(problems)
