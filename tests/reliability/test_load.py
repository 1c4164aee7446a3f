"""50 reviewers grade one queue at once over the HTTP views, on PostgreSQL.

2,000 rubric items at k=1 (``QUORUM_LOAD_ITEMS`` to change it). Every tenth submit is
sent twice (a double click or a retry). Five reviewers walk away holding a lease; the
reaper expires those leases and a second wave of reviewers finishes the queue. At the
end: exactly one judgment per item, none over k, no reviewer twice on an item, no lease
left, and not one 5xx among all the requests.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from annotate.assignment import reap_expired_leases
from annotate.models import Assignment, Cohort, Item, Judgment, Membership
from tests.factories import UserFactory, make_queue
from tests.reliability.http import Reviewer, Tally

REVIEWERS = 50
ITEMS = int(os.environ.get("QUORUM_LOAD_ITEMS", "2000"))
PAIRS = int(os.environ.get("QUORUM_LOAD_PAIRS", "1000"))
ABANDONERS = 5


def run_wave(
    users, grade_url: str, tally: Tally, abandon_after: dict[int, int], pairwise: bool = False
) -> None:
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int, user) -> None:
        try:
            local = Tally()
            reviewer = Reviewer(user, grade_url, local, pairwise=pairwise)
            barrier.wait(timeout=60)
            done = 0
            has_item = reviewer.open()
            while has_item:
                if abandon_after.get(n) == done:
                    break  # walks away with the lease
                # Every tenth submit (by assignment id) is sent twice.
                times = 2 if reviewer.form[1] % 10 == 0 else 1
                has_item = reviewer.submit(times)
                done += 1
            with lock:
                tally.requests += local.requests
                tally.server_errors += local.server_errors
                tally.duplicates += local.duplicates
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n, u)) for n, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not any(t.is_alive() for t in threads), "a reviewer hung"
    assert not errors, errors


def _queue(kind: str, workspace, cohort):
    if kind == "rubric":
        return make_queue(workspace, cohorts=[cohort], items=ITEMS, k=1), ITEMS, 1
    from tests.annotate.pairwise_helpers import make_pairwise_queue

    return make_pairwise_queue(workspace, cohorts=[cohort], pairs=PAIRS, k=2), PAIRS, 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["rubric", "pairwise"])
def test_fifty_reviewers_over_http_fill_a_queue_exactly(postgres, workspace, settings, kind):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cohort = Cohort.objects.create(workspace=workspace, name="Clinicians")
    queue, items, k = _queue(kind, workspace, cohort)
    pairwise = kind == "pairwise"
    users = [UserFactory(username=f"load{n}") for n in range(REVIEWERS + 10)]
    Membership.objects.bulk_create([Membership(workspace=workspace, user=u) for u in users])
    cohort.members.add(*users)
    url = f"/w/{workspace.slug}/queues/{queue.pk}/grade/"
    tally = Tally()

    abandon = {n: 3 for n in range(ABANDONERS)}
    run_wave(users[:REVIEWERS], url, tally, abandon_after=abandon, pairwise=pairwise)
    held = Assignment.objects.filter(queue=queue, state="leased").count()
    assert held == ABANDONERS
    assert Judgment.objects.filter(queue=queue).count() == items * k - ABANDONERS

    later = timezone.now() + timedelta(seconds=queue.lease_seconds + 1)
    assert reap_expired_leases(now=later) == ABANDONERS
    run_wave(users[REVIEWERS:], url, tally, abandon_after={}, pairwise=pairwise)

    judgments = Judgment.objects.filter(queue=queue)
    assert judgments.count() == items * k
    per_item = Counter(judgments.values_list("item_id", flat=True))
    assert set(per_item.values()) == {k}
    assert len(set(judgments.values_list("item_id", "reviewer_id"))) == items * k
    assert not Assignment.objects.filter(queue=queue, state="leased").exists()
    assert Assignment.objects.filter(queue=queue, state="expired").count() == ABANDONERS
    assert set(Item.objects.filter(queue=queue).values_list("state", flat=True)) == {"complete"}
    assert tally.duplicates > 0, "some submits were sent twice"
    assert tally.server_errors == []
    queue.refresh_from_db()
    assert queue.items_complete == items
    print(
        f"load ({kind}): {REVIEWERS}+10 reviewers, {items} items at k={k}, "
        f"{tally.requests} requests, {tally.duplicates} double submits, "
        f"{ABANDONERS} leases expired and reaped, 0 5xx"
    )
