"""Ingest N JSONL log lines (~1 KB each) through the upload's code path, against COPY.

The baseline is a plain PostgreSQL ``COPY`` of the same lines into a one-column
table, run side by side in the same run. The file is ingested twice, into two sources:

- "worker": the way an upload runs in production. A real Celery worker (prefork pool,
  ``BENCH_WORKER_CONCURRENCY`` processes, 2 by default as in docker-compose.yml) on Redis
  takes the job and its chunk tasks; timed from sending the job until it has succeeded.
  Peak memory is the sum of the peaks (VmHWM) of the worker's processes.
- "inline": the same job run chunk after chunk in one fresh process (the ``ingest``
  command with ``--inline``), peak memory being that process's max RSS.

Targets (on the worker row): ingest at most 3.5x the COPY time; peak memory at most
1 GB, and at the largest size no more than the smallest size's plus 20%.

    python -m benchmarks.bench_ingest 100000 1000000
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import (
    peak_rss_mb,
    print_table,
    setup_django,
    status_kb,
    throwaway_database,
)
from quorum.supervise import NO_PEERS, start_worker, stop_worker, worker_argv

TARGET_RATIO = 3.5
TARGET_MEMORY_MB = 1024
TARGET_MEMORY_GROWTH = 1.2
DEFAULT_SIZES = (10_000, 100_000)
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")
ROOT = Path(__file__).resolve().parent.parent

WORDS = [
    "blood",
    "pressure",
    "ibuprofen",
    "paracetamol",
    "dose",
    "morning",
    "evening",
    "inhaler",
    "asthma",
    "rash",
    "fever",
    "child",
    "pharmacist",
    "appointment",
    "referral",
    "symptoms",
    "headache",
    "dizziness",
    "sleep",
    "diet",
    "exercise",
    "allergy",
    "prescription",
    "refill",
    "side",
    "effect",
    "kidney",
    "liver",
    "heart",
    "pregnancy",
    "breastfeeding",
    "vaccine",
]
TOPICS = ["meds", "diet", "sleep", "asthma", "skin", "pregnancy", "vaccines", "mental-health"]


def make_line(n: int, rng: random.Random) -> bytes:
    question = " ".join(rng.choices(WORDS, k=30))
    answer = " ".join(rng.choices(WORDS, k=90))
    record = {
        "external_id": f"bench-{n}",
        "timestamp": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
        "model": "assistant",
        "model_version": ["v1", "v2", "v3", "v4"][n % 4],
        "input": [
            {"role": "system", "content": "You are a careful assistant for patient messages."},
            {"role": "user", "content": f"Question {n}: {question}?"},
        ],
        "output": f"Answer {n}: {answer}.",
        "metadata": {"topic": TOPICS[n % len(TOPICS)], "locale": "en-GB", "segment": "app"},
        "feedback": {"thumbs": "down" if n % 9 == 0 else "up"},
        "latency_ms": 400 + n % 900,
        "tokens_in": 60,
        "tokens_out": 180,
        "trace_id": f"trace-{n // 3}",
    }
    return json.dumps(record).encode() + b"\n"


def write_file(path: Path, size: int) -> int:
    rng = random.Random(size)
    with path.open("wb") as f:
        for n in range(size):
            f.write(make_line(n, rng))
    return path.stat().st_size


def copy_baseline(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_lines")
        cursor.execute("CREATE TABLE bench_raw_lines (line text)")
        start = time.perf_counter()
        with (
            cursor.cursor.copy(
                "COPY bench_raw_lines (line) FROM STDIN "
                "(FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
            ) as copy,
            path.open("rb") as f,
        ):
            while block := f.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_raw_lines")
    return elapsed


def child(database_url: str, path: str, source_name: str) -> None:
    """Run in a fresh process: ingest the file; print seconds, counts and peak memory."""
    setup_django(database_url)
    # Imported here, after django.setup(): benchmarks also run as standalone scripts.
    from evals.ingest.uploads import ingest_file
    from evals.models import Source

    source = Source.objects.select_related("workspace").get(name=source_name)
    start = time.perf_counter()
    job = ingest_file(source.workspace, source, Path(path), "jsonl")
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_rss_mb(), **job.result, "errors": 0}))


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    return url


def _run_child(path: Path, source_name: str) -> dict:
    url = _database_url()
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_ingest", "--child", url, str(path), source_name],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo.extend(int(c) for c in children.read_text().split())
    return pids


class Worker:
    """A real ``celery worker`` (prefork pool) on Redis, reading the benchmark's database."""

    def __init__(self, log: Path) -> None:
        import redis

        redis.Redis.from_url(BROKER_URL).flushdb()
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "",
        }
        argv = worker_argv(
            pool="prefork",
            concurrency=WORKER_CONCURRENCY,
            hostname=f"bench-{os.getpid()}@%h",
            extra=(*NO_PEERS, "--without-heartbeat"),
        )
        self.proc = start_worker(argv, env, log)

    def peaks_mb(self) -> list[float]:
        """The peak resident memory of each of the worker's processes, main process first.

        Pages the pool processes share with the main one (forked after Django was set up)
        count in each, so their sum overstates what the worker really held at its peak.
        """
        return [status_kb(p, "VmHWM") / 1024 for p in _process_tree(self.proc.pid)]

    def stop(self) -> None:
        stop_worker(self.proc, grace=30)


