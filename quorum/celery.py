"""The Celery application: CELERY_-prefixed settings, one tasks.py per app."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")

app = Celery("quorum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# What the long jobs import lazily (tasks.py stays light to load): pyarrow, numpy and
# the export paths take about half a second to import and set up.
PRELOAD = ("evals.export_jobs", "evals.export_pg_parquet", "evals.export_agreement", "pandas")


@worker_init.connect
def preload(**_) -> None:
    """Import the export modules as the worker starts (before the pool forks), so no
    export pays for it."""
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
