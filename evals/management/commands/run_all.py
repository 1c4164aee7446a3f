"""Run the web server, a Celery worker and Celery beat together; Ctrl-C stops all three."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from evals.demo import workspace as demo
from evals.management.commands.load_demo import print_logins
from quorum import supervise


class Command(BaseCommand):
    help = "Start web (runserver), a Celery worker and Celery beat; Ctrl-C stops them all."
    requires_system_checks = []  # runserver runs them itself

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument(
            "--reload", action="store_true", help="restart the web server when code changes"
        )

    def handle(self, *args, host: str, port: int, concurrency: int, reload: bool, **options):
        lock = threading.Lock()

        def write(line: str) -> None:
            with lock:
                self.stdout.write(line)
                self.stdout.flush()

        url = f"http://{host}:{port}/"

        def on_ready() -> None:
            write("")
            write(f"Quorum is running at {url}  (Ctrl-C stops web, worker and beat)")
            if _demo_loaded():
                print_logins(write)
            else:
                write("No demo workspace: run `manage.py load_demo` to add one.")
            write("")

        items = supervise.children(
            host=host,
            port=port,
            var_dir=settings.VAR_DIR,
            concurrency=concurrency,
            reload=reload,
        )
        write(f"Starting Quorum on {url} with a Celery worker and beat...")
        code = supervise.supervise(items, host=host, port=port, write=write, on_ready=on_ready)
        if code != 0:
            raise CommandError("A process stopped unexpectedly; see the output above.")


def _demo_loaded() -> bool:
    try:
        return demo.demo_exists()
    except DatabaseError:
        return False
