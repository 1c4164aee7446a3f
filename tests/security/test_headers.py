"""Response headers and CSRF, checked on every route the written matrix lets someone use.

- Every HTML answer carries a Content-Security-Policy without ``unsafe-inline`` or
  ``unsafe-eval``, and every answer ``X-Content-Type-Options: nosniff``.
- Every answer that is neither a page nor API JSON (CSV, Parquet, JSONL, files) is a
  download: ``Content-Disposition: attachment``.
- Every write (POST, PUT, PATCH, DELETE) is refused without a CSRF token, with and
  without ``HX-Request``, and accepted past the CSRF check with the token htmx sends
  (``hx-headers`` on ``<body>``).
- ``SECRET_KEY`` has no default anywhere in the code.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from django.test import Client

from tests.processes import ROOT, base_env, manage
from tests.security.routes import METHODS, page_matrix, page_routes
from tests.security.test_permissions import _url, call
from tests.security.world import ROLES

WRITES = ("POST", "PUT", "PATCH", "DELETE")
PLAIN_TEXT_OK = {"healthz"}  # "ok" for load balancers: nothing from users in it
PAGE_TYPES = ("text/html",)
DATA_TYPES = ("application/json",)  # API answers and the OpenAPI schema


def _allowed_calls(world):
    """(route, method, role, url) for each method and the first role the matrix allows."""
    matrix = page_matrix()
    for route in page_routes():
        for method in METHODS:
            allowed = matrix.get((route.name, method))
            if not allowed:
                continue
            role = next((r for r in ROLES if allowed[r]), None)
            if role is not None:
                yield route, method, role, _url(route, world)


def _csp_problems(csp: str) -> list[str]:
    problems = []
    if not csp:
        return ["no Content-Security-Policy header"]
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip()
    )
    for name in ("script-src", "style-src", "default-src"):
        value = directives.get(name, "")
        for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
            if bad in value.split():
                problems.append(f"{name} allows {bad}")
    for name in ("script-src", "object-src", "base-uri", "frame-ancestors"):
        if name not in directives and "default-src" not in directives:
            problems.append(f"no {name}")
    return problems


def test_every_answer_has_csp_nosniff_and_downloads_are_attachments(db, world, clients):
    problems, html, downloads = [], 0, 0
    for route, method, role, url in _allowed_calls(world):
        for htmx in (False, True):
            response = call(clients[role], method, url, htmx=htmx)
            if route.name in PLAIN_TEXT_OK:
                continue
            where = f"{method} {url} as {role}{' (htmx)' if htmx else ''}"
            ctype = response.get("Content-Type", "").split(";")[0].strip()
            if response.get("X-Content-Type-Options") != "nosniff":
                problems.append(f"{where}: no X-Content-Type-Options: nosniff")
            if ctype in PAGE_TYPES:
                html += 1
                csp = response.get("Content-Security-Policy", "")
                problems += [f"{where}: {p}" for p in _csp_problems(csp)]
            elif response.status_code == 200 and ctype and ctype not in DATA_TYPES:
                downloads += 1
                if not response.get("Content-Disposition", "").startswith("attachment"):
                    problems.append(f"{where}: {ctype} served inline, must be an attachment")
    assert html > 0
    assert not problems, "\n".join(problems)
    print(f"headers: {html} HTML answers, {downloads} downloads checked")


def test_error_pages_carry_the_csp_too(db, clients):
    response = clients["admin"].get("/w/no-such-workspace/")
    assert response.status_code == 404
    assert not _csp_problems(response["Content-Security-Policy"])


def _csrf_client(world, role: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def test_every_write_is_refused_without_a_csrf_token(db, world):
    problems, checked = [], 0
    csrf_clients = {role: _csrf_client(world, role) for role in ROLES}
    for _route, method, role, url in _allowed_calls(world):
        if method not in WRITES:
            continue
        for htmx in (False, True):
            response = call(csrf_clients[role], method, url, htmx=htmx)
            checked += 1
            if response.status_code != 403 or b"CSRF" not in response.content:
                problems.append(
                    f"{method} {url} as {role}{' (htmx)' if htmx else ''}: "
                    f"{response.status_code} without a CSRF token"
                )
    assert checked > 0
    assert not problems, "\n".join(problems)


def test_the_token_htmx_sends_passes_the_csrf_check(db, world):
    """``hx-headers`` on ``<body>`` carries the token; with it a write reaches the view."""
    client = _csrf_client(world, "reviewer_in")
    page = client.get(f"/w/{world.workspace.slug}/")
    match = re.search(rb"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page.content)
    assert match, "base.html puts the CSRF token in hx-headers"
    token = match.group(1).decode()
    checked = 0
    for _route, method, role, url in _allowed_calls(world):
        if method not in WRITES or role != "reviewer_in":
            continue
        response = call(client, method, url, htmx=True, headers={"X-CSRFToken": token})
        checked += 1
        assert not (response.status_code == 403 and b"CSRF" in response.content), url
    assert checked > 0


PY_PATTERNS = [
    re.compile(r"""SECRET_KEY\s*=\s*['"]"""),
    re.compile(r"django-insecure-"),
    re.compile(r"""(?:environ\.get|getenv|env_str)\(\s*['"]SECRET_KEY['"]\s*,\s*['"][^'"]"""),
]
# Shell, compose and env files: KEY=value or KEY: value with a literal value.
FILE_PATTERNS = [
    *PY_PATTERNS[1:],
    re.compile(r"""(?<![${\w])SECRET_KEY\s*[=:]\s*(?!\$)[^\s'"{}$]+"""),
]


# The image build runs collectstatic once with a throw-away key; it is set for that one RUN
# line only and is not in the image's environment (checked below).
ALLOWED_LITERALS = {"Dockerfile": ("SECRET_KEY=build-only-collectstatic-not-a-secret",)}


def test_the_build_only_key_is_not_in_the_image_environment():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"^\s*ENV\b[^\n]*SECRET_KEY", dockerfile, re.M)


def test_no_secret_key_default_is_written_anywhere_in_the_repository():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in files:
        if not name.endswith(
            (".py", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".env", "Dockerfile")
        ):
            continue
        if name.startswith("tests/"):
            continue
        text = (ROOT / name).read_text(errors="ignore")
        patterns = PY_PATTERNS if name.endswith(".py") else FILE_PATTERNS
        for pattern in patterns:
            for match in pattern.finditer(text):
                if match.group(0) not in ALLOWED_LITERALS.get(name, ()):
                    found.append(f"{name}: {match.group(0)}")
    assert not found, found


def test_development_secret_keys_are_generated_per_checkout_never_shared(tmp_path):
    keys = []
    for n in range(2):
        var = tmp_path / f"var{n}"
        var.mkdir()
        env = base_env(var)
        env.pop("SECRET_KEY", None)
        result = manage(
            env, "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"
        )
        assert result.returncode == 0, result.stderr
        keys.append(result.stdout.strip().splitlines()[-1])
        assert (var / "secret_key").read_text().strip() == keys[-1]
        assert oct((var / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert keys[0] != keys[1]
    assert all(len(k) >= 50 for k in keys)


@pytest.mark.parametrize("value", ["", "   ", "short-key"])
def test_an_empty_secret_key_in_production_is_refused(tmp_path, value):
    env = base_env(
        tmp_path, QUORUM_ENV="production", ALLOWED_HOSTS="q.example.org", SECRET_KEY=value
    )
    result = manage(env, "check")
    assert result.returncode != 0
