"""Services this package starts and stops itself: a private redis-server, Celery workers on it.

The shared Redis of the machine is never stopped; these tests start their own on a free port.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT, service_missing, test_database_url
from tests.processes import free_port


class OwnRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("own redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=1)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    if not shutil.which("redis-server"):
        service_missing("redis-server (apt-get install redis-server)")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@contextmanager
def celery_app_on(broker_url: str):
    """Point this process's Celery app (what ``jobs.dispatch`` sends with) at ``broker_url``."""
    from quorum.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    # Celery prefers the CELERY_BROKER_URL environment variable over its config (CI sets it).
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        app.conf.broker_url, app.conf.broker_transport_options = saved
        app._pool = None
        app.amqp._producer_pool = None


class Worker:
    """A ``celery worker`` process (solo pool) on a given broker, reading the test database."""

    def __init__(self, broker_url: str, log: Path, var_dir: Path) -> None:
        self.broker_url = broker_url
        self.log = log
        self.var_dir = var_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "",
            "QUORUM_VAR_DIR": str(self.var_dir),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "quorum", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--include=tests.reliability.jobtask", f"--hostname=rel-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=env, stdout=self.log.open("a"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while "ready." not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start:\n" + self.log.read_text())
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, like the OOM killer or a lost machine: no clean-up runs."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def workers(own_redis, tmp_path) -> Iterator[list[Worker]]:
    """Start workers with ``make()``; all are stopped at the end."""
    made: list[Worker] = []

    def make() -> Worker:
        worker = Worker(own_redis.url, tmp_path / f"worker{len(made)}.log", tmp_path)
        worker.start()
        made.append(worker)
        return worker

    yield make  # type: ignore[misc]
    for worker in made:
        worker.stop()
