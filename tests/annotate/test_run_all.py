"""``manage.py run_all``: web, worker and beat start together and stop together."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.processes import ROOT, base_env, free_port, manage, migrate, wait_for_http, wait_for_text

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree")


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat:
                parents[int(entry.name)] = int(stat[3])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return [text[: text.index(" ")], "comm", *text[text.rindex(")") + 2 :].split()]


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[2] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A migrated database with the demo workspace, copied into each test's var dir."""
    var_dir = migrate(tmp_path_factory.mktemp("template"))
    result = manage(base_env(var_dir), "load_demo")
    assert result.returncode == 0, result.stderr
    return var_dir


@pytest.fixture
def run_all(tmp_path, migrated):
    var_dir = tmp_path
    shutil.copy(migrated / "quorum.sqlite3", var_dir / "quorum.sqlite3")
    port = free_port()
    log = tmp_path / "run_all.log"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_all", "--port", str(port),
         "--concurrency", "1"],
        cwd=ROOT,
        env=base_env(var_dir, STATIC_ROOT=str(var_dir / "static-root")),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    yield proc, port, log, var_dir
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_run_all_serves_the_login_page_runs_a_worker_and_beat_and_stops_them_on_ctrl_c(run_all):
    proc, port, log, var_dir = run_all
    response = wait_for_http(f"http://127.0.0.1:{port}/login/", proc, log)
    assert response.status == 200
    # Its style sheets and scripts too, with no collectstatic run (STATIC_ROOT is empty).
    page = response.read().decode()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
    for asset in assets:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{asset}", timeout=10) as served:
            assert served.status == 200 and served.read(), asset
    wait_for_text(log, "ready.", proc)  # the worker
    wait_for_text(log, "beat: Starting", proc)
    wait_for_text(log, f"Quorum is running at http://127.0.0.1:{port}/", proc)
    wait_for_text(log, "demo-clinician1", proc)  # the demo logins
    assert "password for all: quorum-demo" in log.read_text()

    tree = descendants(proc.pid)
    commands = " | ".join(cmdline(pid) for pid in tree)
    assert "runserver" in commands
    assert "celery -A quorum worker" in commands
    assert f"celery -A quorum beat --loglevel=INFO -s {var_dir}" in commands

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=40) == 0, log.read_text()
    assert [pid for pid in tree if alive(pid)] == []
    out = log.read_text()
    assert "all processes stopped" in out


def test_run_all_fails_when_a_child_dies(run_all):
    proc, port, log, _ = run_all
    wait_for_text(log, "beat: Starting", proc)
    beat = next(pid for pid in descendants(proc.pid) if "beat" in cmdline(pid))
    tree = descendants(proc.pid)
    os.kill(beat, signal.SIGKILL)
    assert proc.wait(timeout=40) != 0
    assert "beat exited" in log.read_text()
    assert [pid for pid in tree if alive(pid)] == []
