"""Helpers for tests that start Quorum's own commands (manage.py, gunicorn) as subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a child Quorum process: its own var dir and SQLite file."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUORUM_", "DJANGO_", "SECRET_KEY", "DATABASE_URL", "CELERY_"))
        and k not in {"ALLOWED_HOSTS", "DEBUG", "STATIC_ROOT", "CSRF_TRUSTED_ORIGINS"}
    }
    env.update(
        {
            "QUORUM_VAR_DIR": str(var_dir),
            "DATABASE_URL": f"sqlite:///{var_dir / 'quorum.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for_http(
    url: str, proc: subprocess.Popen, log: Path, headers: dict | None = None, timeout: float = 60
) -> urllib.request.http.client.HTTPResponse:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"process exited with {proc.returncode}:\n{log.read_text()}")
        try:
            request = urllib.request.Request(url, headers=headers or {})
            return urllib.request.urlopen(request, timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer in {timeout} s:\n{log.read_text()}")


def wait_for_text(log: Path, text: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        if proc.poll() is not None:
            pytest.fail(f"process exited before printing {text!r}:\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"{text!r} not printed in {timeout} s:\n{log.read_text()}")


def migrate(var_dir: Path) -> Path:
    """Give ``var_dir`` a migrated SQLite database (as ``base_env`` points to it)."""
    result = manage(base_env(var_dir), "migrate", "--noinput", "-v0")
    assert result.returncode == 0, result.stderr
    return var_dir
