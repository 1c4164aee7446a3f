from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.assignment import claim_next, reap_expired_leases, release
from annotate.judging import submit_judgment
from annotate.models import Assignment, Item, Queue
from tests.factories import UserFactory, good_answers, make_queue


def grade_all(queue, reviewer):
    criteria = list(queue.rubric_version.criteria.all())
    graded = []
    while (assignment := claim_next(queue, reviewer)) is not None:
        submit_judgment(queue, assignment, criteria, good_answers())
        graded.append(assignment.item_id)
    return graded


def test_a_reviewer_never_gets_the_same_item_twice(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=5, k=3)
    graded = grade_all(queue, reviewer)
    assert sorted(graded) == sorted(queue.items.values_list("pk", flat=True))


def test_an_item_is_never_leased_beyond_k(workspace, clinicians):
    queue = make_queue(workspace, cohorts=[clinicians], items=1, k=2)
    reviewers = [UserFactory() for _ in range(3)]
    claims = [claim_next(queue, r) for r in reviewers]
    assert [c is not None for c in claims] == [True, True, False]
    assert Item.objects.get().reserved == 2


def test_a_reviewer_gets_a_free_item_when_the_first_open_one_is_fully_leased_by_others(
    workspace, clinicians
):
    queue = make_queue(workspace, cohorts=[clinicians], items=3, k=2)
    first, second, third = (UserFactory() for _ in range(3))
    taken = claim_next(queue, first)
    # The second reviewer is sent to the same first candidate: it is now fully leased.
    assert claim_next(queue, second).item_id == taken.item_id
    assert Item.objects.get(pk=taken.item_id).reserved == 2
    free = claim_next(queue, third)
    assert free is not None and free.item_id != taken.item_id


def test_reloading_returns_the_same_lease_with_a_fresh_expiry(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=3, k=1)
    now = timezone.now()
    first = claim_next(queue, reviewer, now=now)
    again = claim_next(queue, reviewer, now=now + timedelta(minutes=5))
    assert again.pk == first.pk
    assert again.expires_at == now + timedelta(minutes=5, seconds=queue.lease_seconds)
    assert Assignment.objects.count() == 1


def test_expired_leases_are_reaped_and_the_item_returns_to_the_pool(
    workspace, clinicians, reviewer, second_reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1, k=1)
    now = timezone.now()
    lease = claim_next(queue, reviewer, now=now)
    assert claim_next(queue, second_reviewer, now=now) is None
    assert reap_expired_leases(now=now + timedelta(seconds=queue.lease_seconds - 1)) == 0
    assert reap_expired_leases(now=now + timedelta(seconds=queue.lease_seconds + 1)) == 1
    assert reap_expired_leases(now=now + timedelta(hours=1)) == 0  # idempotent
    lease.refresh_from_db()
    assert lease.state == "expired"
    assert claim_next(queue, second_reviewer).item_id == lease.item_id


def test_skipping_frees_the_slot_for_others_but_not_for_the_skipper(
    workspace, clinicians, reviewer, second_reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1, k=1)
    lease = claim_next(queue, reviewer)
    assert release(lease, "outside my expertise") is True
    assert release(lease, "again") is False
    assert claim_next(queue, reviewer) is None
    assert claim_next(queue, second_reviewer).item_id == lease.item_id


def test_paused_and_closed_queues_give_out_nothing(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=2, k=1)
    for status in (Queue.Status.PAUSED, Queue.Status.CLOSED):
        queue.status = status
        assert claim_next(queue, reviewer) is None


def test_oldest_first_serves_items_in_creation_order(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=4, k=1, order=Queue.Order.OLDEST)
    assert grade_all(queue, reviewer) == sorted(queue.items.values_list("pk", flat=True))


def test_a_queue_with_k_two_is_done_after_two_reviewers(
    workspace, clinicians, reviewer, second_reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=4, k=2)
    grade_all(queue, reviewer)
    grade_all(queue, second_reviewer)
    queue.refresh_from_db()
    assert (queue.items_complete, queue.items_total) == (4, 4)
    assert set(queue.items.values_list("judgment_count", "reserved", "state")) == {
        (2, 2, "complete")
    }


@pytest.mark.parametrize("size", [50, 400])
def test_submit_and_next_item_use_the_same_queries_at_any_queue_size(
    client, workspace, clinicians, reviewer, size
):
    """The query count of "submit, then render the next item" must not grow with the queue."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    queue = make_queue(workspace, cohorts=[clinicians], items=size, k=2)
    client.force_login(reviewer)
    client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    counts = []
    for _ in range(3):
        assignment = Assignment.objects.get(reviewer=reviewer, state="leased")
        url = reverse("submit", args=[workspace.slug, queue.pk, assignment.pk])
        data = {f"c-{k}": v for k, v in good_answers().items()}
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert len(set(counts)) == 1, counts
    assert counts[0] == EXPECTED_SUBMIT_QUERIES[connection.vendor]


# Session, user, membership, queue, assignment, criteria, lock, update, insert judgment,
# item counters, completion, next claim (live lease, candidate, reserve, insert), progress.
EXPECTED_SUBMIT_QUERIES = {"postgresql": 23, "sqlite": 23}
