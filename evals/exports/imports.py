"""Importing judgments a team already has, in the export's own judgments shape.

``import_judgments(queue, path, fmt)`` reads a CSV, JSONL or Parquet file whose
columns are those of the judgments export, checks every row against the queue's
rubric version, and records the good rows:

- a rubric queue reads ``output``, ``model_name``, ``model_version`` and an
  ``answer_<key>`` per criterion; a pairwise queue reads the pair (``output_a``,
  ``model_name_a``, ..., ``output_b``, ...) and the preference (``preferred``,
  ``shown_left``, ``strength``, ``rationale``, ``preference_<key>``), checked as a
  reviewer's answer is (``annotate.pairwise.validate_pairwise``);
- items are matched on their content (input, messages, output(s), models, versions,
  metadata) within the queue and created when missing;
- reviewers are matched on their label to an earlier imported reviewer; otherwise an
  inactive user with an unusable password, ``imported-<hash>``, is created with a
  reviewer membership and the row's cohorts. A label that is a member's pseudonym is
  never credited to that member: the row is a duplicate of the member's identical
  judgment on the item, or goes to an imported reviewer of that label.

Every row is counted once: created, duplicate (the reviewer already has this very
judgment on the item, e.g. the same file imported again) or refused (a bad row,
reported with its number and message; it skips nothing else). A reviewer's judgment
on an item exists once, so a row that differs from it is refused, never overwrites
it. Imported judgments are ordinary judgments and count in agreement.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from annotate.items import add_items
from annotate.judging import UNKNOWN, validate_answers
from annotate.models import (
    Cohort,
    Criterion,
    ImportedReviewer,
    Item,
    Judgment,
    Membership,
    Queue,
    Role,
)
from annotate.pairs import PairError, pair_fields
from annotate.pairwise import to_screen, validate_pairwise
from annotate.people import pseudonym
from annotate.text import nested_text_problem
from evals.exports.pairwise import PREFERENCE_PREFIX, PREFERENCES
from evals.exports.writers import canonical_json, parse_time, unneutralize

IMPORT_FORMATS = ("csv", "jsonl", "parquet")
CHUNK_ROWS = 1000
MAX_ERRORS = 1000
ANSWER_PREFIX = "answer_"
TEXT_COLUMNS = (
    "input_text",
    "input_messages",
    "output",
    "model_name",
    "model_version",
    "item_metadata",
    "reviewer",
    "cohorts",
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong format, no header, ...)."""


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    items_created: int = 0
    reviewers_created: int = 0
    duplicate: int = 0  # rows whose judgment is already there, answers and all
    refused: int = 0  # every bad row; ``errors`` lists the first MAX_ERRORS of them
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, row: int, message: str) -> None:
        self.refused += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "message": message})

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "items_created": self.items_created,
            "reviewers_created": self.reviewers_created,
            "duplicate": self.duplicate,
            "refused": self.refused,
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportResult:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


# Called inside each chunk's transaction with the result so far and the rows read, so a
# checkpoint written there commits (or not) with the chunk's judgments.
OnChunk = Callable[[ImportResult, int], None]


# --- Reading ----------------------------------------------------------------------------


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ImportFileError("The CSV file has no header row.")
        for row in reader:
            yield {
                key: (unneutralize(value) if isinstance(value, str) else value)
                for key, value in row.items()
                if key is not None
            }


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = None
            yield value if isinstance(value, dict) else {"__invalid__": True}


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        parquet = pq.ParquetFile(str(path))
    except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
        raise ImportFileError("The file is not a Parquet file.") from exc
    for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
        yield from batch.to_pylist()


READERS = {"csv": _csv_rows, "jsonl": _jsonl_rows, "parquet": _parquet_rows}
# The columns a file must have to be in the judgments shape of a queue of each kind.
REQUIRED_COLUMNS = {
    Queue.Kind.RUBRIC: ("output", "reviewer"),
    Queue.Kind.PAIRWISE: ("output_a", "output_b", "reviewer", "preferred"),
}


