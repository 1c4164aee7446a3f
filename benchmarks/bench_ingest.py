"""Ingest N JSONL log lines (~1 KB each) through the upload's code path, against COPY.

The baseline is a plain PostgreSQL ``COPY`` of the same lines into a one-column
table, run side by side in the same process. Each ingest runs in a fresh child
process (the "worker") so its peak memory (max RSS) is measured alone.
Targets: ingest at most 3.5x the COPY time; peak memory at most 1 GB, and at the
largest size no more than the smallest size's plus 20%.

    python -m benchmarks.bench_ingest 100000 1000000
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import print_table, setup_django, throwaway_database

TARGET_RATIO = 3.5
TARGET_MEMORY_MB = 1024
TARGET_MEMORY_GROWTH = 1.2
DEFAULT_SIZES = (10_000, 100_000)
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
    from evals.ingest_jobs import ingest_file
    from evals.models import Source

    source = Source.objects.select_related("workspace").get(name=source_name)
    start = time.perf_counter()
    job = ingest_file(source.workspace, source, Path(path), "jsonl")
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024, **job.result, "errors": 0}))


def _run_child(path: Path, source_name: str) -> dict:
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_ingest", "--child", url, str(path), source_name],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(sizes: tuple[int, ...]) -> list[dict]:
    from annotate.models import Workspace
    from evals.models import Source

    workspace = Workspace.objects.create(name="Bench ingest", slug="bench-ingest")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"logs-{size}.jsonl"
            size_bytes = write_file(path, size)
            Source.objects.create(workspace=workspace, name=f"bench-{size}")
            copy_s = copy_baseline(path)
            result = _run_child(path, f"bench-{size}")
            rows.append(
                {
                    "case": f"ingest {size:,} lines",
                    "file_mb": round(size_bytes / 1e6, 1),
                    "copy_s": round(copy_s, 2),
                    "ingest_s": round(result["seconds"], 2),
                    "ratio": round(result["seconds"] / copy_s, 2),
                    "lines_per_s": int(size / result["seconds"]),
                    "peak_mb": round(result["peak_mb"], 1),
                    "accepted": result["accepted"],
                    "target_met": result["seconds"] / copy_s <= TARGET_RATIO
                    and result["peak_mb"] <= TARGET_MEMORY_MB
                    and result["accepted"] == size,
                }
            )
            path.unlink()
    if len(rows) > 1:
        growth = rows[-1]["peak_mb"] / rows[0]["peak_mb"]
        rows.append(
            {
                "case": f"peak memory {sizes[-1]:,} vs {sizes[0]:,}",
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
    setup_django()
    sizes = tuple(int(a) for a in sys.argv[1:]) or DEFAULT_SIZES
    print_table(run(sizes))


if __name__ == "__main__":
    main()
