from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from annotate.assignment import claim_next, reap_expired_leases
from annotate.judging import UNKNOWN, Outcome, edit_judgment, submit_judgment, validate_answers
from annotate.models import Item, Judgment, JudgmentRevision
from tests.factories import good_answers, make_queue


@pytest.fixture
def queue(workspace, clinicians):
    return make_queue(workspace, cohorts=[clinicians], items=3, k=1)


@pytest.fixture
def criteria(queue):
    return list(queue.rubric_version.criteria.all())


def test_valid_answers_are_cleaned_to_their_types(criteria):
    answers, errors = validate_answers(
        criteria, {**good_answers(), "minutes": "12", "comment": "  ok  "}
    )
    assert errors == {}
    assert answers == {"accuracy": 4, "harm": "none", "safe": True, "minutes": 12, "comment": "ok"}


def test_json_values_are_accepted_as_well_as_form_strings(criteria):
    answers, errors = validate_answers(
        criteria, {"accuracy": 5, "harm": "mild", "safe": False, "minutes": 3.0}
    )
    assert errors == {}
    assert answers == {"accuracy": 5, "harm": "mild", "safe": False, "minutes": 3}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("accuracy", "6", "Choose a level from 1 to 5."),
        ("accuracy", "3.5", "Choose a level from 1 to 5."),
        ("accuracy", "high", "Choose one of the levels."),
        ("accuracy", True, "Choose one of the levels."),
        ("harm", "deadly", "Choose one of: none, mild, severe."),
        ("harm", ["none"], "Choose one of: none, mild, severe."),
        ("safe", "maybe", "Answer pass or fail."),
        ("minutes", "-1", "Enter a number of at least 0."),
        ("minutes", "61", "Enter a number of at most 60."),
        ("minutes", "2.5", "Enter a multiple of 1."),
        ("minutes", "nan", "Enter a number."),
        ("minutes", "inf", "Enter a number."),
        ("comment", 42, "Enter text."),
        ("comment", "x" * 5001, "Keep this under 5000 characters (it has 5001)."),
    ],
)
def test_bad_values_are_reported_against_their_criterion(criteria, key, value, message):
    answers, errors = validate_answers(criteria, {**good_answers(), key: value})
    assert errors == {key: message}
    assert key not in answers


def test_missing_required_answers_are_reported_and_optional_ones_are_not(criteria):
    _, errors = validate_answers(criteria, {"accuracy": "3"})
    assert errors == {
        "harm": "This criterion needs an answer.",
        "safe": "This criterion needs an answer.",
    }


def test_unknown_criteria_are_reported(criteria):
    _, errors = validate_answers(criteria, {**good_answers(), "zzz": "1", "aaa": "2"})
    assert errors == {UNKNOWN: "Unknown criteria: aaa, zzz."}


def test_invalid_answers_save_nothing(queue, criteria, reviewer):
    assignment = claim_next(queue, reviewer)
    result = submit_judgment(queue, assignment, criteria, {"accuracy": "9"})
    assert result.outcome == Outcome.INVALID
    assert Judgment.objects.count() == 0
    assignment.refresh_from_db()
    assert assignment.state == "leased"


def test_a_submit_records_time_spent_and_completes_the_item(queue, criteria, reviewer):
    now = timezone.now()
    assignment = claim_next(queue, reviewer, now=now)
    result = submit_judgment(
        queue, assignment, criteria, good_answers(), now=now + timedelta(seconds=42)
    )
    assert result.outcome == Outcome.SAVED
    assert result.judgment.time_spent_ms == 42_000
    assert result.judgment.rubric_version_id == queue.rubric_version_id
    item = Item.objects.get(pk=assignment.item_id)
    assert (item.judgment_count, item.reserved, item.state) == (1, 1, "complete")
    queue.refresh_from_db()
    assert queue.items_complete == 1


def test_a_second_submit_of_the_same_assignment_is_a_duplicate(queue, criteria, reviewer):
    assignment = claim_next(queue, reviewer)
    first = submit_judgment(queue, assignment, criteria, good_answers())
    second = submit_judgment(queue, assignment, criteria, {**good_answers(), "accuracy": "1"})
    assert second.outcome == Outcome.DUPLICATE
    assert second.judgment.pk == first.judgment.pk
    assert Judgment.objects.get().answers["accuracy"] == 4


def test_a_late_submit_is_saved_when_the_item_still_has_room(queue, criteria, reviewer):
    now = timezone.now()
    assignment = claim_next(queue, reviewer, now=now)
    assert reap_expired_leases(now=now + timedelta(hours=1)) == 1
    result = submit_judgment(queue, assignment, criteria, good_answers())
    assert result.outcome == Outcome.SAVED
    item = Item.objects.get(pk=assignment.item_id)
    assert (item.judgment_count, item.reserved) == (1, 1)


def test_a_late_submit_after_others_filled_the_item_saves_nothing(
    workspace, clinicians, reviewer, second_reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1, k=1)
    criteria = list(queue.rubric_version.criteria.all())
    now = timezone.now()
    late = claim_next(queue, reviewer, now=now)
    reap_expired_leases(now=now + timedelta(hours=1))
    other = claim_next(queue, second_reviewer)
    assert other.item_id == late.item_id
    assert submit_judgment(queue, other, criteria, good_answers()).outcome == Outcome.SAVED
    result = submit_judgment(queue, late, criteria, good_answers())
    assert result.outcome == Outcome.TOO_LATE
    assert "not saved" in result.message
    assert Judgment.objects.filter(reviewer=reviewer).count() == 0


def test_a_skipped_assignment_cannot_be_submitted(queue, criteria, reviewer):
    from annotate.assignment import release

    assignment = claim_next(queue, reviewer)
    release(assignment, "cannot judge")
    assert submit_judgment(queue, assignment, criteria, good_answers()).outcome == Outcome.SKIPPED
    assert Judgment.objects.count() == 0


def test_an_edit_keeps_the_earlier_answers_as_a_revision(queue, criteria, reviewer):
    assignment = claim_next(queue, reviewer)
    judgment = submit_judgment(queue, assignment, criteria, good_answers()).judgment
    edited = edit_judgment(judgment, criteria, {**good_answers(), "accuracy": "2"})
    assert edited.outcome == Outcome.SAVED
    judgment.refresh_from_db()
    assert (judgment.answers["accuracy"], judgment.revision) == (2, 2)
    revision = JudgmentRevision.objects.get(judgment=judgment)
    assert (revision.revision, revision.answers["accuracy"]) == (1, 4)


def test_the_database_refuses_a_second_judgment_by_the_same_reviewer(queue, criteria, reviewer):
    assignment = claim_next(queue, reviewer)
    judgment = submit_judgment(queue, assignment, criteria, good_answers()).judgment
    with pytest.raises(IntegrityError):
        Judgment.objects.create(
            item=judgment.item,
            queue=queue,
            reviewer=reviewer,
            rubric_version=queue.rubric_version,
            answers={},
        )


def test_the_database_refuses_more_judgments_than_k(queue):
    item = queue.items.first()
    with pytest.raises(IntegrityError):
        Item.objects.filter(pk=item.pk).update(reserved=2, judgment_count=2)
