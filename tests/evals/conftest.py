"""Fixtures for the ingest and sampling tests: a source, log lines, a killable worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.models import Source

from ..conftest import ROOT, redis_url, test_database_url


@pytest.fixture
def source(workspace) -> Source:
    return Source.objects.create(workspace=workspace, name="patient-app")


def log_line(n: int, **fields) -> bytes:
    record = {
        "external_id": f"log-{n}",
        "timestamp": "2026-11-01T10:00:00Z",
        "model": "assistant",
        "model_version": "v1" if n % 2 else "v2",
        "input": f"Patient question {n}: can I take ibuprofen with my blood pressure pills?",
        "output": f"Answer {n}: ask your pharmacist; ibuprofen can raise blood pressure.",
        "metadata": {"topic": ["meds", "diet", "sleep"][n % 3], "locale": "en-GB"},
        "feedback": {"thumbs": "down" if n % 5 == 0 else "up"},
        "latency_ms": 800 + n,
        "tokens_in": 20,
        "tokens_out": 40,
    }
    record.update(fields)
    return json.dumps(record).encode() + b"\n"


def numbered(lines: list[bytes]) -> list[tuple[int, bytes]]:
    return list(enumerate(lines, 1))


class Worker:
    """A Celery worker process on Redis that a test may SIGKILL and start again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.proc, self.starts = env, log, None, 0

    def start(self, **extra_env: str) -> None:
        self.env.update(extra_env)
        self.starts += 1
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "quorum",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=ingest-{os.getpid()}-{self.starts}@%h",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("Celery worker exited early:\n" + self.log.read_text())
            if self.log.read_text().count("ready.") >= self.starts:
                return
            time.sleep(0.2)
        pytest.fail("Celery worker did not start:\n" + self.log.read_text())

    def kill(self) -> None:
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
def killable_worker(transactional_db, tmp_path, redis_client, settings):
    """Start with ``worker.start()`` (again after ``worker.kill()``); stopped at the end."""
    redis_client.flushdb()
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": redis_url(),
        "CELERY_TASK_ALWAYS_EAGER": "",
        "QUORUM_VAR_DIR": str(tmp_path),
        "MEDIA_ROOT": str(media),
    }
    worker = Worker(env, tmp_path / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture
def redis_broker():
    from quorum.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = redis_url()
    yield
    app.conf.broker_url = previous


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what}")


def retry_until_finished(job_id: int, timeout: float = 90.0) -> int:
    """What beat does for a dead worker's job: once its heartbeat is stale, send it again.

    The heartbeat is aged by hand; repeated until the job finishes, since a restarted
    worker may refresh the heartbeat with already-queued tasks in between. Returns how
    many times the job was re-sent.
    """
    from datetime import timedelta

    from django.utils import timezone

    from evals import jobs
    from evals.models import Job

    resent = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Job.objects.get(pk=job_id).is_finished:
            return resent
        Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
            heartbeat_at=timezone.now() - timedelta(minutes=10)
        )
        resent += jobs.requeue_stale_jobs()
        time.sleep(1.0)
    pytest.fail(f"Job {job_id} did not finish in {timeout} s")
