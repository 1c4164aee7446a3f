"""Every route of the app, from the URL resolver and the API's OpenAPI schema, and the
written permission matrix (``docs/permissions.md``) they are checked against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

from annotate.models import TokenScope
from tests.security.world import ROLES

ROOT = Path(__file__).resolve().parents[2]
MATRIX_DOC = ROOT / "docs" / "permissions.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
API_PREFIX = "api/v1/"
# Ninja's own pages under the API prefix are checked as pages; API operations come from
# the schema instead of the resolver.
API_PAGES = {"api-v1:openapi-json", "api-v1:openapi-view"}
API_CALLERS = (
    "token",
    "other_token",
    "revoked_token",
    "expired_token",
    "removed_maker_token",
    "demoted_maker_token",
    "session",
    "anonymous",
)


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str  # the route's path with <converter:kw> left in
    keywords: tuple[str, ...]


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}{p.namespace}:"
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), (namespace + p.name) if p.name else None


def page_routes() -> list[Route]:
    """Every named URL pattern except Django admin's and the API's operations."""
    routes = []
    for pattern, name in _walk(get_resolver().url_patterns):
        if pattern.startswith("admin/"):
            continue
        if pattern.startswith(API_PREFIX) and name not in API_PAGES:
            continue
        if name is None:
            raise AssertionError(f"URL pattern {pattern!r} has no name: give it one")
        keywords = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
        routes.append(Route(name=name, pattern=pattern, keywords=keywords))
    return sorted(set(routes), key=lambda r: r.name)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # /api/v1/... with {param} placeholders
    params: tuple[str, ...]
    body_schema: dict | None
    scopes: tuple[str, ...] = ()  # the token scopes its security requirement names

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def api_schema() -> dict:
    from quorum.api import api

    return api.get_openapi_schema()


def api_operations() -> list[Operation]:
    schema = api_schema()
    ops = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method.upper() not in METHODS:
                continue
            body = op.get("requestBody", {}).get("content", {})
            body_schema = (body.get("application/json") or {}).get("schema")
            ops.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    params=tuple(re.findall(r"{(\w+)}", path)),
                    body_schema=body_schema,
                    scopes=tuple(
                        s for req in op.get("security", []) for ss in req.values() for s in ss
                    ),
                )
            )
    return sorted(ops, key=lambda o: (o.path, o.method))


def api_paths() -> list[str]:
    return sorted(api_schema()["paths"])


# --- The written matrix -------------------------------------------------------------------


def _tables(text: str) -> dict[str, list[list[str]]]:
    """Markdown tables under each ``## heading``: rows of cells, header and rule removed."""
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip().lower()
            continue
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        tables.setdefault(heading, []).append(cells)
    return {h: rows[1:] for h, rows in tables.items()}  # drop each table's header row


def _yes(cell: str, where: str) -> bool:
    value = cell.strip("` ").lower()
    if value not in {"yes", "no"}:
        raise AssertionError(f"{where}: cell {cell!r} must be yes or no")
    return value == "yes"


def _code(cell: str) -> str:
    return cell.strip().strip("`").strip()


def page_matrix() -> dict[tuple[str, str], dict[str, bool]]:
    """(route name, method) -> {role: allowed} from the "Pages" table."""
    rows = _tables(MATRIX_DOC.read_text()).get("pages", [])
    matrix: dict[tuple[str, str], dict[str, bool]] = {}
    for cells in rows:
        where = f"docs/permissions.md, pages row {cells[0]!r}"
        if len(cells) != 2 + len(ROLES):
            raise AssertionError(f"{where}: expected {2 + len(ROLES)} cells, got {len(cells)}")
        name = _code(cells[0])
        for method in (m.strip() for m in _code(cells[1]).split(",")):
            if method not in METHODS:
                raise AssertionError(f"{where}: unknown method {method!r}")
            if (name, method) in matrix:
                raise AssertionError(f"{where}: {method} listed twice")
            matrix[(name, method)] = {
                role: _yes(c, where) for role, c in zip(ROLES, cells[2:], strict=True)
            }
    return matrix


def _api_rows():
    """(path, method, scope, caller cells, where) for each row of the "API" table."""

    for cells in _tables(MATRIX_DOC.read_text()).get("api", []):
        where = f"docs/permissions.md, API row {cells[0]!r}"
        if len(cells) != 3 + len(API_CALLERS):
            raise AssertionError(f"{where}: expected {3 + len(API_CALLERS)} cells")
        scope = _code(cells[2])
        if scope not in TokenScope.values:
            raise AssertionError(f"{where}: scope {scope!r} is not one of {TokenScope.values}")
        for method in (m.strip() for m in _code(cells[1]).split(",")):
            yield _code(cells[0]), method, scope, cells[3:], where


def api_matrix() -> dict[tuple[str, str], dict[str, bool]]:
    """(path, method) -> {caller: allowed} from the "API" table."""
    return {
        (path, method): {c: _yes(v, where) for c, v in zip(API_CALLERS, cells, strict=True)}
        for path, method, _, cells, where in _api_rows()
    }


def api_scopes() -> dict[tuple[str, str], str]:
    """(path, method) -> the token scope the operation needs, from the "API" table."""
    return {(path, method): scope for path, method, scope, _, _ in _api_rows()}
