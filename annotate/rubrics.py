"""Creating, editing, versioning and publishing rubrics.

A published version never changes: criteria are written only while it is a draft.
Editing a published rubric opens the next draft version (a copy of the latest
version's criteria); publishing checks every criterion first. ``diff_criteria`` is a
pure function over criterion dicts so it can be tested alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from annotate import audit
from annotate.models import Criterion, CriterionKind, Judgment, Rubric, RubricVersion, Workspace
from annotate.text import check_fields, nested_text_problem

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
CRITERION_FIELDS = (
    "key",
    "name",
    "help_text",
    "kind",
    "required",
    "weight",
    "pairwise_preference",
    "config",
)
# Bounds of what an author types: a weight, a scale's level values, a number criterion's
# range and step, a free-text answer's length limit.
MAX_WEIGHT = 1000
MAX_LEVEL_VALUE = 1_000_000
MAX_NUMBER = 1e12
MAX_TEXT_LIMIT = 100_000


class RubricError(ValidationError):
    """A rule of rubric editing was broken; ``message_dict`` says where when it can."""


# --- Defaults -----------------------------------------------------------------------------


def default_config(kind: str) -> dict[str, Any]:
    """A sensible starting config for a new criterion of ``kind``."""
    if kind == CriterionKind.LIKERT:
        labels = ["Very poor", "Poor", "Acceptable", "Good", "Excellent"]
        return {
            "levels": [
                {"value": n, "label": label, "description": ""}
                for n, label in enumerate(labels, start=1)
            ]
        }
    if kind == CriterionKind.CATEGORICAL:
        return {
            "options": [
                {"value": "yes", "label": "Yes", "description": ""},
                {"value": "no", "label": "No", "description": ""},
            ]
        }
    if kind == CriterionKind.NUMERIC:
        return {"min": 0, "max": 10, "step": 1}
    if kind == CriterionKind.FREE_TEXT:
        return {"max_length": 2000}
    return {}


# --- Validation ---------------------------------------------------------------------------


def _validate_levels(levels: Sequence[Mapping[str, Any]]) -> str | None:
    if len(levels) < 2:
        return "A scale needs at least two levels."
    values = []
    for level in levels:
        problem = nested_text_problem(dict(level))
        if problem:
            return f"A level's {problem}."
        if not str(level.get("label", "")).strip():
            return "Give every level a label."
        value = level.get("value")
        if isinstance(value, bool) or not isinstance(value, int):
            return "Every level needs a whole-number value."
        if abs(value) > MAX_LEVEL_VALUE:
            return f"Keep level values between -{MAX_LEVEL_VALUE:,} and {MAX_LEVEL_VALUE:,}."
        values.append(value)
    if len(set(values)) != len(values):
        return "Two levels have the same value; give each level its own number."
    return None


def _validate_options(options: Sequence[Mapping[str, Any]]) -> str | None:
    if len(options) < 2:
        return "Add at least two options."
    for option in options:
        problem = nested_text_problem(dict(option))
        if problem:
            return f"An option's {problem}."
    values = [str(option.get("value", "")).strip() for option in options]
    if any(not value for value in values):
        return "Give every option a value."
    if len(set(values)) != len(values):
        return "Two options have the same value; each option needs its own."
    return None


def _number(value: Any) -> float | None:
    """A finite number from ``value``; None when it is blank or not one."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _validate_numeric(config: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    low, high, step = config.get("min"), config.get("max"), config.get("step")
    for name, raw in (("min", low), ("max", high), ("step", step)):
        if raw not in (None, "") and _number(raw) is None:
            errors[name] = "Enter a number."
        elif raw not in (None, "") and abs(_number(raw)) > MAX_NUMBER:
            errors[name] = f"Keep it between -{MAX_NUMBER:,.0f} and {MAX_NUMBER:,.0f}."
    if errors:
        return errors
    if _number(low) is not None and _number(high) is not None and _number(low) >= _number(high):
        errors["max"] = "The minimum must be less than the maximum."
    if step not in (None, "") and _number(step) <= 0:
        errors["step"] = "The step must be greater than zero."
    return errors


