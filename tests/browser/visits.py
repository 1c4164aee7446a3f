"""Which pages each role opens in the browser sweeps: every route the written
permission matrix lets the role use, with its URL filled in from the test world."""

from __future__ import annotations

import os

from tests.security.routes import page_matrix, page_routes
from tests.security.world import ROLES, resolve_kwargs

SKIP_POSTS = {"logout", "login"}  # they end or replace the session being tested


def url_for(route, world) -> str:
    path = route.pattern
    for kw, value in resolve_kwargs(world, route.name, list(route.keywords)).items():
        for conv in ("slug", "int", "str", "uuid", "path"):
            path = path.replace(f"<{conv}:{kw}>", str(value))
        path = path.replace(f"<{kw}>", str(value))
    return "/" + path


def roles_for(allowed: dict[str, bool], every_role: bool = False) -> list[str]:
    """Who renders a route: the first role allowed, plus a reviewer in the cohort when allowed
    (reviewers see other parts of pages); every allowed role with ``every_role`` or
    ``QUORUM_XSS_ALL_ROLES=1``."""
    roles = [role for role in ROLES if allowed.get(role)]
    if every_role or os.environ.get("QUORUM_XSS_ALL_ROLES") or len(roles) <= 1:
        return roles
    return sorted({roles[0], *(["reviewer_in"] if "reviewer_in" in roles else [])})


def visits_by_role(world, every_role: bool = False) -> dict[str, list[tuple[str, str, str]]]:
    """role -> [(route name, method, url)] the matrix allows that role (see ``roles_for``)."""
    matrix = page_matrix()
    visits: dict[str, list[tuple[str, str, str]]] = {role: [] for role in ROLES}
    for route in page_routes():
        if route.name.startswith("api-v1:"):
            continue
        for method in ("GET", "POST"):
            allowed = matrix.get((route.name, method), {})
            for role in roles_for(allowed, every_role):
                if not (method == "POST" and route.name in SKIP_POSTS):
                    visits[role].append((route.name, method, url_for(route, world)))
    for role in visits:  # GETs first: a POST may change what later pages show
        visits[role].sort(key=lambda v: v[1] != "GET")
    return visits
