"""Produce items in a background thread while the caller consumes the previous ones.

Ingest parses lines in Python while PostgreSQL inserts the previous batch; with the
parsing in a second thread the two overlap (the database wait releases the GIL).

While a read-ahead runs, the interpreter's switch interval is at most 1 ms (instead of
5 ms): the consuming thread needs the GIL back after each of its database round trips,
and would otherwise wait up to 5 ms each time for the busy producing thread.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
_ITEM, _ERROR, _DONE = "item", "error", "done"
SWITCH_INTERVAL = 0.001
_switching = threading.Lock()
_switching_users = 0
_switch_before = 0.0


@contextmanager
def short_switch_interval() -> Iterator[None]:
    """While inside, threads hand the GIL over within ``SWITCH_INTERVAL``: a thread
    waiting on a database socket gets it back soon after its data arrives. Nested and
    concurrent uses share one change, undone when the last one leaves."""
    global _switching_users, _switch_before
    with _switching:
        if _switching_users == 0:
            _switch_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_before, SWITCH_INTERVAL))
        _switching_users += 1
    try:
        yield
    finally:
        with _switching:
            _switching_users -= 1
            if _switching_users == 0:
                sys.setswitchinterval(_switch_before)


def read_ahead(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items``, produced by a thread at most ``depth`` items ahead.

    An exception raised while producing is raised here, at the point the consumer
    reaches it. Close the generator (``contextlib.closing``) when the consumer may stop
    early: closing tells the thread to stop and waits for it.
    """
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((_ITEM, item)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((_ERROR, exc))
            return
        put((_DONE, None))

    thread = threading.Thread(target=produce, name="quorum-read-ahead", daemon=True)
    with short_switch_interval():
        thread.start()
        try:
            while True:
                kind, value = channel.get()
                if kind == _ITEM:
                    yield value
                elif kind == _ERROR:
                    raise value
                else:
                    return
        finally:
            stop.set()
            thread.join()
