"""Services this package starts and stops itself: a private redis-server, Celery workers on it.

The shared Redis of the machine is never stopped; these tests start their own on a free port.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from quorum.supervise import NO_PEERS, start_worker, stop_worker, worker_argv
from tests.conftest import service_missing, test_database_url
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
        argv = worker_argv(
            pool="solo",
            hostname=f"rel-{time.monotonic_ns()}@%h",
            extra=(*NO_PEERS, "--without-heartbeat", "--include=tests.reliability.jobtask"),
        )
        self.proc = start_worker(argv, env, self.log)

    def kill(self) -> None:
        """SIGKILL, like the OOM killer or a lost machine: no clean-up runs."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_worker(self.proc)


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
