"""Queue setup rules: create, change k and cohorts, refuse a rubric change, pause/close."""

import pytest
from django.core.exceptions import ValidationError

from annotate import queues, rubrics
from annotate.assignment import claim_next
from annotate.judging import submit_judgment
from annotate.models import Cohort, Item, Queue
from tests.factories import good_answers, make_queue, published_rubric


def test_create_queue_checks_every_field(workspace):
    draft = rubrics.create_rubric(workspace, "Draft only", [])
    with pytest.raises(ValidationError) as exc:
        queues.create_queue(
            workspace, name=" ", rubric_version=draft, judgments_per_item=0, lease_seconds=5
        )
    assert set(exc.value.message_dict) == {
        "name",
        "rubric_version",
        "judgments_per_item",
        "lease_seconds",
    }
    assert not Queue.objects.exists()


def test_a_queue_cannot_use_another_workspaces_rubric_or_cohort(workspace, outsider):
    other = outsider.memberships.get().workspace
    foreign = published_rubric(other)
    with pytest.raises(ValidationError) as exc:
        queues.create_queue(
            workspace,
            name="Q",
            rubric_version=foreign,
            cohorts=[Cohort.objects.create(workspace=other, name="Theirs")],
        )
    assert set(exc.value.message_dict) == {"rubric_version", "cohorts"}


def test_create_queue_with_cohorts(workspace, clinicians):
    version = published_rubric(workspace)
    queue = queues.create_queue(
        workspace, name="Clinicians", rubric_version=version, cohorts=[clinicians],
        judgments_per_item=2, lease_seconds=600,
    )  # fmt: skip
    assert list(queue.cohorts.all()) == [clinicians]
    assert queue.status == Queue.Status.ACTIVE


def test_raising_k_applies_to_open_items_only(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], k=1, items=2)
    assignment = claim_next(queue, reviewer)
    submit_judgment(queue, assignment, list(queue.rubric_version.criteria.all()), good_answers())
    queues.update_queue(queue, judgments_per_item=3)
    needed = dict(Item.objects.filter(queue=queue).values_list("state", "judgments_needed"))
    assert needed == {"complete": 1, "open": 3}


def test_lowering_k_keeps_reserved_slots_and_completes_full_items(
    workspace, clinicians, reviewer, second_reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], k=3, items=1, order="oldest")
    criteria = list(queue.rubric_version.criteria.all())
    first = claim_next(queue, reviewer)
    submit_judgment(queue, first, criteria, good_answers())
    claim_next(queue, second_reviewer)  # a live lease: 2 slots reserved
    queues.update_queue(queue, judgments_per_item=1)
    item = Item.objects.get(queue=queue)
    assert item.judgments_needed == 2  # max(new k, reserved): the lease keeps its slot
    assert item.state == Item.State.OPEN
    other = make_queue(workspace, cohorts=[clinicians], k=3, items=1, name="Other")
    submit_judgment(other, claim_next(other, reviewer), criteria, good_answers())
    queues.update_queue(other, judgments_per_item=1)
    other.refresh_from_db()
    assert Item.objects.get(queue=other).state == Item.State.COMPLETE
    assert other.items_complete == 1


def test_changing_the_rubric_version_of_a_queue_with_items_is_refused(workspace):
    queue = make_queue(workspace, items=1)
    newer = rubrics.new_draft_version(queue.rubric_version.rubric)
    rubrics.publish(newer)
    with pytest.raises(ValidationError, match="make a new queue|Make a new queue"):
        queues.update_queue(queue, rubric_version=newer)
    queue.refresh_from_db()
    assert queue.rubric_version.number == 1


def test_changing_the_rubric_version_of_an_empty_queue_is_allowed(workspace):
    queue = make_queue(workspace)
    newer = rubrics.new_draft_version(queue.rubric_version.rubric)
    rubrics.publish(newer)
    assert queues.update_queue(queue, rubric_version=newer) == ["rubric_version"]


def test_changing_cohorts_of_a_running_queue_takes_effect(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[], items=1)
    changed = queues.update_queue(queue, cohorts=[clinicians], name="Renamed")
    assert set(changed) == {"name", "cohorts"}
    assert list(queue.cohorts.all()) == [clinicians]


def test_pause_resume_close(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=2)
    queues.pause(queue)
    assert claim_next(queue, reviewer) is None
    queues.resume(queue)
    assert claim_next(queue, reviewer) is not None
    queues.close(queue)
    with pytest.raises(ValidationError):
        queues.resume(queue)
    with pytest.raises(ValidationError):
        queues.add_item_by_hand(queue, input_text="q", output="a")


def test_items_added_by_hand_count_toward_progress(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], k=2)
    with pytest.raises(ValidationError) as exc:
        queues.add_item_by_hand(queue, input_text="", output=" ")
    assert set(exc.value.message_dict) == {"input_text", "output"}
    for n in range(3):
        queues.add_item_by_hand(queue, input_text=f"Question {n}", output=f"Answer {n}")
    queue.refresh_from_db()
    submit_judgment(
        queue,
        claim_next(queue, reviewer),
        list(queue.rubric_version.criteria.all()),
        good_answers(),
    )
    progress = queues.progress(queue)
    assert (progress.total, progress.complete, progress.partial, progress.untouched) == (3, 0, 1, 2)
    assert progress.per_reviewer[0]["reviewer__username"] == reviewer.username
    assert progress.judgments == 1
