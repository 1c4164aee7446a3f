"""Field types of the API's request schemas, so every operation refuses the same bad input.

- ``RequestSchema`` (bodies) and ``QuerySchema`` (queries) refuse unknown fields (422
  naming each one): a misspelt field is an error, never silently dropped.
- ``Text`` / ``text(...)``: a string that can be stored (``annotate.text``: no NUL, no
  lone surrogate). The schema says so with a ``pattern``; the check names the field.
- ``JsonObject``: an object whose keys and strings, at any depth, are such text.
- ``Id`` / ``StrictId``: a positive id a database can hold; ``JsonInt``, ``StrictId`` and
  ``StrictBool`` where a wrong JSON type must be refused rather than coerced
  (``"keep_ties": 0``, ``"queue_ids": ["1"]``).
- ``IsoDatetime``: an ISO 8601 string, in UTC once read; a bare number (``since=0.5``) is
  refused rather than read as seconds since 1970.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Union

from annotated_types import Ge, Le
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from annotate.text import nested_text_problem, text_problem

__all__ = [
    "Id",
    "IsoDatetime",
    "JsonInt",
    "JsonObject",
    "QuerySchema",
    "RequestSchema",
    "StrictBool",
    "StrictId",
    "Text",
    "text",
]

# JSON Schema for "no NUL"; a lone surrogate cannot be written in a pattern, and
# generators do not make one, so only the check below refuses those.
NO_NUL_PATTERN = "^[^\\x00]*$"
MAX_ID = 2**63 - 1  # the largest id PostgreSQL's bigint and SQLite's integer hold


class RequestSchema(Schema):
    """A request body: unknown fields answer 422 instead of being ignored."""

    model_config = ConfigDict(extra="forbid")


class QuerySchema(RequestSchema):
    """The query parameters of an operation that takes no others: an unknown parameter
    answers 422 (ninja hands a query model only the parameters it knows, so the request
    itself is read here)."""

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_parameters(cls, data: Any, info: ValidationInfo) -> Any:
        request = (info.context or {}).get("request")
        unknown = sorted(set(request.GET) - set(cls.model_fields)) if request else []
        if unknown:
            raise PydanticCustomError(
                "extra_forbidden",
                "Unknown query parameter {unknown}; this operation takes {known}.",
                {"unknown": ", ".join(unknown), "known": ", ".join(cls.model_fields)},
            )
        return data


def _check_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise PydanticCustomError("invalid_text", "The text {problem}.", {"problem": problem})
    return value


def text(*, min_length: int | None = None, max_length: int | None = None) -> Any:
    """A ``str`` type that must be storable text, optionally bounded in length."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_check_text),
        Field(json_schema_extra={"pattern": NO_NUL_PATTERN}),
    ]


Text = text()

_NoNulKeys = Field(json_schema_extra={"propertyNames": {"pattern": NO_NUL_PATTERN}})
# Only for the schema: what a JsonObject accepts, strings and keys at any depth included.
JsonText = TypeAliasType(
    "JsonText",
    Union[  # noqa: UP007 - a recursive alias needs the Union spelled out
        Annotated[str, Field(json_schema_extra={"pattern": NO_NUL_PATTERN})],
        int,
        float,
        bool,
        None,
        list["JsonText"],
        Annotated[dict[str, "JsonText"], _NoNulKeys],
    ],
)


def _check_json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PydanticCustomError("dict_type", "Input should be a valid dictionary")
    problem = nested_text_problem(value)
    if problem:
        raise PydanticCustomError("invalid_text", "{problem}", {"problem": problem})
    return value


JsonObject = Annotated[
    dict[str, Any],
    PlainValidator(
        _check_json_object, json_schema_input_type=Annotated[dict[str, JsonText], _NoNulKeys]
    ),
]


def _json_integer(value: Any) -> int:
    """A JSON integer: 3, or 3.0 (JSON Schema calls that an integer too); never "3" or true."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole:
        raise PydanticCustomError("int_type", "Input should be a whole number")
    return int(value)


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
Id = Annotated[int, Ge(1), Le(MAX_ID)]  # in a path or query, where every value is text
# In a JSON body. The bounds come before the validator, or the schema says "ge" for "minimum".
StrictId = Annotated[int, Ge(1), Le(MAX_ID), BeforeValidator(_json_integer)]

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _iso_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _NUMBER.match(value):
        raise PydanticCustomError(
            "iso_datetime", "Give an ISO 8601 date-time such as 2026-11-01T09:00:00Z."
        )
    return value


def _in_utc(value: datetime) -> datetime:
    """The time in UTC (a time without offset is read as UTC, as exports read it): offsets
    such as +16:36, which Python takes and PostgreSQL does not, never reach a query."""
    try:
        return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("iso_datetime", "The time is out of range.") from None


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_in_utc)]


class PageQuery(QuerySchema):
    """The query of a paginated listing: the previous page's cursor and a page size."""

    cursor: Text | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(100, ge=1, le=500)
