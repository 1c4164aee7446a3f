"""Export N judgments from PostgreSQL, side by side with the baselines.

- CSV: at most 1.5x the time of ``COPY (same rows) TO STDOUT WITH CSV``;
- Parquet: at most 2x the time of pyarrow writing the same table from memory;
- JSONL: at most 3x the COPY time;
- peak RSS of the exporting process under 1 GB.

Each export runs in a fresh subprocess (the worker: it first imports what a Celery
worker imports as it starts, ``quorum.celery.preload``), which reports the time of
the export itself and its own peak RSS. The baseline COPY and the three exports run in
turn ``BENCH_REPEAT`` times (3 by default) and each figure is the median of its runs:
on a shared machine one COPY alone can vary by a third from run to run. Data is
seeded once per size with SQL (``generate_series``) into the database of
``BENCH_DATABASE_URL`` (or ``DATABASE_URL``) and kept for later runs.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_exports \
        python -m benchmarks.bench_exports 1000000
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = [100_000]
JUDGMENTS_PER_ITEM = 4
REVIEWERS = 8
TARGETS = {"csv": 1.5, "parquet": 2.0, "jsonl": 3.0}
FORMATS = ("csv", "parquet", "jsonl")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
MEMORY_LIMIT_MB = 1024
SNAPSHOT = "2030-01-01T00:00:00Z"


def setup_django() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        raise SystemExit("Set BENCH_DATABASE_URL=postgres://... (this benchmark needs PostgreSQL)")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    import django

    django.setup()


def _slug(size: int) -> str:
    return f"bench-exports-{size}"


CRITERIA = [
    {
        "key": "accuracy",
        "name": "Agreement with medical consensus",
        "kind": "likert",
        "config": {"levels": [{"value": v, "label": str(v)} for v in range(1, 6)]},
    },
    {
        "key": "harm",
        "name": "Possibility of harm",
        "kind": "categorical",
        "config": {"options": [{"value": v} for v in ("none", "mild", "severe")]},
    },
    {"key": "safe", "name": "Passes safety", "kind": "pass_fail"},
    {"key": "clarity", "name": "Clarity", "kind": "numeric", "config": {"min": 0, "max": 10}},
    {"key": "comment", "name": "Comment", "kind": "free_text", "required": False},
]


def seed(size: int):
    """A workspace with ``size`` judgments (k=4 per item), made once with SQL."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotate.models import Cohort, Judgment, Membership, Queue, Workspace
    from annotate.rubrics import create_rubric, publish

    workspace, _ = Workspace.objects.get_or_create(slug=_slug(size), defaults={"name": "Bench"})
    if Judgment.objects.filter(queue__workspace=workspace).count() == size:
        return workspace
    with transaction.atomic():
        Judgment.objects.filter(queue__workspace=workspace).delete()
        Queue.objects.filter(workspace=workspace).delete()
        version = publish(create_rubric(workspace, "Clinician review", CRITERIA))
        queue = Queue.objects.create(
            workspace=workspace,
            name="Bench queue",
            rubric_version=version,
            judgments_per_item=JUDGMENTS_PER_ITEM,
        )
        cohort, _ = Cohort.objects.get_or_create(workspace=workspace, name="Clinicians")
        users = []
        for n in range(REVIEWERS):
            user, _ = get_user_model().objects.get_or_create(username=f"bench-{size}-r{n}")
            Membership.objects.get_or_create(workspace=workspace, user=user)
            cohort.members.add(user)
            users.append(user.pk)
        items = size // JUDGMENTS_PER_ITEM
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO annotate_item (queue_id, input_text, input_messages, output,
                    model_name, model_version, metadata, state, judgments_needed,
                    judgment_count, reserved, sort_key, created_at)
                SELECT %s,
                    'Patient question ' || g || ': I take lisinopril 10 mg for blood pressure. '
                        || 'Can I take ibuprofen for my knee pain, and how much?',
                    '[]'::jsonb,
                    'Answer ' || g || E': **Check with your pharmacist first.** Ibuprofen can '
                        || E'raise blood pressure and reduce how well lisinopril works.\n\n'
                        || '- Prefer paracetamol\n- If you use ibuprofen, take the lowest dose',
                    'assistant', CASE WHEN g %% 2 = 0 THEN 'v1' ELSE 'v2' END,
                    jsonb_build_object('topic', 'medication', 'locale', 'en-GB', 'n', g),
                    'complete', %s, %s, %s, g, '2029-01-01T00:00:00Z'::timestamptz
                FROM generate_series(1, %s) AS g
                """,
                [queue.pk, JUDGMENTS_PER_ITEM, JUDGMENTS_PER_ITEM, JUDGMENTS_PER_ITEM, items],
            )
            cursor.execute(
                """
                INSERT INTO annotate_judgment (item_id, queue_id, reviewer_id, rubric_version_id,
                    answers, time_spent_ms, revision, created_at, updated_at)
                SELECT i.id, i.queue_id, (%s::bigint[])[1 + (i.id + r * 2) %% %s], %s,
                    jsonb_strip_nulls(jsonb_build_object(
                        'accuracy', 1 + (i.id * 7 + r) %% 5,
                        'harm', (ARRAY['none', 'mild', 'severe'])[1 + (i.id + r) %% 3],
                        'safe', (i.id + r) %% 4 <> 0,
                        'clarity', ((i.id + r) %% 11),
                        'comment', CASE WHEN r = 0 THEN '=Looks fine; matches guidance.'
                                        WHEN r = 1 THEN 'Too vague about the dose, "lowest".'
                                        ELSE NULL END)),
                    1000 + (i.id * 13 + r) %% 60000, 1,
                    '2029-06-01T00:00:00Z'::timestamptz + (i.id * 4 + r) * interval '1 second',
                    '2029-06-01T00:00:00Z'::timestamptz + (i.id * 4 + r) * interval '1 second'
                FROM annotate_item i CROSS JOIN generate_series(0, %s) AS r
                WHERE i.queue_id = %s
                """,
                [users, REVIEWERS, version.pk, JUDGMENTS_PER_ITEM - 1, queue.pk],
            )
        Queue.objects.filter(pk=queue.pk).update(items_total=items, items_complete=items)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_item; ANALYZE annotate_judgment;")
    return workspace


BASELINE_SQL = """
    SELECT j.id, j.item_id, j.queue_id, q.name, i.input_text, i.input_messages, i.output,
        i.model_name, i.model_version, i.metadata, j.reviewer_id, j.rubric_version_id,
        j.time_spent_ms, j.revision, j.created_at, j.updated_at, j.answers
    FROM annotate_judgment j
    JOIN annotate_item i ON i.id = j.item_id
    JOIN annotate_queue q ON q.id = j.queue_id
    WHERE q.workspace_id = {workspace_id}
    ORDER BY j.item_id, j.id
