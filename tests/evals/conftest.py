"""Fixtures for evals tests: sources, log lines, a killable worker, graded queues, tokens."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from annotate.assignment import claim_next
from annotate.judging import submit_judgment
from annotate.models import Queue
from evals.models import Source
from quorum.supervise import NO_PEERS, start_worker, stop_worker, worker_argv
from tests.conftest import celery_app_on, redis_url, test_database_url
from tests.evals.judges.judge_fixtures import (  # noqa: F401 - judge fixtures: a scripted OpenAI-compatible server
    fast_backoff_fixture,
    judge_endpoint_fixture,
    judge_server_fixture,
)
from tests.factories import make_queue, make_token


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
        hostname = f"ingest-{os.getpid()}-{self.starts}@%h"
        argv = worker_argv(pool="solo", hostname=hostname, extra=NO_PEERS)
        self.proc = start_worker(argv, self.env, self.log)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_worker(self.proc)


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
        # The same keys as this process, so the worker can read what the tests wrote.
        "SECRET_KEY": settings.SECRET_KEY,
        "QUORUM_ENCRYPTION_KEY": settings.QUORUM_ENCRYPTION_KEY,
    }
    worker = Worker(env, tmp_path / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture
def redis_broker():
    with celery_app_on(redis_url()):
        yield


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


# --- Export, import and API fixtures: a graded queue and tokens ---------------------------

BASE_TIME = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

ANSWER_SETS = [
    {"accuracy": 4, "harm": "none", "safe": "pass", "comment": '=HYPERLINK("x")'},
    {"accuracy": 5, "harm": "none", "safe": "pass", "minutes": 3},
    {"accuracy": 2, "harm": "mild", "safe": "fail", "comment": "Line one\nline, two"},
    {"accuracy": 2, "harm": "severe", "safe": "fail", "comment": "-dangerous"},
]


def grade_queue(queue: Queue, reviewers: list, answer_sets=ANSWER_SETS) -> None:
    """Every reviewer grades every item they can claim, with answers cycled from a list."""
    criteria = list(queue.rubric_version.criteria.all())
    n = 0
    for reviewer in reviewers:
        while (assignment := claim_next(queue, reviewer)) is not None:
            when = BASE_TIME + timedelta(minutes=n)
            assignment.leased_at = when - timedelta(seconds=30 + n)
            submit_judgment(
                queue, assignment, criteria, answer_sets[n % len(answer_sets)], now=when
            )
            n += 1


@pytest.fixture
def graded_queue(workspace, clinicians, reviewer, second_reviewer) -> Queue:
    queue = make_queue(workspace, cohorts=[clinicians], k=2, items=4, order=Queue.Order.OLDEST)
    queue.items.filter(pk=queue.items.order_by("pk").first().pk).update(
        input_text="@SUM(A1:A2) is this safe?", metadata={"topic": "dosage", "locale": "en"}
    )
    grade_queue(queue, [reviewer, second_reviewer])
    return queue


@pytest.fixture
def api_token(workspace) -> str:
    """A live token of ``workspace`` with every scope."""
    return make_token(workspace, "tests")[1]


@pytest.fixture
def auth(api_token) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token}"}
