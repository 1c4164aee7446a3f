"""Importing judgments a team already has, in the export's own judgments shape.

``import_judgments(queue, path, fmt)`` reads a CSV, JSONL or Parquet file whose
columns are those of the judgments export, checks every row against the queue's
rubric version (``import_rows``), and records the good rows:

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
from annotate.models import (
    Cohort,
    ImportedReviewer,
    Item,
    Judgment,
    Membership,
    Queue,
    Role,
)
from annotate.people import pseudonym
from evals.exports.import_rows import PAIR_FIELDS, Parsed, item_key, parse_row
from evals.exports.writers import unneutralize

IMPORT_FORMATS = ("csv", "jsonl", "parquet")
CHUNK_ROWS = 1000
MAX_ERRORS = 1000
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
    """Record a chunk of rows in one transaction, its checkpoint (``on_chunk``) with it."""
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
        new, added = _new_judgments(queue, rows, items, reviewers, result, state, taken)
        Judgment.objects.bulk_create(new)
        _count_judgments(queue, added)
        result.created += len(new)
        if on_chunk is not None:
            on_chunk(result, read)


def _new_judgments(
    queue: Queue,
    rows: list[Parsed],
    items: Items,
    reviewers: Reviewers,
    result: ImportResult,
    state: dict[int, list[int]],
    taken: dict[tuple[int, int], Any],
) -> tuple[list[Judgment], dict[int, int]]:
    """The rows' judgments to create, and how many each item gets; a row that is a
    duplicate or cannot be recorded is counted in ``result`` instead.

    ``state`` (each item's judgments needed and counted) and ``taken`` (the answers
    of each item and reviewer) are updated as rows are accepted.
    """
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
        new.append(_judgment(queue, row, item_id, user_id))
    return new, added


def _judgment(queue: Queue, row: Parsed, item_id: int, user_id: int) -> Judgment:
    """The judgment of a row, with the file's times when it has them."""
    extra = {}
    if row.created_at is not None:
        extra = {"created_at": row.created_at, "updated_at": row.updated_at}
    return Judgment(
        item_id=item_id,
        queue=queue,
        reviewer_id=user_id,
        rubric_version_id=queue.rubric_version_id,
        answers=row.answers,
        time_spent_ms=row.time_spent_ms,
        revision=row.revision,
        **extra,
    )


def _count_judgments(queue: Queue, added: dict[int, int]) -> None:
    """Add the new judgments to their items' counts, completing the items (and the
    queue's count of complete items) that now have all they need."""
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