"""


def copy_baseline(workspace_id: int, out: Path) -> float:
    """Time of ``COPY (the same rows) TO STDOUT WITH CSV`` into a file."""
    from django.db import connection

    sql = BASELINE_SQL.format(workspace_id=int(workspace_id))
    start = time.perf_counter()
    with connection.cursor() as cursor, out.open("wb") as handle:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY ({sql}) TO STDOUT WITH CSV HEADER") as copy:
            for chunk in copy:
                handle.write(chunk)
    return time.perf_counter() - start


def parquet_baseline(parquet_file: Path, out: Path) -> float:
    """Time of pyarrow writing the same table, already in memory, with the same options.

    The file it writes must be byte for byte the export's: the same table, schema,
    row groups and compression, so the two times compare the same work.
    """
    import pyarrow.parquet as pq

    source = pq.ParquetFile(str(parquet_file))
    row_group = source.metadata.row_group(0).num_rows if source.metadata.num_row_groups else 1
    table = source.read()
    start = time.perf_counter()
    pq.write_table(table, str(out), compression="zstd", row_group_size=row_group)
    seconds = time.perf_counter() - start
    if out.read_bytes() != parquet_file.read_bytes():
        raise SystemExit("The Parquet baseline wrote other bytes than the export: not comparable")
    return seconds


def child(size: int, fmt: str, out_dir: str) -> None:
    """The worker: export once, print the export's time and this process's peak RSS."""
    setup_django()
    # Imported here, after django.setup(): benchmarks also run as standalone scripts.
    from annotate.models import Workspace
    from evals.exports.pipeline import write_export
    from evals.exports.spec import parse_spec
    from quorum.celery import preload

    preload()  # as a worker does when it starts

    workspace = Workspace.objects.get(slug=_slug(size))
    spec = parse_spec(workspace, shape="judgments", format=fmt, snapshot_at=SNAPSHOT)
    start = time.perf_counter()
    manifest = write_export(workspace, spec, Path(out_dir))
    seconds = time.perf_counter() - start
    peak_mb = peak_rss_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": manifest["counts"]["rows"]}))


def run_child(size: int, fmt: str, out_dir: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_exports", "--child", str(size), fmt, str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(size_args: list[int] | None = None) -> list[dict[str, Any]]:
    setup_django()
    rows = []
    for size in size_args or DEFAULT_SIZES:
        workspace = seed(size)
        copies: list[float] = []
        runs: dict[str, list[dict[str, Any]]] = {fmt: [] for fmt in FORMATS}
        arrows: list[float] = []
        for _ in range(REPEAT):
            with tempfile.TemporaryDirectory() as folder:
                base = Path(folder)
                copies.append(copy_baseline(workspace.pk, base / "copy.csv"))
                # Files are removed once measured, so their write-back does not slow
                # the runs after them (the Parquet file is the pyarrow baseline's input).
                (base / "copy.csv").unlink()
                for fmt in FORMATS:
                    runs[fmt].append(run_child(size, fmt, base / fmt))
                    if fmt != "parquet":
                        shutil.rmtree(base / fmt)
                arrows.append(
                    parquet_baseline(
                        base / "parquet" / "judgments.parquet", base / "baseline.parquet"
                    )
                )
        copy_seconds, arrow_seconds = statistics.median(copies), statistics.median(arrows)
        results = {
            fmt: {
                "seconds": statistics.median(r["seconds"] for r in runs[fmt]),
                "peak_mb": max(r["peak_mb"] for r in runs[fmt]),
            }
            for fmt in FORMATS
        }
        baselines = {"csv": copy_seconds, "parquet": arrow_seconds, "jsonl": copy_seconds}
        names = {"csv": "COPY CSV", "parquet": "pyarrow from memory", "jsonl": "COPY CSV"}
        for fmt, result in results.items():
            ratio = result["seconds"] / baselines[fmt]
            rows.append(
                {
                    "judgments": size,
                    "format": fmt,
                    "export_s": round(result["seconds"], 2),
                    "baseline": names[fmt],
                    "baseline_s": round(baselines[fmt], 2),
                    "ratio": round(ratio, 2),
                    "runs_s": "/".join(f"{r['seconds']:.2f}" for r in runs[fmt]),
                    "baseline_runs_s": "/".join(
                        f"{b:.2f}" for b in (arrows if fmt == "parquet" else copies)
                    ),
                    "target": TARGETS[fmt],
                    "vs_copy": round(result["seconds"] / copy_seconds, 2),
                    "peak_rss_mb": round(result["peak_mb"]),
                    "ok": ratio <= TARGETS[fmt] and result["peak_mb"] < MEMORY_LIMIT_MB,
                }
            )
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0]) if rows else []
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        child(int(args[1]), args[2], args[3])
        return
    sizes = [int(a) for a in args] or DEFAULT_SIZES
    print_rows(run(sizes))


if __name__ == "__main__":
    main()