def _columns(path: Path, fmt: str) -> list[str] | None:
    """The file's column names: its CSV header or Parquet schema (JSONL lines name their own)."""
    if fmt == "parquet":
        try:
            return pq.read_schema(str(path)).names
        except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
            raise ImportFileError("The file is not a Parquet file.") from exc
    if fmt != "csv":
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file is not UTF-8 text.") from exc
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file cannot be read: {exc}") from exc


def check_columns(queue: Queue, path: Path, fmt: str) -> None:
    """Refuse a file whose header lacks what every row of the queue's kind needs (a file
    in another shape, or not a table at all) as a whole, instead of each of its rows."""
    columns = _columns(path, fmt)
    if columns is None:
        # JSONL lines name their own columns; but a file without one JSON object is junk.
        if not any(not row.get("__invalid__") for row in read_rows(path, fmt)):
            raise ImportFileError("No line of the file is a JSON object: it is not JSONL.")
        return
    if not columns:
        raise ImportFileError("The CSV file has no header row.")
    missing = [name for name in REQUIRED_COLUMNS[queue.kind] if name not in columns]
    if missing:
        raise ImportFileError(
            f"The file is not in the judgments shape of a {queue.kind} queue: it has no "
            + ", ".join(missing)
            + (" columns." if len(missing) > 1 else " column.")
        )


def read_rows(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    if fmt not in READERS:
        raise ImportFileError("format must be one of: " + ", ".join(IMPORT_FORMATS) + ".")
    try:
        yield from READERS[fmt](path)
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file is not UTF-8 text.") from exc
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file cannot be read: {exc}") from exc


# --- One row ----------------------------------------------------------------------------


@dataclass
class Parsed:
    number: int
    item: dict[str, Any]
    item_key: str
    reviewer: str
    cohorts: list[str]
    answers: dict[str, Any]
    time_spent_ms: int
    revision: int
    created_at: Any
    updated_at: Any


def _json_field(value: Any, default: Any, name: str) -> Any:
    if value in (None, ""):
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"{name} is not valid JSON.") from None
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number.") from None
    if number < 0 or number > 2**31 - 1:
        raise ValueError(f"{name} is out of range.")
    return number


def _reviewer(raw: dict[str, Any]) -> str:
    reviewer = _text(raw.get("reviewer")).strip()
    if not reviewer:
        raise ValueError("reviewer is missing.")
    if len(reviewer) > 200:
        raise ValueError("reviewer is longer than 200 characters.")
    return reviewer


def _item_json(raw: dict[str, Any]) -> tuple[list, dict]:
    messages = _json_field(raw.get("input_messages"), [], "input_messages")
    metadata = _json_field(raw.get("item_metadata"), {}, "item_metadata")
    if not isinstance(messages, list):
        raise ValueError("input_messages must be a JSON list.")
    if not isinstance(metadata, dict):
        raise ValueError("item_metadata must be a JSON object.")
    return messages, metadata


