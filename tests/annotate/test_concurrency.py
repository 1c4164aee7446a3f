"""50 reviewers claim and submit at once on PostgreSQL, over real connections."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from annotate.assignment import claim_next
from annotate.judging import Outcome, submit_judgment
from annotate.models import Assignment, Cohort, Item, Judgment, Membership
from tests.factories import UserFactory, good_answers, make_queue

REVIEWERS = 50
ITEMS = 200
K = 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_reviewers_fill_a_k2_queue_exactly(postgres, workspace):
    cohort = Cohort.objects.create(workspace=workspace, name="Clinicians")
    queue = make_queue(workspace, cohorts=[cohort], items=ITEMS, k=K)
    criteria = list(queue.rubric_version.criteria.all())
    users = [UserFactory(username=f"rev{n}") for n in range(REVIEWERS)]
    Membership.objects.bulk_create([Membership(workspace=workspace, user=u) for u in users])
    cohort.members.add(*users)
    barrier = threading.Barrier(REVIEWERS)
    outcomes: Counter = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(user) -> None:
        try:
            barrier.wait(timeout=30)
            while (assignment := claim_next(queue, user)) is not None:
                # Every fifth submit is sent twice, like a double click.
                repeats = 2 if assignment.item_id % 5 == 0 else 1
                for _ in range(repeats):
                    result = submit_judgment(queue, assignment, criteria, good_answers())
                    with lock:
                        outcomes[result.outcome] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    assert Judgment.objects.filter(queue=queue).count() == ITEMS * K
    assert outcomes[Outcome.SAVED] == ITEMS * K
    per_item = Counter(Judgment.objects.filter(queue=queue).values_list("item_id", flat=True))
    assert set(per_item.values()) == {K}
    pairs = Judgment.objects.filter(queue=queue).values_list("item_id", "reviewer_id")
    assert len(set(pairs)) == ITEMS * K  # no reviewer twice on an item
    assert not Assignment.objects.filter(queue=queue, state="leased").exists()
    assert set(Item.objects.filter(queue=queue).values_list("state", "judgment_count")) == {
        ("complete", K)
    }
    queue.refresh_from_db()
    assert queue.items_complete == ITEMS
    assert connection.vendor == "postgresql"
