"""Run the web server, a Celery worker and Celery beat together, as child processes.

Used by ``manage.py run_all`` for a laptop with no services. Each child runs in its own
process group with its output prefixed by its name. A stop (Ctrl-C, SIGTERM) shuts every
child down gently, then forcibly after a grace period; a child that dies on its own
stops the others and makes the whole run fail.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

GRACE_SECONDS = 15.0
POLL_SECONDS = 0.2


@dataclass
class Child:
    name: str
    argv: list[str]
    # Signal the whole process group on stop (runserver's autoreloader runs a grandchild),
    # or only the main process (Celery shuts its own pool down on SIGTERM).
    stop_group: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def children(
    *,
    host: str,
    port: int,
    var_dir: Path,
    concurrency: int = 2,
    reload: bool = False,
    python: str = sys.executable,
    manage: Path | None = None,
) -> list[Child]:
    """The three processes of a laptop install: web, worker, beat."""
    manage = manage or Path(__file__).resolve().parent.parent / "manage.py"
    web = [python, str(manage), "runserver", f"{host}:{port}"]
    if not reload:
        web.append("--noreload")
    celery = [python, "-m", "celery", "-A", "quorum"]
    return [
        Child("web", web, stop_group=True),
        Child("worker", worker_argv(concurrency=concurrency, python=python)),
        Child(
            "beat",
            [*celery, "beat", "--loglevel=INFO", "-s", str(var_dir / "celerybeat-schedule")],
        ),
    ]


# For a worker that need not meet other workers (tests, benchmarks): it starts faster.
NO_PEERS = ("--without-gossip", "--without-mingle")


def worker_argv(
    *,
    hostname: str = "quorum@%h",
    concurrency: int | None = None,
    pool: str | None = None,
    extra: tuple[str, ...] = (),
    python: str = sys.executable,
) -> list[str]:
    """The ``celery worker`` command line; ``run_all``, the tests and the benchmarks use it."""
    argv = [python, "-m", "celery", "-A", "quorum", "worker", "--loglevel=INFO"]
    if pool:
        argv.append(f"--pool={pool}")
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    return [*argv, *extra, f"--hostname={hostname}"]


def start_worker(
    argv: list[str], env: dict[str, str], log: Path, timeout: float = 60.0
) -> subprocess.Popen:
    """Start a worker in a session of its own, its output appended to ``log``, and return
    once it says it is ready. RuntimeError, with the log, if it exits or takes too long."""
    ready_before = log.read_text().count("ready.") if log.exists() else 0
    process = subprocess.Popen(
        argv,
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while log.read_text().count("ready.") <= ready_before:
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            raise RuntimeError("The Celery worker did not start:\n" + log.read_text())
        time.sleep(POLL_SECONDS)
    return process


def stop_worker(process: subprocess.Popen, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM the worker's session (a warm shutdown), SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM this child if run_all itself is killed (best effort)."""
    os.setsid()
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _pump(name: str, stream: IO[str], write: Callable[[str], None]) -> None:
    for line in stream:
        write(f"[{name}] {line.rstrip()}")
    stream.close()


def start(items: list[Child], write: Callable[[str], None], env: dict[str, str]) -> None:
    """Start every child, then one thread per child copying its output with a prefix."""
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    for child in items:
        child.process = subprocess.Popen(
            child.argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            preexec_fn=preexec,  # safe: no threads of ours exist yet
            start_new_session=preexec is None,
        )
    for child in items:
        assert child.process is not None and child.process.stdout is not None
        thread = threading.Thread(
            target=_pump, args=(child.name, child.process.stdout, write), daemon=True
        )
        thread.start()


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def first_exited(items: list[Child]) -> Child | None:
    for child in items:
        if child.process is not None and child.process.poll() is not None:
            return child
    return None


def _signal(child: Child, signum: int) -> None:
    if child.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if child.stop_group:
            os.killpg(child.pid, signum)
        elif child.process.poll() is None:
            os.kill(child.pid, signum)


def stop(items: list[Child], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every child, wait up to ``grace`` seconds, then SIGKILL what is left."""
    for child in items:
        _signal(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in items:
        if child.process is None:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in items:
        # Anything left in a child's process group (a pool process, a reloader's child).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        if child.process is not None and child.process.poll() is None:
            child.process.kill()
            child.process.wait()


class Stop:
    """Set by SIGINT/SIGTERM; the supervising loop checks it."""

    def __init__(self) -> None:
        self.requested = False
        self.signum = 0

    def __call__(self, signum: int, frame) -> None:
        self.requested = True
        self.signum = signum


def supervise(
    items: list[Child],
    *,
    host: str,
    port: int,
    write: Callable[[str], None],
    on_ready: Callable[[], None],
    env: dict[str, str] | None = None,
) -> int:
    """Run until a signal (returns 0) or until a child dies (returns 1). Always stops all."""
    requested = Stop()
    previous = {s: signal.signal(s, requested) for s in (signal.SIGINT, signal.SIGTERM)}
    env = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
    try:
        start(items, write, env)
        for child in items:
            write(f"run_all: started {child.name} (pid {child.pid}): {' '.join(child.argv)}")
        announced = False
        while not requested.requested:
            dead = first_exited(items)
            if dead is not None:
                write(
                    f"run_all: {dead.name} exited with code {dead.process.returncode}; "
                    "stopping the others."
                )
                return 1
            if not announced and port_open(host, port):
                announced = True
                on_ready()
            time.sleep(POLL_SECONDS)
        write(f"run_all: got {signal.Signals(requested.signum).name}; stopping all processes.")
        return 0
    finally:
        stop(items)
        for s, handler in previous.items():
            signal.signal(s, handler)
        write("run_all: all processes stopped.")
