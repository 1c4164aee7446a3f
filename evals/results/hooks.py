"""What results do when reviewing happens, connected to ``annotate.signals`` in
``evals.apps``. Kept light to import: it runs at start-up, before any worker preloads."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from annotate.models import Judgment, Queue
from quorum.celery import app

REFRESH_LEADERBOARD = "evals.tasks.refresh_leaderboard"
logger = logging.getLogger(__name__)


def schedule_leaderboard_refresh(sender: type, queue: Queue, **kwargs: Any) -> bool:
    """On ``pairwise_judgment_saved``: enqueue a leaderboard recompute after every N-th
    judgment in the queue (on commit)."""
    every = int(getattr(settings, "QUORUM_LEADERBOARD_EVERY", 20))
    if every <= 0 or Judgment.objects.filter(queue=queue).count() % every != 0:
        return False
    queue_id = queue.pk
    transaction.on_commit(lambda: _send_refresh(queue_id))
    return True


def _send_refresh(queue_id: int) -> None:
    """Send by name: web processes never import the tasks modules (only workers discover
    them). A broker error leaves it to the beat's ``refresh_stale_leaderboards``; the
    reviewer's judgment is saved either way."""
    try:
        app.send_task(REFRESH_LEADERBOARD, args=[queue_id])
    except Exception:  # noqa: BLE001 - any broker error: the beat refreshes it later
        logger.warning("Could not send a leaderboard refresh for queue %s", queue_id)
