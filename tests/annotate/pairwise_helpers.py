"""Builders for pairwise queues used by the pairwise tests."""

from __future__ import annotations

from typing import Any

from annotate.models import Cohort, CriterionKind, Queue, Workspace
from annotate.pairs import create_pair_items
from tests.factories import published_rubric

SECRET_NAMES = ("gpt-secret-model", "secret-v9", "claude-hidden", "hidden-v2")


def pairwise_criteria(required: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "key": "accuracy",
            "name": "Medical accuracy",
            "kind": CriterionKind.PASS_FAIL,
            "pairwise_preference": True,
            "required": required,
        },
        {"key": "note", "name": "Note", "kind": CriterionKind.FREE_TEXT, "required": False},
    ]


def pair_rows(count: int, *, secret: bool = False) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        rows.append(
            {
                "input": f"Patient question {n}: can I take ibuprofen with food?",
                "output_a": f"Left-or-right text ALPHA {n}: yes, with food.",
                "output_b": f"Left-or-right text BETA {n}: usually, but ask first.",
                "model_a": SECRET_NAMES[0] if secret else "assistant",
                "version_a": SECRET_NAMES[1] if secret else "v1",
                "model_b": SECRET_NAMES[2] if secret else "assistant",
                "version_b": SECRET_NAMES[3] if secret else "v2",
            }
        )
    return rows


def make_pairwise_queue(
    workspace: Workspace,
    *,
    cohorts: list[Cohort] = (),
    k: int = 1,
    pairs: int = 0,
    secret: bool = False,
    required_criteria: bool = False,
    **fields: Any,
) -> Queue:
    version = published_rubric(workspace, pairwise_criteria(required_criteria))
    queue = Queue.objects.create(
        workspace=workspace,
        name=fields.pop("name", "Model comparison"),
        kind=Queue.Kind.PAIRWISE,
        rubric_version=version,
        judgments_per_item=k,
        **fields,
    )
    queue.cohorts.set(cohorts)
    if pairs:
        result = create_pair_items(queue, pair_rows(pairs, secret=secret))
        assert result.ok, result.errors
    return queue
