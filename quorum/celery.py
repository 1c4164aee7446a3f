"""The Celery application: CELERY_-prefixed settings, one tasks.py per app and package."""

import importlib
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")

app = Celery("quorum")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One tasks.py per app and per capability package of evals.
app.autodiscover_tasks(
    [
        "annotate",
        "evals",
        "evals.ingest",
        "evals.sampling",
        "evals.judges",
        "evals.results",
        "evals.exports",
    ]
)

# What the long jobs need that web processes do not load at start-up: pyarrow, numpy and
# the export paths take about half a second to import and set up. The worker imports
# them before its pool forks, so every child shares them.
PRELOAD = ("evals.exports.jobs", "evals.exports.pg_parquet", "evals.exports.agreement", "pandas")


@worker_init.connect
def preload(**_) -> None:
    """Import the export modules as the worker starts (before the pool forks), so no
    export pays for it."""
    for module in PRELOAD:
        importlib.import_module(module)