def _run_worker(path: Path, source_name: str, log: Path) -> dict:
    """Send the upload's job to a real worker; seconds until it succeeded, peak memory."""
    # Imported here, after django.setup(): benchmarks also run as standalone scripts.
    from evals import jobs
    from evals.ingest.uploads import create_file_job
    from evals.models import Job, Source
    from quorum.celery import app

    # Send to the worker's broker, whatever this process was configured with.
    app.conf.broker_url = BROKER_URL
    app.conf.broker_transport_options = {}

    source = Source.objects.select_related("workspace").get(name=source_name)
    worker = Worker(log)
    try:
        start = time.perf_counter()
        job = create_file_job(source.workspace, source, path, "jsonl")
        jobs.dispatch(job)
        while True:
            job.refresh_from_db()
            if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED):
                break
            if worker.proc.poll() is not None:
                raise RuntimeError(f"The worker died: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        if job.status != Job.Status.SUCCEEDED:
            raise RuntimeError(f"The ingest job {job.status}: {job.error}")
        peaks = worker.peaks_mb()
        return {"seconds": elapsed, "peak_mb": sum(peaks), "peaks_mb": peaks, **job.result}
    finally:
        worker.stop()


def _measure(sizes: tuple[int, ...]) -> list[dict]:
    from annotate.models import Workspace
    from evals.models import Source

    workspace = Workspace.objects.create(name="Bench ingest", slug="bench-ingest")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"logs-{size}.jsonl"
            size_bytes = write_file(path, size)
            copy_s = copy_baseline(path)
            for mode in ("worker", "inline"):
                source_name = f"bench-{size}-{mode}"
                Source.objects.create(workspace=workspace, name=source_name)
                if mode == "worker":
                    result = _run_worker(path, source_name, Path(tmp) / "worker.log")
                else:
                    result = _run_child(path, source_name)
                rows.append(
                    {
                        "case": f"ingest {size:,} lines, {mode}",
                        "file_mb": round(size_bytes / 1e6, 1),
                        "copy_s": round(copy_s, 2),
                        "ingest_s": round(result["seconds"], 2),
                        "ratio": round(result["seconds"] / copy_s, 2),
                        "lines_per_s": int(size / result["seconds"]),
                        "peak_mb": round(result["peak_mb"], 1),
                        "process_peaks_mb": "+".join(
                            str(round(p)) for p in result.get("peaks_mb", [result["peak_mb"]])
                        ),
                        "accepted": result["accepted"],
                        # The target is the upload's path, the worker; inline is for comparison.
                        "target_met": None
                        if mode == "inline"
                        else result["seconds"] / copy_s <= TARGET_RATIO
                        and result["peak_mb"] <= TARGET_MEMORY_MB
                        and result["accepted"] == size,
                    }
                )
            path.unlink()
    workers = [row for row in rows if row["case"].endswith("worker")]
    if len(workers) > 1:
        growth = workers[-1]["peak_mb"] / workers[0]["peak_mb"]
        rows.append(
            {
                "case": f"worker peak memory {sizes[-1]:,} vs {sizes[0]:,}",
                "ratio": round(growth, 3),
                "target_met": growth <= TARGET_MEMORY_GROWTH,
            }
        )
    return rows


def run(size_args: tuple[int, ...] = DEFAULT_SIZES) -> list[dict]:
    with throwaway_database():
        return _measure(tuple(size_args))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = ""
    setup_django()
    sizes = tuple(int(a) for a in sys.argv[1:]) or DEFAULT_SIZES
    print_table(run(sizes))


if __name__ == "__main__":
    main()
