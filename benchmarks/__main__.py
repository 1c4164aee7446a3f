"""Run every benchmark and print one table: ``python -m benchmarks [name ...]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks
from benchmarks.common import print_table, setup_django


def main(argv: list[str]) -> int:
    setup_django()
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in argv] or names
    rows = []
    for name in wanted:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", flush=True)
        for row in module.run():
            rows.append({"benchmark": name.removeprefix("bench_"), **row})
    print()
    print_table(rows)
    failed = [row for row in rows if row.get("target_met") is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