def _rubric_row(raw: dict[str, Any], criteria) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(reviewer, item fields, answers) of a row for a rubric queue."""
    output = _text(raw.get("output"))
    if not output.strip():
        raise ValueError("output is missing.")
    reviewer = _reviewer(raw)
    messages, metadata = _item_json(raw)
    item = {
        "input_text": _text(raw.get("input_text")),
        "input_messages": messages,
        "output": output,
        "model_name": _text(raw.get("model_name"))[:200],
        "model_version": _text(raw.get("model_version"))[:200],
        "metadata": metadata,
    }
    answers_raw = {
        key[len(ANSWER_PREFIX) :]: value
        for key, value in raw.items()
        if key.startswith(ANSWER_PREFIX) and value not in (None, "")
    }
    answers, errors = validate_answers(criteria, answers_raw)
    if errors:
        message = "; ".join(
            f"{key}: {text}" if key != UNKNOWN else text for key, text in sorted(errors.items())
        )
        raise ValueError(message)
    return reviewer, item, answers


# Pair columns of the export and the keys ``annotate.pairs.pair_fields`` reads them as.
PAIR_COLUMNS = {
    "input_text": "input",
    "output_a": "output_a",
    "model_name_a": "model_a",
    "model_version_a": "version_a",
    "output_b": "output_b",
    "model_name_b": "model_b",
    "model_version_b": "version_b",
}
CRITERION_PREFERENCES = ("a", "b", "tie")


def _pair_item(raw: dict[str, Any]) -> dict[str, Any]:
    """The item fields of a row for a pairwise queue, checked as pairs are when added."""
    messages, metadata = _item_json(raw)
    row: dict[str, Any] = {key: _text(raw.get(column)) for column, key in PAIR_COLUMNS.items()}
    for column in ("model_name_a", "model_version_a", "model_name_b", "model_version_b"):
        if len(row[PAIR_COLUMNS[column]].strip()) > 200:
            raise ValueError(f"{column} is longer than 200 characters.")
    try:
        fields = pair_fields({**row, "input_messages": messages, "metadata": metadata})
    except PairError as exc:
        raise ValueError(str(exc)) from None
    fields.setdefault("input_messages", [])
    return fields


def _pair_answers(queue: Queue, criteria: list[Criterion], raw: dict[str, Any]) -> dict:
    """A pairwise judgment's answers from a row, in the outputs' terms, cleaned as a
    reviewer's are; ``shown_left`` unknown (empty) leaves ``a_on_left`` unknown."""
    choice = _text(raw.get("preferred")).strip()
    if not choice:
        raise ValueError("preferred is missing.")
    if choice not in PREFERENCES:
        raise ValueError("preferred must be a, b, tie or both_bad.")
    shown = _text(raw.get("shown_left")).strip()
    if shown not in ("", "a", "b"):
        raise ValueError("shown_left must be a or b.")
    a_on_left = shown != "b"  # unknown: checked as if output A was on the left
    asked = {c.key for c in criteria if c.pairwise_preference}
    given: dict[str, str] = {}
    for column, value in raw.items():
        if not column.startswith(PREFERENCE_PREFIX) or value in (None, ""):
            continue
        key, value = column[len(PREFERENCE_PREFIX) :], _text(value).strip()
        if key not in asked:
            raise ValueError(f"{column}: the rubric asks no preference on {key}.")
        if value not in CRITERION_PREFERENCES:
            raise ValueError(f"{column} must be a, b or tie.")
        given[key] = to_screen(value, a_on_left)
    strength = raw.get("strength")
    strength = "" if strength in (None, "") else str(_int(strength, 0, "strength"))
    screen = {
        "choice": to_screen(choice, a_on_left),
        "strength": strength,
        "rationale": raw.get("rationale"),
        "criteria": given,
    }
    answers, errors = validate_pairwise(queue, a_on_left, criteria, screen)
    if errors:
        names = {"choice": "preferred"} | {f"pc-{key}": PREFERENCE_PREFIX + key for key in asked}
        raise ValueError(
            "; ".join(
                f"{names[key]} is missing."
                if key.startswith("pc-")
                else f"{names.get(key, key)}: {text}"
                for key, text in sorted(errors.items())
            )
        )
    if not shown:
        answers["a_on_left"] = answers["chose_left"] = None
    return answers


def parse_row(number: int, raw: dict[str, Any], criteria, queue: Queue | None = None) -> Parsed:
    """One file row checked against the rubric (a pairwise ``queue``'s: as a pair).
    Raises ValueError with the row's problem."""
    if raw.get("__invalid__"):
        raise ValueError("This line is not a JSON object.")
    problem = nested_text_problem(raw)
    if problem:
        raise ValueError(f"{problem}.")
    if queue is not None and queue.kind == Queue.Kind.PAIRWISE:
        reviewer = _reviewer(raw)
        item = _pair_item(raw)
        answers = _pair_answers(queue, criteria, raw)
    else:
        reviewer, item, answers = _rubric_row(raw, criteria)
    try:
        created_at = parse_time(raw["created_at"]) if raw.get("created_at") else None
        updated_at = parse_time(raw["updated_at"]) if raw.get("updated_at") else created_at
    except (TypeError, ValueError):
        raise ValueError("created_at and updated_at must be ISO 8601 times.") from None
    cohorts = [name.strip() for name in _text(raw.get("cohorts")).split(";") if name.strip()]
    return Parsed(
        number=number,
        item=item,
        item_key=item_key(item),
        reviewer=reviewer,
        cohorts=cohorts,
        answers=answers,
        time_spent_ms=_int(raw.get("time_spent_ms"), 0, "time_spent_ms"),
        revision=max(1, _int(raw.get("revision"), 1, "revision")),
        created_at=created_at,
        updated_at=updated_at,
    )