def validate_criterion(spec: Mapping[str, Any], other_keys: Iterable[str] = ()) -> dict[str, str]:
    """Errors by field name for one criterion spec (a dict of Criterion fields).

    ``other_keys`` are the keys of the version's other criteria (for duplicate checks).
    Config errors are reported under ``levels``, ``options``, ``min``, ``max``, ``step``
    or ``max_length``.
    """
    errors: dict[str, str] = {}
    if not str(spec.get("name", "")).strip():
        errors["name"] = "Give the criterion a name."
    texts = {name: spec[name] for name in ("name", "help_text") if name in spec}
    errors.update(check_fields(Criterion, **texts))
    key = str(spec.get("key", "")).strip()
    if not key:
        errors["key"] = "Give the criterion a key (used in exports and the API)."
    elif not KEY_PATTERN.match(key) or len(key) > 60:
        errors["key"] = (
            "Use lowercase letters, digits, hyphens and underscores, starting with a letter or "
            "digit (at most 60 characters)."
        )
    elif key in set(other_keys):
        errors["key"] = f"Another criterion already uses the key “{key}”."
    kind = spec.get("kind")
    if kind not in CriterionKind.values:
        errors["kind"] = "Choose a type."
    weight = _number(spec.get("weight", 1.0))
    if weight is None or weight <= 0:
        errors["weight"] = "The weight must be a positive number."
    elif weight > MAX_WEIGHT:
        errors["weight"] = f"Keep the weight to {MAX_WEIGHT} or less."
    config = spec.get("config") or {}
    if kind == CriterionKind.LIKERT:
        message = _validate_levels(config.get("levels", []))
        if message:
            errors["levels"] = message
    elif kind == CriterionKind.CATEGORICAL:
        message = _validate_options(config.get("options", []))
        if message:
            errors["options"] = message
    elif kind == CriterionKind.NUMERIC:
        errors.update(_validate_numeric(config))
    elif kind == CriterionKind.FREE_TEXT:
        limit = config.get("max_length")
        whole = isinstance(limit, int) and not isinstance(limit, bool)
        if limit is not None and not (whole and 1 <= limit <= MAX_TEXT_LIMIT):
            errors["max_length"] = (
                f"The length limit must be a whole number from 1 to {MAX_TEXT_LIMIT:,}."
            )
    return errors


def criterion_spec(criterion: Criterion) -> dict[str, Any]:
    return {name: getattr(criterion, name) for name in CRITERION_FIELDS}


def validate_version(version: RubricVersion) -> dict[int, dict[str, str]]:
    """Errors by criterion id for every criterion of ``version`` (empty when all are fine)."""
    criteria = list(version.criteria.all())
    problems: dict[int, dict[str, str]] = {}
    for criterion in criteria:
        others = [c.key for c in criteria if c.pk != criterion.pk]
        errors = validate_criterion(criterion_spec(criterion), others)
        if errors:
            problems[criterion.pk] = errors
    return problems


# --- Creating and publishing ----------------------------------------------------------------


def create_rubric(
    workspace: Workspace,
    name: str,
    criteria: Iterable[dict[str, Any]],
    *,
    description: str = "",
    instructions: str = "",
) -> RubricVersion:
    """A new rubric with a first draft version holding ``criteria`` (dicts of Criterion fields)."""
    _check_details(name, description, instructions)
    with transaction.atomic():
        rubric = Rubric.objects.create(workspace=workspace, name=name, description=description)
        version = RubricVersion.objects.create(rubric=rubric, number=1, instructions=instructions)
        for position, spec in enumerate(criteria):
            Criterion.objects.create(rubric_version=version, position=position, **spec)
    return version


def _check_details(name: str, description: str, instructions: str) -> None:
    """RubricError naming each field that cannot be stored: blank or overlong name, text
    with a NUL or a lone surrogate."""
    errors = check_fields(Rubric, name=name.strip(), description=description)
    errors.update(check_fields(RubricVersion, instructions=instructions))
    if not name.strip():
        errors["name"] = "Give the rubric a name."
    if errors:
        raise RubricError(errors)


def publish(version: RubricVersion, actor=None) -> RubricVersion:
    """Publish a draft version. Raises ValidationError when it cannot be published."""
    if version.is_published:
        raise RubricError("This version is already published.")
    if not version.criteria.exists():
        raise RubricError("Add at least one criterion before publishing.")
    problems = validate_version(version)
    if problems:
        count = len(problems)
        raise RubricError(
            f"Fix the {count} criteri{'on' if count == 1 else 'a'} marked below before publishing."
        )
    version.status = RubricVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save()
    audit.record(
        version.rubric.workspace_id, actor, "rubric.publish", version, f"Published {version}"
    )
    return version


def latest_version(rubric: Rubric) -> RubricVersion | None:
    return rubric.versions.order_by("-number").first()


def draft_version(rubric: Rubric) -> RubricVersion | None:
    return rubric.versions.filter(status=RubricVersion.Status.DRAFT).order_by("-number").first()


def _copy_criteria(source: RubricVersion, target: RubricVersion) -> None:
    Criterion.objects.bulk_create(
        Criterion(rubric_version=target, position=c.position, **criterion_spec(c))
        for c in source.criteria.all()
    )


