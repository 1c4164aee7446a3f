"""``run_all`` on PostgreSQL keeps no connection per finished request thread.

runserver serves each request on a new thread; with a persistent connection
(``CONN_MAX_AGE`` > 0) every finished thread left its connection open, until
PostgreSQL refused every client ("too many clients") and a login answered 500.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import test_database_url
from tests.processes import ROOT, base_env, free_port, manage, wait_for_http, wait_for_text

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

CLIENT_THREADS = 8
REQUESTS = 500
PASSWORD = "run-all-load-pw-91"


def _server_url(database: str) -> str:
    parts = urllib.parse.urlsplit(test_database_url())
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def own_database(postgres) -> Iterator[str]:
    """A database of its own for the run_all processes, dropped afterwards."""
    name = f"quorum_run_all_{secrets.token_hex(4)}"
    admin = _server_url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _connections(conn: psycopg.Connection, database: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    ).fetchone()
    return int(row[0])


def _logged_in_opener(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": "load", "password": PASSWORD, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(f"{base}/login/", data=form, headers={"Referer": base})
    with opener.open(request, timeout=30) as response:
        assert "/login/" not in response.url, "the load user could not log in"
    return opener


def test_run_all_on_postgres_holds_no_more_connections_than_live_threads(tmp_path, own_database):
    database_url = _server_url(own_database)
    env = base_env(tmp_path, DATABASE_URL=database_url, STATIC_ROOT=str(tmp_path / "static"))
    result = manage(env, "migrate", "--noinput")
    assert result.returncode == 0, result.stderr
    result = manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        *("createsuperuser", "--noinput", "--username", "load", "--email", "load@example.org"),
    )
    assert result.returncode == 0, result.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "run_all.log"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_all", "--port", str(port),
         "--concurrency", "1"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_http(f"{base}/login/", proc, log)
        wait_for_text(log, "ready.", proc)  # the worker
        with psycopg.connect(_server_url("postgres"), autocommit=True) as watch:
            time.sleep(1)
            idle = _connections(watch, own_database)  # the worker's and beat's, if any
            peak, statuses, failures = [idle], [], []
            remaining = iter(range(REQUESTS))
            lock = threading.Lock()

            def client() -> None:
                try:
                    opener = _logged_in_opener(base)
                    while True:
                        with lock:
                            if next(remaining, None) is None:
                                return
                        with opener.open(f"{base}/", timeout=60) as response:
                            statuses.append(response.status)
                except Exception as exc:  # any failure is reported below
                    failures.append(repr(exc))

            threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                peak.append(_connections(watch, own_database))
                time.sleep(0.02)
            for thread in threads:
                thread.join()
            time.sleep(0.5)
            after = _connections(watch, own_database)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    assert failures == [], failures[:3]
    assert len(statuses) == REQUESTS and set(statuses) == {200}
    # At most one connection per request being served (8 clients, 8 live threads)
    # beside the worker's, give or take two whose threads are closing them as the
    # next requests connect; once the clients stop, only the worker's remain. Before,
    # each finished thread kept its connection: PostgreSQL ran out and logins failed.
    assert max(peak) <= idle + CLIENT_THREADS + 2, (idle, max(peak))
    assert after <= idle, (idle, after)