PAIR_FIELDS = ("output_b", "model_name_b", "model_version_b")


def item_key(fields: dict[str, Any]) -> str:
    """The item's content as a key; a pair's (``output_b`` given) includes output B."""
    content = {
        "input_text": fields["input_text"],
        "input_messages": fields["input_messages"] or [],
        "output": fields["output"],
        "model_name": fields["model_name"],
        "model_version": fields["model_version"],
        "metadata": fields["metadata"] or {},
    }
    if "output_b" in fields:
        content |= {name: fields[name] for name in PAIR_FIELDS}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


# --- Reviewers and items ----------------------------------------------------------------


class Reviewers:
    """Finds or creates the user behind each reviewer label in the file."""

    def __init__(self, queue: Queue, result: ImportResult) -> None:
        self.workspace = queue.workspace
        self.result = result
        self.by_label: dict[str, int] = dict(
            ImportedReviewer.objects.filter(workspace=self.workspace).values_list(
                "label", "user_id"
            )
        )
        # Members' own pseudonyms: a row with one is never written in that member's name
        # (a token could otherwise forge a live reviewer's judgments); it only counts as a
        # duplicate of the member's identical judgment, else goes to an imported reviewer.
        imported = set(self.by_label.values())
        self.live: dict[str, int] = {
            pseudonym(self.workspace.pk, user_id): user_id
            for user_id in Membership.objects.filter(workspace=self.workspace).values_list(
                "user_id", flat=True
            )
            if user_id not in imported
        }

    def user_id(self, label: str, cohorts: list[str]) -> int:
        if label in self.by_label:
            return self.by_label[label]
        user_model = get_user_model()
        digest = hashlib.sha256(f"{self.workspace.pk}:{label}".encode()).hexdigest()[:20]
        user, _ = user_model.objects.get_or_create(
            username=f"imported-{digest}", defaults={"is_active": False}
        )
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(
            workspace=self.workspace, user=user, defaults={"role": Role.REVIEWER}
        )
        ImportedReviewer.objects.get_or_create(
            workspace=self.workspace, label=label, defaults={"user": user}
        )
        for name in cohorts:
            cohort, _ = Cohort.objects.get_or_create(workspace=self.workspace, name=name[:100])
            cohort.members.add(user)
        self.by_label[label] = user.pk
        self.result.reviewers_created += 1
        return user.pk


class Items:
    """Finds or creates the queue's item for each row's content."""

    def __init__(self, queue: Queue, result: ImportResult) -> None:
        self.queue = queue
        self.result = result
        self.by_key: dict[str, int] = {}
        self.counts: dict[int, int] = {}
        fields = ("pk", "input_text", "input_messages", "output", "model_name", "model_version")
        fields += ("metadata",) + (PAIR_FIELDS if queue.kind == Queue.Kind.PAIRWISE else ())
        for values in Item.objects.filter(queue=queue).values_list(*fields):
            record = dict(zip(fields[1:], values[1:], strict=True))
            self.by_key.setdefault(item_key(record), values[0])

    def ensure(self, rows: list[Parsed]) -> None:
        missing: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row.item_key not in self.by_key:
                missing.setdefault(row.item_key, row.item)
        if missing:
            created = add_items(self.queue, list(missing.values()))
            for key, item in zip(missing, created, strict=True):
                self.by_key[key] = item.pk
            self.result.items_created += len(created)


# --- Recording --------------------------------------------------------------------------


