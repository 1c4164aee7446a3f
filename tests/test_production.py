"""The production path, outside containers: deploy checks, static files, gunicorn.

Every test runs Quorum's own commands as subprocesses with production settings
(``QUORUM_ENV=production``), the way the Dockerfile and docker-compose.yml run them.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.processes import ROOT, base_env, free_port, manage, wait_for_http

HOST = "quorum.example.org"


def production_env(var_dir: Path, static_root: Path, **extra: str) -> dict[str, str]:
    return base_env(
        var_dir,
        QUORUM_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(50),
        QUORUM_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS=f"{HOST},127.0.0.1",
        STATIC_ROOT=str(static_root),
        **extra,
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> dict:
    """Static files collected with production settings (the login page needs no database)."""
    var_dir = tmp_path_factory.mktemp("var")
    static_root = tmp_path_factory.mktemp("static")
    env = production_env(var_dir, static_root)
    result = manage(env, "collectstatic", "--noinput", "-v0")
    assert result.returncode == 0, result.stderr
    return {"var_dir": var_dir, "static_root": static_root, "env": env}


def test_check_deploy_reports_no_issue(deployed):
    result = manage(deployed["env"], "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_collectstatic_writes_a_manifest_and_hashed_compressed_files(deployed):
    static_root = deployed["static_root"]
    manifest = static_root / "staticfiles.json"
    assert manifest.exists()
    hashed = list((static_root / "css").glob("app.*.css"))
    assert hashed, "hashed app.css"
    assert Path(f"{hashed[0]}.gz").exists()
    assert list((static_root / "vendor" / "htmx").glob("htmx.min.*.js"))


def test_production_without_secret_key_fails_with_a_clear_message(tmp_path):
    env = base_env(tmp_path, QUORUM_ENV="production", ALLOWED_HOSTS=HOST)
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when QUORUM_ENV=production" in result.stderr
    assert not (tmp_path / "secret_key").exists(), "no key is generated in production"


@pytest.fixture
def gunicorn(deployed, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "quorum" / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "1"],
        cwd=ROOT,
        env=deployed["env"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    yield f"http://127.0.0.1:{port}", proc, log
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_gunicorn_serves_the_login_page_with_security_headers_and_static_files(gunicorn):
    base, proc, log = gunicorn
    https = {"X-Forwarded-Proto": "https", "Host": HOST}
    response = wait_for_http(f"{base}/login/", proc, log, headers=https)
    assert response.status == 200
    body = response.read().decode()
    assert "Log in to Quorum" in body
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"]  # the CSRF cookie

    css = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', body)
    assert css, "the page links the hashed stylesheet from the manifest"
    static = urllib.request.urlopen(
        urllib.request.Request(base + css.group(1), headers=https), timeout=10
    )
    assert static.status == 200
    assert "immutable" in static.headers["Cache-Control"]


def test_gunicorn_redirects_plain_http_but_answers_the_health_check(gunicorn):
    base, proc, log = gunicorn
    health = wait_for_http(f"{base}/healthz", proc, log, headers={"Host": HOST})
    assert health.status == 200
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(urllib.request.Request(f"{base}/login/", headers={"Host": HOST}), timeout=10)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == f"https://{HOST}/login/"


def test_the_container_health_check_passes_against_gunicorn(gunicorn, deployed):
    base, proc, log = gunicorn
    wait_for_http(f"{base}/healthz", proc, log, headers={"Host": HOST})
    env = {**deployed["env"], "HEALTHCHECK_URL": f"{base}/healthz"}
    result = subprocess.run(
        [sys.executable, "-m", "quorum.healthcheck"], cwd=ROOT, env=env, capture_output=True
    )
    assert result.returncode == 0, result.stdout
    env["HEALTHCHECK_URL"] = f"{base}/nowhere"
    result = subprocess.run(
        [sys.executable, "-m", "quorum.healthcheck"], cwd=ROOT, env=env, capture_output=True
    )
    assert result.returncode == 1


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
