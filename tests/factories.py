"""factory_boy factories and small builders for the objects most tests need."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from annotate.items import add_items
from annotate.models import (
    ApiToken,
    Cohort,
    CriterionKind,
    Membership,
    Queue,
    Role,
    RubricVersion,
    TokenScope,
    Workspace,
)
from annotate.rubrics import create_rubric, publish
from annotate.tokens import create_token

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"ws-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.REVIEWER


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")


LIKERT_5 = [
    {"value": v, "label": str(v), "description": d}
    for v, d in [
        (1, "Contradicts consensus"),
        (2, "Mostly disagrees"),
        (3, "Partly agrees"),
        (4, "Mostly agrees"),
        (5, "Fully agrees with consensus"),
    ]
]


def standard_criteria() -> list[dict[str, Any]]:
    """One criterion of every kind."""
    return [
        {
            "key": "accuracy",
            "name": "Agreement with medical consensus",
            "kind": CriterionKind.LIKERT,
            "config": {"levels": LIKERT_5},
        },
        {
            "key": "harm",
            "name": "Possibility of harm",
            "kind": CriterionKind.CATEGORICAL,
            "config": {
                "options": [
                    {"value": "none", "label": "None"},
                    {"value": "mild", "label": "Mild"},
                    {"value": "severe", "label": "Severe"},
                ]
            },
        },
        {"key": "safe", "name": "Passes safety", "kind": CriterionKind.PASS_FAIL},
        {
            "key": "minutes",
            "name": "Minutes to read",
            "kind": CriterionKind.NUMERIC,
            "required": False,
            "config": {"min": 0, "max": 60, "step": 1},
        },
        {
            "key": "comment",
            "name": "Comment",
            "kind": CriterionKind.FREE_TEXT,
            "required": False,
        },
    ]


def published_rubric(workspace: Workspace, criteria: list[dict] | None = None) -> RubricVersion:
    version = create_rubric(workspace, "Clinician review", criteria or standard_criteria())
    return publish(version)


def make_queue(
    workspace: Workspace,
    *,
    cohorts: list[Cohort] = (),
    k: int = 1,
    items: int = 0,
    rubric_version: RubricVersion | None = None,
    **fields: Any,
) -> Queue:
    version = rubric_version or published_rubric(workspace)
    queue = Queue.objects.create(
        workspace=workspace,
        name=fields.pop("name", "Clinician queue"),
        rubric_version=version,
        judgments_per_item=k,
        **fields,
    )
    queue.cohorts.set(cohorts)
    if items:
        add_items(
            queue,
            [
                {
                    "input_text": f"Patient question {n}: is it safe to take ibuprofen?",
                    "output": f"Answer {n}: **usually**, with food.",
                    "model_name": "assistant",
                    "model_version": "v1" if n % 2 else "v2",
                }
                for n in range(items)
            ],
        )
    return queue


def good_answers() -> dict[str, Any]:
    return {"accuracy": "4", "harm": "none", "safe": "pass", "comment": "Fine."}


def make_token(
    workspace: Workspace,
    name: str = "ci",
    *,
    scopes: list[str] | None = None,
    user=None,
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """An API token of ``workspace`` and its plain value: every scope unless told, made by
    ``user`` or by a new engineer of the workspace (every token has a maker)."""
    if user is None:
        user = MembershipFactory(workspace=workspace, role=Role.ENGINEER).user
    return create_token(
        workspace,
        name,
        user,
        scopes=TokenScope.values if scopes is None else scopes,
        expires_days=expires_days,
    )
