"""A real Celery worker process on Redis runs the lease reaper against this test database."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from annotate.assignment import claim_next
from annotate.models import Assignment, Item
from tests.factories import make_queue


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_reaps_expired_leases(
    celery_worker_process, workspace, clinicians, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=2, k=1)
    lease = claim_next(queue, reviewer, now=timezone.now() - timedelta(hours=2))
    assert Item.objects.get(pk=lease.item_id).reserved == 1

    sender = Celery(broker=celery_worker_process["broker"])
    sender.send_task("annotate.tasks.reap_expired_leases")

    deadline = time.monotonic() + 60  # as the other worker tests: a loaded machine starts slowly
    while time.monotonic() < deadline:
        if Assignment.objects.get(pk=lease.pk).state == "expired":
            break
        time.sleep(0.2)
    log = celery_worker_process["log"].read_text()
    assert Assignment.objects.get(pk=lease.pk).state == "expired", log
    assert Item.objects.get(pk=lease.item_id).reserved == 0
    assert "annotate.tasks.reap_expired_leases" in log and "succeeded" in log
