"""Versioning rules, validation and the diff of rubrics (plain functions)."""

import pytest
from django.core.exceptions import ValidationError

from annotate import rubrics
from annotate.models import Criterion, PublishedVersionError, Rubric, RubricVersion
from annotate.rubric_templates import TEMPLATES, create_from_template
from tests.factories import make_queue, published_rubric, standard_criteria


def likert(key="accuracy", levels=5, **extra):
    spec = {
        "key": key,
        "name": "Accuracy",
        "kind": "likert",
        "config": {"levels": [{"value": n, "label": str(n)} for n in range(1, levels + 1)]},
    }
    spec.update(extra)
    return spec


# --- validation ---------------------------------------------------------------------------


def test_a_valid_criterion_has_no_errors():
    assert rubrics.validate_criterion(likert()) == {}


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (likert(name="  "), "name", "Give the criterion a name."),
        (likert(key=""), "key", "Give the criterion a key"),
        (likert(key="Has Spaces"), "key", "Use lowercase letters"),
        (likert(levels=1), "levels", "A scale needs at least two levels."),
        (likert(weight=0), "weight", "The weight must be a positive number."),
        (likert(weight=-2), "weight", "The weight must be a positive number."),
        (likert(weight="heavy"), "weight", "The weight must be a positive number."),
        (
            {
                "key": "harm",
                "name": "Harm",
                "kind": "categorical",
                "config": {"options": [{"value": "a"}]},
            },
            "options",
            "Add at least two options.",
        ),
        (
            {"key": "n", "name": "N", "kind": "numeric", "config": {"min": 5, "max": 5}},
            "max",
            "The minimum must be less than the maximum.",
        ),
        (
            {"key": "n", "name": "N", "kind": "numeric", "config": {"min": 9, "max": 1}},
            "max",
            "The minimum must be less than the maximum.",
        ),
        (
            {"key": "n", "name": "N", "kind": "numeric", "config": {"min": 0, "max": 1, "step": 0}},
            "step",
            "The step must be greater than zero.",
        ),
        (
            {"key": "n", "name": "N", "kind": "numeric", "config": {"min": "abc", "max": 1}},
            "min",
            "Enter a number.",
        ),
    ],
)
def test_validation_names_the_field_and_says_what_is_wrong(spec, field, message):
    errors = rubrics.validate_criterion(spec)
    assert message in errors[field]


def test_a_duplicate_key_is_reported():
    errors = rubrics.validate_criterion(likert(key="accuracy"), other_keys=["accuracy", "harm"])
    assert errors["key"] == "Another criterion already uses the key “accuracy”."


def test_levels_need_labels_and_distinct_values():
    spec = likert()
    spec["config"]["levels"][1]["label"] = ""
    assert rubrics.validate_criterion(spec)["levels"] == "Give every level a label."
    spec = likert()
    spec["config"]["levels"][1]["value"] = 1
    assert "same value" in rubrics.validate_criterion(spec)["levels"]


def test_publishing_with_no_criteria_is_refused(workspace):
    version = rubrics.create_rubric(workspace, "Empty", [])
    with pytest.raises(ValidationError, match="Add at least one criterion before publishing."):
        rubrics.publish(version)
    version.refresh_from_db()
    assert not version.is_published


def test_publishing_an_invalid_criterion_is_refused(workspace):
    version = rubrics.create_rubric(workspace, "Broken", [likert(levels=1)])
    with pytest.raises(ValidationError, match="Fix the 1 criterion"):
        rubrics.publish(version)
    assert list(rubrics.validate_version(version).values()) == [
        {"levels": "A scale needs at least two levels."}
    ]


def test_every_starter_template_is_valid_and_publishable(workspace):
    for key in TEMPLATES:
        version = create_from_template(workspace, key)
        assert rubrics.validate_version(version) == {}, key
        rubrics.publish(version)
    assert Rubric.objects.filter(workspace=workspace).count() == len(TEMPLATES)


def test_the_clinician_template_covers_the_clinical_axes(workspace):
    version = create_from_template(workspace, "clinician")
    keys = set(version.criteria.values_list("key", flat=True))
    assert {"consensus", "harm_extent", "missing_content", "reasoning", "bias"} <= keys
    consensus = version.criteria.get(key="consensus")
    assert all(level["description"] for level in consensus.levels)


# --- versioning ---------------------------------------------------------------------------


def test_editing_a_published_rubric_opens_the_next_draft_with_the_same_criteria(workspace):
    v1 = published_rubric(workspace)
    v2 = rubrics.new_draft_version(v1.rubric)
    assert (v2.number, v2.status) == (2, RubricVersion.Status.DRAFT)
    assert list(v2.criteria.values_list("key", "position")) == list(
        v1.criteria.values_list("key", "position")
    )
    assert v2.criteria.first().pk != v1.criteria.first().pk


def test_asking_twice_for_a_draft_returns_the_same_draft(workspace):
    v1 = published_rubric(workspace)
    assert rubrics.new_draft_version(v1.rubric) == rubrics.new_draft_version(v1.rubric)
    assert v1.rubric.versions.count() == 2


def test_a_published_version_never_changes(workspace):
    v1 = published_rubric(workspace)
    criterion = v1.criteria.first()
    with pytest.raises(ValidationError):
        rubrics.update_criterion(criterion, {**rubrics.criterion_spec(criterion), "name": "X"})
    with pytest.raises(ValidationError):
        rubrics.add_criterion(v1)
    with pytest.raises(PublishedVersionError):
        criterion.delete()
    assert Criterion.objects.get(pk=criterion.pk).name == criterion.name