def new_draft_version(rubric: Rubric) -> RubricVersion:
    """The rubric's open draft; if there is none, a copy of the latest version as number + 1.

    This is what "edit" means for a published rubric: the published version stays as
    it is, and judgments made with it stay attached to it.
    """
    with transaction.atomic():
        Rubric.objects.select_for_update().filter(pk=rubric.pk).first()
        existing = draft_version(rubric)
        if existing is not None:
            return existing
        latest = latest_version(rubric)
        number = (rubric.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        version = RubricVersion.objects.create(
            rubric=rubric, number=number, instructions=latest.instructions if latest else ""
        )
        if latest is not None:
            _copy_criteria(latest, version)
    return version


def clone_rubric(rubric: Rubric, name: str = "") -> RubricVersion:
    """A new rubric whose draft v1 copies the latest version of ``rubric``."""
    source = latest_version(rubric)
    limit = Rubric._meta.get_field("name").max_length
    name = name.strip() or f"Copy of {rubric.name}"[:limit]
    _check_details(name, rubric.description, "")
    with transaction.atomic():
        copy = Rubric.objects.create(
            workspace_id=rubric.workspace_id, name=name, description=rubric.description
        )
        version = RubricVersion.objects.create(
            rubric=copy, number=1, instructions=source.instructions if source else ""
        )
        if source is not None:
            _copy_criteria(source, version)
    return version


def has_judgments(rubric: Rubric) -> bool:
    return Judgment.objects.filter(rubric_version__rubric=rubric).exists()


def archive(rubric: Rubric) -> Rubric:
    """Hide a rubric from new queues; it and its judgments stay. Undo with ``unarchive``."""
    if rubric.archived_at is None:
        rubric.archived_at = timezone.now()
        rubric.save(update_fields=["archived_at"])
    return rubric


def unarchive(rubric: Rubric) -> Rubric:
    rubric.archived_at = None
    rubric.save(update_fields=["archived_at"])
    return rubric


def delete_rubric(rubric: Rubric) -> None:
    """Delete a rubric nobody has used. One with judgments or queues is archived instead."""
    if has_judgments(rubric):
        raise RubricError("This rubric has judgments, so it cannot be deleted. Archive it.")
    if rubric.versions.filter(queues__isnull=False).exists():
        raise RubricError("A queue uses this rubric, so it cannot be deleted. Archive it.")
    rubric.delete()


def discard_draft(version: RubricVersion) -> Rubric:
    """Throw away a draft that follows a published version (the published ones stay)."""
    _require_draft(version)
    if not version.rubric.versions.exclude(pk=version.pk).exists():
        raise RubricError(
            "This is the rubric's only version; archive or delete the rubric instead."
        )
    rubric = version.rubric
    version.delete()
    return rubric


def update_details(version: RubricVersion, *, name: str, description: str, instructions: str):
    """Rename a rubric and, on a draft, change the version's reviewer instructions."""
    _check_details(name, description, instructions)
    rubric = version.rubric
    rubric.name, rubric.description = name.strip(), description
    rubric.save(update_fields=["name", "description"])
    if not version.is_published and version.instructions != instructions:
        version.instructions = instructions
        version.save(update_fields=["instructions"])


# --- Editing the criteria of a draft ----------------------------------------------------------


def _require_draft(version: RubricVersion) -> None:
    if version.is_published:
        raise RubricError("This version is published and cannot change; edit opens a new draft.")


def _unique_key(version: RubricVersion, base: str) -> str:
    taken = set(version.criteria.values_list("key", flat=True))
    base = (re.sub(r"[^a-z0-9_-]+", "_", base.lower()).strip("_-") or "criterion")[:50]
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def _next_position(version: RubricVersion) -> int:
    top = version.criteria.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def add_criterion(version: RubricVersion, kind: str = CriterionKind.LIKERT) -> Criterion:
    """Append a new criterion of ``kind`` with default settings to a draft."""
    _require_draft(version)
    if kind not in CriterionKind.values:
        raise RubricError({"kind": "Choose a type."})
    label = CriterionKind(kind).label
    return Criterion.objects.create(
        rubric_version=version,
        key=_unique_key(version, kind),
        name=f"New {label.lower()} criterion",
        kind=kind,
        position=_next_position(version),
        config=default_config(kind),
    )


def update_criterion(criterion: Criterion, spec: Mapping[str, Any]) -> dict[str, str]:
    """Validate and save ``spec`` on a draft's criterion. Returns errors (nothing saved then)."""
    version = criterion.rubric_version
    _require_draft(version)
    others = version.criteria.exclude(pk=criterion.pk).values_list("key", flat=True)
    errors = validate_criterion(spec, others)
    if errors:
        return errors
    for name in CRITERION_FIELDS:
        if name in spec:
            setattr(criterion, name, spec[name])
    criterion.weight = float(criterion.weight)
    criterion.save()
    return {}


def duplicate_criterion(criterion: Criterion) -> Criterion:
    """A copy placed right after ``criterion``, with a fresh key."""
    version = criterion.rubric_version
    _require_draft(version)
    with transaction.atomic():
        version.criteria.filter(position__gt=criterion.position).update(position=F("position") + 1)
        spec = criterion_spec(criterion)
        spec["key"] = _unique_key(version, criterion.key)
        spec["name"] = f"{criterion.name} (copy)"
        return Criterion.objects.create(
            rubric_version=version, position=criterion.position + 1, **spec
        )


def move_criterion(criterion: Criterion, offset: int) -> None:
    """Move a criterion ``offset`` places (-1 up, +1 down) and renumber positions 0..n-1."""
    version = criterion.rubric_version
    _require_draft(version)
    ordered = list(version.criteria.order_by("position", "id"))
    index = next(i for i, c in enumerate(ordered) if c.pk == criterion.pk)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    with transaction.atomic():
        for position, item in enumerate(ordered):
            if item.position != position:
                Criterion.objects.filter(pk=item.pk).update(position=position)


def remove_criterion(criterion: Criterion) -> None:
    _require_draft(criterion.rubric_version)
    criterion.delete()


# --- Diff -------------------------------------------------------------------------------------

WORDING = ("name", "help_text")


@dataclass
class CriterionChange:
    """What happened to one criterion key between two versions."""

    key: str
    status: str  # "added", "removed", "changed" or "unchanged"
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    reworded: bool = False
    rescaled: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        if self.status in ("added", "removed"):
            return [self.status]
        tags = [
            name for name, on in (("reworded", self.reworded), ("rescaled", self.rescaled)) if on
        ]
        if self.status == "changed" and not tags:
            tags.append("settings")
        return tags


def _scale(spec: Mapping[str, Any]) -> tuple:
    config = spec.get("config") or {}
    kind = spec.get("kind")
    if kind == CriterionKind.LIKERT:
        return (kind, tuple(level.get("value") for level in config.get("levels", [])))
    if kind == CriterionKind.CATEGORICAL:
        return (kind, tuple(str(o.get("value")) for o in config.get("options", [])))
    if kind == CriterionKind.NUMERIC:
        return (kind, config.get("min"), config.get("max"), config.get("step"))
    if kind == CriterionKind.FREE_TEXT:
        return (kind, config.get("max_length"))
    return (kind,)


def _choice_words(spec: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    config = spec.get("config") or {}
    entries = config.get("levels") or config.get("options") or []
    return {
        str(e.get("value")): (str(e.get("label", "")), str(e.get("description", "")))
        for e in entries
    }


def _compare(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> CriterionChange:
    change = CriterionChange(key=key, status="unchanged", old=dict(old), new=dict(new))
    for name in WORDING:
        if (old.get(name) or "") != (new.get(name) or ""):
            change.reworded = True
            change.notes.append(f"{name.replace('_', ' ')} changed")
    old_words, new_words = _choice_words(old), _choice_words(new)
    reworded_choices = [v for v in old_words if v in new_words and old_words[v] != new_words[v]]
    if reworded_choices:
        change.reworded = True
        change.notes.append("wording of " + ", ".join(reworded_choices) + " changed")
    if _scale(old) != _scale(new):
        change.rescaled = True
        if old.get("kind") != new.get("kind"):
            change.notes.append(f"type {old.get('kind')} → {new.get('kind')}")
        else:
            change.notes.append("scale changed")
    for name in ("required", "weight", "pairwise_preference"):
        if old.get(name) != new.get(name):
            change.notes.append(f"{name.replace('_', ' ')}: {old.get(name)} → {new.get(name)}")
    if change.notes:
        change.status = "changed"
    return change


def diff_criteria(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> list[CriterionChange]:
    """Per criterion key: added, removed, or changed (reworded and/or rescaled) or unchanged.

    Criteria are matched by their stable key. The result follows the new version's order,
    with removed criteria at the end.
    """
    old_by_key = {spec["key"]: spec for spec in old}
    new_keys = {spec["key"] for spec in new}
    changes = []
    for spec in new:
        if spec["key"] in old_by_key:
            changes.append(_compare(spec["key"], old_by_key[spec["key"]], spec))
        else:
            changes.append(CriterionChange(key=spec["key"], status="added", new=dict(spec)))
    for spec in old:
        if spec["key"] not in new_keys:
            changes.append(CriterionChange(key=spec["key"], status="removed", old=dict(spec)))
    return changes


def diff_versions(old: RubricVersion, new: RubricVersion) -> list[CriterionChange]:
    return diff_criteria(
        [criterion_spec(c) for c in old.criteria.all()],
        [criterion_spec(c) for c in new.criteria.all()],
    )
