"""API for queues, items and judgments: list queues with progress, add items, read judgments.

Every lookup is scoped to the token's workspace; another workspace's queue is 404.
Listings are cursor-paginated (``cursor`` from the previous page's ``next_cursor``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from annotate import audit
from annotate.api_common import ApiError, get_queue, needs, paginate, responses
from annotate.api_fields import Id, IsoDatetime, JsonObject, PageQuery, RequestSchema, Text, text
from annotate.items import add_items
from annotate.models import Judgment, Queue, TokenScope
from annotate.pairs import same_output
from annotate.people import reviewer_map

router = Router(tags=["queues"])
MAX_ITEMS_PER_CALL = 1000


class QueueOut(Schema):
    id: int
    name: str
    kind: str
    status: str
    rubric: str
    rubric_version: int
    judgments_per_item: int
    items_total: int
    items_complete: int
    progress: float = Field(description="Share of items with all their judgments, 0 to 1.")


class QueuePage(Schema):
    results: list[QueueOut]
    next_cursor: str | None


class MessageIn(RequestSchema):
    role: Text
    content: Text


_NOT_BLANK = "[^\\s\\x00]"  # some character that is neither space nor NUL
_NO_INPUT = {"anyOf": [{"required": ["input_text"]}, {"required": ["input_messages"]}]}
# The schema's form of ItemIn's input rule: input alone, or input_text and/or input_messages.
_ONE_INPUT = [
    {
        "required": ["input"],
        "properties": {
            "input": {
                "anyOf": [
                    {"type": "string", "pattern": _NOT_BLANK},
                    {"type": "array", "minItems": 1},
                ]
            }
        },
        "not": _NO_INPUT,
    },
    {
        "required": ["input_text"],
        "properties": {"input_text": {"pattern": _NOT_BLANK}},
        "not": {"required": ["input"]},
    },
    {
        "required": ["input_messages"],
        "properties": {"input_messages": {"minItems": 1}},
        "not": {"required": ["input"]},
    },
]


def _blank(value: str | list) -> bool:
    return not value or (isinstance(value, str) and not re.search(_NOT_BLANK, value))


class ItemIn(RequestSchema):
    """One item. Its input is the prompt the output answers, given as in a log line:
    ``input`` (text or chat messages) alone, or ``input_text`` and/or ``input_messages``."""

    model_config = ConfigDict(json_schema_extra={"anyOf": _ONE_INPUT})

    input: Text | list[MessageIn] = Field(
        None, description="The prompt: text, or chat messages [{role, content}]."
    )
    input_text: Text = ""
    input_messages: list[MessageIn] = []
    output: text(min_length=1)  # type: ignore[valid-type]
    model_name: text(max_length=200) = ""  # type: ignore[valid-type]
    model_version: text(max_length=200) = ""  # type: ignore[valid-type]
    output_b: Text = Field(
        "", description="Pairwise queues only, and required there: the second output."
    )
    model_name_b: text(max_length=200) = ""  # type: ignore[valid-type]
    model_version_b: text(max_length=200) = ""  # type: ignore[valid-type]
    metadata: JsonObject = {}

    @model_validator(mode="after")
    def _one_input(self) -> ItemIn:
        sent = self.model_fields_set
        if "input" in sent and sent & {"input_text", "input_messages"}:
            also = " and ".join(sorted(sent & {"input_text", "input_messages"}))
            raise PydanticCustomError(
                "two_inputs",
                "Give the input once: input, or input_text / input_messages, not input and {also}.",
                {"also": also},
            )
        if "input" in sent:
            missing = _blank(self.input)
        else:
            missing = _blank(self.input_text) and _blank(self.input_messages)
        if missing:
            raise PydanticCustomError(
                "missing_input",
                "An item needs its input, the prompt the output answers: "
                "give input, input_text or input_messages.",
            )
        return self

    def item_fields(self) -> dict[str, Any]:
        """The item's fields for ``add_items``, ``input`` read as text or messages."""
        fields = self.dict(exclude={"input"})
        if isinstance(self.input, str):
            fields["input_text"] = self.input
        elif self.input:
            fields["input_messages"] = [message.dict() for message in self.input]
        return fields


class ItemsIn(RequestSchema):
    items: list[ItemIn] = Field(..., min_length=1, max_length=MAX_ITEMS_PER_CALL)


class ItemsCreated(Schema):
    created: int
    ids: list[int]


class JudgmentOut(Schema):
    id: int
    item_id: int
    queue_id: int
    reviewer: str = Field(description="Pseudonymous reviewer id, stable within the workspace.")
    rubric_version_id: int
    answers: dict[str, Any]
    time_spent_ms: int
    revision: int
    created_at: datetime
    updated_at: datetime


class JudgmentPage(Schema):
    results: list[JudgmentOut]
    next_cursor: str | None