def _record_chunk(
    queue: Queue,
    rows: list[Parsed],
    items: Items,
    reviewers: Reviewers,
    result: ImportResult,
    on_chunk: OnChunk | None = None,
    read: int = 0,
) -> None:
    with transaction.atomic():
        items.ensure(rows)
        item_ids = {items.by_key[row.item_key] for row in rows}
        state = {
            pk: [needed, count]
            for pk, needed, count in Item.objects.select_for_update()
            .filter(pk__in=item_ids)
            .values_list("pk", "judgments_needed", "judgment_count")
        }
        taken = {
            (item_id, user_id): answers
            for item_id, user_id, answers in Judgment.objects.filter(
                item_id__in=item_ids
            ).values_list("item_id", "reviewer_id", "answers")
        }
        new: list[Judgment] = []
        added: dict[int, int] = {}
        for row in rows:
            item_id = items.by_key[row.item_key]
            member = reviewers.live.get(row.reviewer)
            if member is not None and (item_id, member) in taken:
                user_id = member  # the member's own judgment, exported and brought back
            else:
                user_id = reviewers.user_id(row.reviewer, row.cohorts)
            if (item_id, user_id) in taken:
                if taken[item_id, user_id] == row.answers:
                    result.duplicate += 1
                else:
                    result.error(
                        row.number,
                        "This reviewer already has a different judgment on this item.",
                    )
                continue
            needed, count = state[item_id]
            if count >= needed:
                result.error(
                    row.number, f"The item already has the {needed} judgments the queue needs."
                )
                continue
            state[item_id][1] += 1
            taken[item_id, user_id] = row.answers
            added[item_id] = added.get(item_id, 0) + 1
            extra = {}
            if row.created_at is not None:
                extra = {"created_at": row.created_at, "updated_at": row.updated_at}
            new.append(
                Judgment(
                    item_id=item_id,
                    queue=queue,
                    reviewer_id=user_id,
                    rubric_version_id=queue.rubric_version_id,
                    answers=row.answers,
                    time_spent_ms=row.time_spent_ms,
                    revision=row.revision,
                    **extra,
                )
            )
        Judgment.objects.bulk_create(new)
        completed = 0
        for item_id, n in added.items():
            Item.objects.filter(pk=item_id).update(
                judgment_count=F("judgment_count") + n, reserved=F("reserved") + n
            )
            completed += Item.objects.filter(
                pk=item_id, state=Item.State.OPEN, judgment_count__gte=F("judgments_needed")
            ).update(state=Item.State.COMPLETE)
        if completed:
            Queue.objects.filter(pk=queue.pk).update(items_complete=F("items_complete") + completed)
        result.created += len(new)
        if on_chunk is not None:
            on_chunk(result, read)


def import_judgments(
    queue: Queue,
    path: Path,
    fmt: str,
    on_chunk: OnChunk | None = None,
    resume: ImportResult | None = None,
    skip: int = 0,
) -> ImportResult:
    """Import a judgments file into ``queue``; see the module doc. Raises ImportFileError.

    A job resumes a run that was stopped with the result of its last checkpoint
    (``resume``) and the number of rows that checkpoint had read (``skip``).
    """
    check_columns(queue, path, fmt)
    criteria = list(queue.rubric_version.criteria.all())
    result = resume or ImportResult()
    items = Items(queue, result)
    reviewers = Reviewers(queue, result)
    chunk: list[Parsed] = []
    number = 0
    for number, raw in enumerate(read_rows(path, fmt), start=1):
        if number <= skip:
            continue
        result.rows += 1
        try:
            chunk.append(parse_row(number, raw, criteria, queue))
        except ValueError as exc:
            result.error(number, str(exc))
            continue
        if len(chunk) >= CHUNK_ROWS:
            _record_chunk(queue, chunk, items, reviewers, result, on_chunk, number)
            chunk = []
    if chunk:
        _record_chunk(queue, chunk, items, reviewers, result, on_chunk, number)
    return result


def count_rows(path: Path, fmt: str) -> int | None:
    """The rows in a file (for a progress bar); None when it cannot be read."""
    try:
        if fmt == "parquet":
            return pq.ParquetFile(str(path)).metadata.num_rows
        if fmt == "jsonl":
            with path.open("rb") as handle:
                return sum(1 for line in handle if line.strip())
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return max(0, sum(1 for row in csv.reader(handle) if row) - 1)
    except (OSError, ValueError, csv.Error, pa.ArrowException):
        return None
