"""Helpers shared by the benchmarks: Django set-up on a throwaway database, tables."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_BENCH_DATABASE = "postgres://postgres@127.0.0.1:5432/quorum_bench"


def setup_django(database_url: str | None = None) -> None:
    """Configure Django for a benchmark (PostgreSQL unless BENCH_DATABASE_URL says otherwise)."""
    os.environ["DATABASE_URL"] = database_url or os.environ.get(
        "BENCH_DATABASE_URL", DEFAULT_BENCH_DATABASE
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    import django

    django.setup()


@contextmanager
def throwaway_database() -> Iterator[None]:
    """Create a fresh test database (test_<name>), migrate it, drop it afterwards."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def status_kb(pid: int | str, field: str) -> int:
    """A figure in kB from ``/proc/<pid>/status`` (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program.

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across ``exec``, so a child
    started by a large parent would report the parent's size.
    """
    return status_kb("self", "VmHWM") / 1024


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("(no rows)")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    widths = {c: max(len(c), *(len(_fmt(row.get(c))) for row in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
