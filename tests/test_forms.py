"""Every Django form of the project, walked field by field with what a browser's
``maxlength`` and ``max`` would have stopped: an overlong string, a NUL, huge numbers.
Each must come back as an error on that field, never as an exception (a database error
when saving, an overflow while cleaning).

The forms are found, not listed: every form class that the URL configuration's views
import, so a new form is walked without touching this test. Views that parse their
POST by hand (rubrics, criteria, cohorts, gold items, ...) are covered by their own
view tests, e.g. tests/annotate/test_setup_views.py.
"""

from __future__ import annotations

import inspect

import pytest
from django import forms
from django.urls import get_resolver

from tests.factories import make_queue

HUGE = ["9" * 30, "-" + "9" * 30, "1e308", "-1e308"]
NUMBER_FIELDS = (forms.IntegerField, forms.FloatField, forms.DecimalField)
PROJECT = ("annotate.", "evals.", "quorum.")


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def project_forms() -> list[type[forms.BaseForm]]:
    get_resolver().url_patterns  # imports every view, and so every form they use  # noqa: B018
    return sorted(
        (f for f in _subclasses(forms.BaseForm) if f.__module__.startswith(PROJECT)),
        key=lambda f: f"{f.__module__}.{f.__name__}",
    )


@pytest.fixture
def make_form(workspace):
    queue = make_queue(workspace)

    def make(form_class: type[forms.BaseForm], data: dict) -> forms.BaseForm:
        wanted = inspect.signature(form_class.__init__).parameters
        context = {"workspace": workspace, "queue": queue}
        return form_class(data=data, **{k: v for k, v in context.items() if k in wanted})

    return make


def _cases(form: forms.BaseForm):
    for name, field in form.fields.items():
        if isinstance(field, forms.CharField):
            yield name, "a\x00b"
            if field.max_length:
                yield name, "x" * (field.max_length + 1)
        if isinstance(field, NUMBER_FIELDS):
            yield from ((name, value) for value in HUGE)


def test_the_walk_finds_the_projects_forms():
    names = {f.__name__ for f in project_forms()}
    assert {"QueueForm", "SamplingRuleForm", "JudgeEndpointForm", "RunForm"} <= names
    assert {"PromptForm", "AlertRuleForm"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", project_forms(), ids=lambda f: f.__name__)
def test_every_form_refuses_overlong_text_nul_and_huge_numbers_beside_the_field(
    form_class, make_form
):
    cases = list(_cases(make_form(form_class, {})))
    assert cases or not make_form(form_class, {}).fields
    missed = []
    for name, value in cases:
        form = make_form(form_class, {name: value})
        if form.is_valid() or name not in form.errors:
            missed.append(f"{name}={value[:20]!r}")
    assert not missed, f"{form_class.__name__} accepts: {', '.join(missed)}"


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", project_forms(), ids=lambda f: f.__name__)
def test_every_form_survives_all_its_fields_at_their_extremes_at_once(form_class, make_form):
    """Cross-field checks (``clean``) see the other fields missing or refused, and cope."""
    fields = make_form(form_class, {}).fields
    for value in HUGE:
        data = {}
        for name, field in fields.items():
            if isinstance(field, NUMBER_FIELDS):
                data[name] = value
            elif isinstance(field, forms.CharField):
                data[name] = "x" * ((field.max_length or 100) + 1)
        form = make_form(form_class, data)
        assert not form.is_valid() or not any(isinstance(f, NUMBER_FIELDS) for f in fields.values())