class JudgmentQuery(PageQuery):
    queue_id: Id | None = None
    since: IsoDatetime | None = Field(
        None, description="Only judgments created at or after this (ISO 8601)."
    )


def _queue_out(queue: Queue) -> QueueOut:
    total = queue.items_total
    return QueueOut(
        id=queue.pk,
        name=queue.name,
        kind=queue.kind,
        status=queue.status,
        rubric=queue.rubric_version.rubric.name,
        rubric_version=queue.rubric_version.number,
        judgments_per_item=queue.judgments_per_item,
        items_total=total,
        items_complete=queue.items_complete,
        progress=round(queue.items_complete / total, 6) if total else 0.0,
    )


@router.get(
    "/queues",
    auth=needs(TokenScope.READ),
    response=responses({200: QueuePage}),
    summary="Queues and their progress",
)
def list_queues(request: HttpRequest, page: Query[PageQuery]) -> dict:
    qs = Queue.objects.filter(workspace=request.workspace).select_related(  # type: ignore[attr-defined]
        "rubric_version__rubric"
    )
    rows, cursor = paginate(qs, "queues", page.cursor, page.limit)
    return {"results": [_queue_out(q) for q in rows], "next_cursor": cursor}


@router.get(
    "/queues/{queue_id}",
    auth=needs(TokenScope.READ),
    response=responses({200: QueueOut}),
    summary="One queue and its progress",
)
def get_queue_detail(request: HttpRequest, queue_id: Id) -> QueueOut:
    return _queue_out(get_queue(request, queue_id))


@router.post(
    "/queues/{queue_id}/items",
    auth=needs(TokenScope.ITEMS_WRITE),
    response=responses({201: ItemsCreated}),
    summary="Add items to a queue",
)
def create_items(request: HttpRequest, queue_id: Id, payload: ItemsIn) -> Status:
    """Items of a rubric queue have one output; items of a pairwise queue have two
    different outputs, ``output`` (A) and ``output_b`` (B), each with its model."""
    queue = get_queue(request, queue_id)
    problems = _kind_problems(queue, payload.items)
    if problems:
        raise ApiError(
            400,
            "bad_items",
            f"{len(problems)} item(s) do not fit this {queue.kind} queue; nothing was added.",
            problems,
        )
    with transaction.atomic():
        created = add_items(queue, [item.item_fields() for item in payload.items])
        audit.record(
            queue.workspace_id,
            None,
            "items.add",
            queue,
            f"{len(created)} items added to {queue.name!r}",
            api_token=request.api_token,  # type: ignore[attr-defined]
            created=len(created),
        )
    return Status(201, {"created": len(created), "ids": [item.pk for item in created]})


def _kind_problems(queue: Queue, items: list[ItemIn]) -> list[dict[str, Any]]:
    """Per item, what does not fit the queue's kind (one output, or two different ones)."""
    problems = []
    pairwise = queue.kind == Queue.Kind.PAIRWISE
    for index, item in enumerate(items):
        given_b = sorted(
            f for f in ("output_b", "model_name_b", "model_version_b") if getattr(item, f)
        )
        if pairwise and _blank(item.output_b):
            message = "A pairwise item needs output_b, the second output."
        elif pairwise and same_output(item.output, item.output_b):
            message = "The two outputs are identical; a pair needs two different outputs."
        elif not pairwise and given_b:
            message = f"{', '.join(given_b)}: only items of a pairwise queue have a second output."
        else:
            continue
        problems.append({"index": index, "message": message})
    return problems


@router.get(
    "/judgments",
    auth=needs(TokenScope.READ),
    response=responses({200: JudgmentPage}),
    tags=["judgments"],
    summary="Read judgments",
)
def list_judgments(request: HttpRequest, query: Query[JudgmentQuery]) -> dict:
    workspace = request.workspace  # type: ignore[attr-defined]
    qs = Judgment.objects.filter(queue__workspace=workspace)
    scope = "judgments"
    if query.queue_id is not None:
        qs = qs.filter(queue_id=get_queue(request, query.queue_id).pk)
        scope += f":q{query.queue_id}"
    if query.since is not None:
        qs = qs.filter(created_at__gte=query.since)
        scope += f":s{query.since.isoformat()}"
    rows, cursor = paginate(qs, scope, query.cursor, query.limit)
    reviewers = reviewer_map(workspace, {j.reviewer_id for j in rows})
    results = [
        JudgmentOut(
            id=j.pk,
            item_id=j.item_id,
            queue_id=j.queue_id,
            reviewer=reviewers[j.reviewer_id].label,
            rubric_version_id=j.rubric_version_id,
            answers=j.answers,
            time_spent_ms=j.time_spent_ms,
            revision=j.revision,
            created_at=j.created_at,
            updated_at=j.updated_at,
        )
        for j in rows
    ]
    return {"results": results, "next_cursor": cursor}