def test_judgments_stay_on_the_version_they_were_made_with(workspace, clinicians, reviewer):
    from annotate.assignment import claim_next
    from annotate.judging import submit_judgment
    from tests.factories import good_answers

    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    v1 = queue.rubric_version
    assignment = claim_next(queue, reviewer)
    result = submit_judgment(queue, assignment, list(v1.criteria.all()), good_answers())
    v2 = rubrics.new_draft_version(v1.rubric)
    rubrics.remove_criterion(v2.criteria.get(key="harm"))
    rubrics.publish(v2)
    result.judgment.refresh_from_db()
    assert result.judgment.rubric_version == v1
    assert v1.criteria.filter(key="harm").exists()


def test_criteria_can_be_added_duplicated_moved_and_removed_in_a_draft(workspace):
    version = rubrics.create_rubric(workspace, "R", [likert("a"), likert("b")])
    added = rubrics.add_criterion(version, "numeric")
    assert added.config == {"min": 0, "max": 10, "step": 1}
    copy = rubrics.duplicate_criterion(version.criteria.get(key="a"))
    assert copy.key == "a_2"
    assert list(version.criteria.values_list("key", flat=True)) == ["a", "a_2", "b", "numeric"]
    rubrics.move_criterion(version.criteria.get(key="numeric"), -1)
    rubrics.move_criterion(version.criteria.get(key="a"), -1)  # already first: stays
    assert list(version.criteria.values_list("key", flat=True)) == ["a", "a_2", "numeric", "b"]
    rubrics.remove_criterion(copy)
    assert list(version.criteria.values_list("position", flat=True)) == [0, 2, 3]


def test_update_criterion_saves_nothing_when_invalid(workspace):
    version = rubrics.create_rubric(workspace, "R", [likert("a"), likert("b")])
    b = version.criteria.get(key="b")
    errors = rubrics.update_criterion(b, {**rubrics.criterion_spec(b), "key": "a", "name": ""})
    assert set(errors) == {"key", "name"}
    b.refresh_from_db()
    assert (b.key, b.name) == ("b", "Accuracy")


def test_clone_copies_the_latest_version_into_a_new_draft_rubric(workspace):
    v1 = published_rubric(workspace)
    copy = rubrics.clone_rubric(v1.rubric)
    assert copy.rubric.name == "Copy of Clinician review"
    assert copy.number == 1 and not copy.is_published
    assert copy.criteria.count() == len(standard_criteria())


def test_a_rubric_with_judgments_is_archived_never_deleted(workspace, clinicians, reviewer):
    from annotate.assignment import claim_next
    from annotate.judging import submit_judgment
    from tests.factories import good_answers

    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    assignment = claim_next(queue, reviewer)
    submit_judgment(queue, assignment, list(queue.rubric_version.criteria.all()), good_answers())
    rubric = queue.rubric_version.rubric
    with pytest.raises(ValidationError, match="has judgments"):
        rubrics.delete_rubric(rubric)
    rubrics.archive(rubric)
    rubric.refresh_from_db()
    assert rubric.archived_at is not None


def test_an_unused_rubric_can_be_deleted(workspace):
    version = rubrics.create_rubric(workspace, "Scratch", [likert()])
    rubrics.delete_rubric(version.rubric)
    assert not Rubric.objects.filter(pk=version.rubric_id).exists()


# --- diff ---------------------------------------------------------------------------------


def test_the_diff_says_what_was_added_removed_reworded_and_rescaled():
    old = [
        likert("accuracy"),
        {"key": "harm", "name": "Harm", "kind": "pass_fail", "config": {}},
        {"key": "clarity", "name": "Clarity", "kind": "likert", "config": likert()["config"]},
        {"key": "note", "name": "Note", "kind": "free_text", "config": {}},
    ]
    reworded = likert("accuracy", name="Agreement with consensus")
    rescaled = {
        "key": "clarity",
        "name": "Clarity",
        "kind": "likert",
        "config": likert(levels=3)["config"],
    }
    new = [
        reworded,
        rescaled,
        {"key": "note", "name": "Note", "kind": "free_text", "config": {}},
        {"key": "tone", "name": "Tone", "kind": "pass_fail", "config": {}},
    ]
    changes = {c.key: c for c in rubrics.diff_criteria(old, new)}
    assert changes["accuracy"].tags == ["reworded"]
    assert changes["clarity"].tags == ["rescaled"]
    assert changes["note"].status == "unchanged"
    assert changes["tone"].tags == ["added"]
    assert changes["harm"].tags == ["removed"]
    assert [c.key for c in rubrics.diff_criteria(old, new)][-1] == "harm"


def test_rewording_a_level_description_is_a_rewording_not_a_rescale():
    old = likert()
    new = likert()
    new["config"]["levels"][0]["description"] = "Contradicts consensus"
    (change,) = rubrics.diff_criteria([old], [new])
    assert change.reworded and not change.rescaled
    assert "wording of 1 changed" in change.notes


def test_changing_the_type_or_weight_shows_up_in_the_diff():
    old = likert()
    new = {**likert(), "kind": "pass_fail", "config": {}, "weight": 2.0}
    (change,) = rubrics.diff_criteria([old], [new])
    assert change.rescaled
    assert any("type likert → pass_fail" in n for n in change.notes)
    assert any("weight" in n for n in change.notes)


def test_a_draft_after_a_published_version_can_be_discarded(workspace):
    v1 = published_rubric(workspace)
    v2 = rubrics.new_draft_version(v1.rubric)
    rubrics.discard_draft(v2)
    assert list(v1.rubric.versions.values_list("number", flat=True)) == [1]
    only = rubrics.create_rubric(workspace, "Only draft", [likert()])
    with pytest.raises(ValidationError, match="only version"):
        rubrics.discard_draft(only)
    with pytest.raises(ValidationError):
        rubrics.discard_draft(v1)
