"""Parsing the setup pages' forms into the plain values the setup functions take."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.text import slugify

from annotate.models import Cohort, CriterionKind, Queue, RubricVersion, Workspace
from annotate.rubrics import default_config


def _number_or_raw(text: str | None, *, integer: bool = False) -> Any:
    """A number from a form field; None when blank; the raw text when it is not a number
    (so validation can say so next to the field)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):  # "inf", "nan", "1e999": not a number an author means
        return text
    if integer:
        return int(number) if number == int(number) else text
    return int(number) if number == int(number) else number


def _levels(post: QueryDict) -> list[dict[str, Any]]:
    rows = zip(
        post.getlist("level_value"),
        post.getlist("level_label"),
        post.getlist("level_description"),
        strict=False,
    )
    return [
        {
            "value": _number_or_raw(value, integer=True),
            "label": label.strip(),
            "description": description.strip(),
        }
        for value, label, description in rows
    ]


def _options(post: QueryDict) -> list[dict[str, Any]]:
    rows = zip(
        post.getlist("option_value"),
        post.getlist("option_label"),
        post.getlist("option_description"),
        strict=False,
    )
    options = []
    for value, label, description in rows:
        value = value.strip() or slugify(label).replace("-", "_")
        options.append({"value": value, "label": label.strip(), "description": description.strip()})
    return options


def criterion_spec_from_post(post: QueryDict, previous_kind: str) -> dict[str, Any]:
    """A criterion spec (dict of Criterion fields) from the editor's form.

    When the type changed, the new type starts from its default settings.
    """
    kind = post.get("kind", previous_kind)
    weight = _number_or_raw(post.get("weight"))
    spec: dict[str, Any] = {
        "name": post.get("name", "").strip(),
        "key": post.get("key", "").strip(),
        "help_text": post.get("help_text", "").strip(),
        "kind": kind,
        "required": post.get("required") == "on",
        "weight": 1.0 if weight is None else weight,
        "pairwise_preference": post.get("pairwise_preference") == "on",
    }
    if kind != previous_kind:
        spec["config"] = default_config(kind)
    elif kind == CriterionKind.LIKERT:
        spec["config"] = {"levels": _levels(post)}
    elif kind == CriterionKind.CATEGORICAL:
        spec["config"] = {"options": _options(post)}
    elif kind == CriterionKind.NUMERIC:
        spec["config"] = {name: _number_or_raw(post.get(name)) for name in ("min", "max", "step")}
    elif kind == CriterionKind.FREE_TEXT:
        spec["config"] = {"max_length": _number_or_raw(post.get("max_length"), integer=True)}
        if spec["config"]["max_length"] is None:
            spec["config"] = {}
    else:
        spec["config"] = {}
    return spec


def apply_row_action(spec: dict[str, Any], action: str) -> None:
    """Add or remove a level/option row in ``spec`` (the editor's small buttons)."""
    config = spec.setdefault("config", {})
    if action == "add_level":
        levels = config.setdefault("levels", [])
        numbers = [v["value"] for v in levels if isinstance(v.get("value"), int)]
        levels.append({"value": max(numbers, default=0) + 1, "label": "", "description": ""})
    elif action == "add_option":
        config.setdefault("options", []).append({"value": "", "label": "", "description": ""})
    elif action.startswith(("remove_level-", "remove_option-")):
        name, _, index = action.partition("-")
        rows = config.get("levels" if name == "remove_level" else "options", [])
        if index.isdigit() and int(index) < len(rows):
            rows.pop(int(index))


class QueueForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Queue.Kind.choices, initial=Queue.Kind.RUBRIC)
    rubric_version = forms.ModelChoiceField(queryset=RubricVersion.objects.none())
    cohorts = forms.ModelMultipleChoiceField(
        queryset=Cohort.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    judgments_per_item = forms.IntegerField(min_value=1, max_value=50, initial=1)
    lease_minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=15)
    instructions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    order = forms.ChoiceField(choices=Queue.Order.choices, initial=Queue.Order.RANDOM)
    show_metadata = forms.BooleanField(required=False)
    shuffle_sides = forms.BooleanField(required=False, initial=True)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # Pairwise queues.
    rationale_required = forms.BooleanField(required=False)
    rationale_min_length = forms.IntegerField(
        min_value=0, max_value=2000, initial=0, required=False
    )
    swap_check_percent = forms.FloatField(min_value=0, max_value=50, initial=0, required=False)
    # Reviewer quality: gold items, calibration, adjudication.
    gold_percent = forms.FloatField(min_value=0, max_value=50, initial=0, required=False)
    gold_min_accuracy_percent = forms.FloatField(min_value=0, max_value=100, required=False)
    calibration_required = forms.BooleanField(required=False)
    show_reviewer_names = forms.BooleanField(required=False)

    def __init__(self, workspace: Workspace, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rubric_version"].queryset = (
            RubricVersion.objects.filter(
                rubric__workspace=workspace,
                status=RubricVersion.Status.PUBLISHED,
                rubric__archived_at__isnull=True,
            )
            .select_related("rubric")
            .order_by("rubric__name", "-number")
        )
        self.fields["cohorts"].queryset = Cohort.objects.filter(workspace=workspace).order_by(
            "name"
        )

    def queue_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["lease_seconds"] = data.pop("lease_minutes") * 60
        data["swap_check_rate"] = (data.pop("swap_check_percent") or 0) / 100
        data["gold_rate"] = (data.pop("gold_percent") or 0) / 100
        minimum = data.pop("gold_min_accuracy_percent")
        data["gold_min_accuracy"] = None if minimum is None else minimum / 100
        data["rationale_min_length"] = data.get("rationale_min_length") or 0
        data.pop("cohorts")
        return data

    @staticmethod
    def initial_for(queue: Queue) -> dict[str, Any]:
        return {
            "name": queue.name,
            "kind": queue.kind,
            "rubric_version": queue.rubric_version_id,
            "cohorts": list(queue.cohorts.values_list("pk", flat=True)),
            "judgments_per_item": queue.judgments_per_item,
            "lease_minutes": max(1, queue.lease_seconds // 60),
            "instructions": queue.instructions,
            "order": queue.order,
            "show_metadata": queue.show_metadata,
            "shuffle_sides": queue.shuffle_sides,
            "due_date": queue.due_date,
            "rationale_required": queue.rationale_required,
            "rationale_min_length": queue.rationale_min_length,
            "swap_check_percent": round(queue.swap_check_rate * 100, 3),
            "gold_percent": round(queue.gold_rate * 100, 3),
            "gold_min_accuracy_percent": None
            if queue.gold_min_accuracy is None
            else round(queue.gold_min_accuracy * 100, 3),
            "calibration_required": queue.calibration_required,
            "show_reviewer_names": queue.show_reviewer_names,
        }
