"""The PostgreSQL COPY path reads a large export as two halves on two connections."""

import threading
from datetime import timedelta

import psycopg
import pytest

from annotate.judging import edit_judgment
from annotate.models import Judgment
from evals.exports import pg as export_pg
from evals.exports import pipeline as exports
from tests.conftest import test_database_url
from tests.evals.exports.test_exports import SNAPSHOT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _spec(workspace, fmt, filters=None):
    return exports.parse_spec(
        workspace, shape="judgments", format=fmt, snapshot_at=SNAPSHOT, filters=filters
    )


def _export(workspace, spec, folder, **kwargs):
    manifest = exports.write_export(workspace, spec, folder, **kwargs)
    return (folder / spec.file_name).read_bytes(), manifest


def _spy_halves(monkeypatch) -> list[int]:
    splits = []
    real = export_pg._write_halves

    def spy(ctx, split, *args):
        splits.append(split)
        return real(ctx, split, *args)

    monkeypatch.setattr(export_pg, "_write_halves", spy)
    return splits


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("filters", [None, {"model_versions": ["v1"]}, {"queue_ids": "mine"}])
def test_two_halves_write_the_bytes_one_copy_and_the_row_path_write(
    postgres, graded_queue, workspace, tmp_path, monkeypatch, settings, fmt, filters
):
    if filters and filters.get("queue_ids") == "mine":
        filters = {"queue_ids": [graded_queue.pk]}
    spec = _spec(workspace, fmt, filters)
    one_copy, _ = _export(workspace, spec, tmp_path / "one")
    splits = _spy_halves(monkeypatch)
    settings.QUORUM_EXPORT_PARALLEL_MIN_ROWS = 1
    halves, manifest = _export(workspace, spec, tmp_path / "halves")
    rows, slow = _export(workspace, spec, tmp_path / "rows", fast=False)

    items = list(graded_queue.items.order_by("pk").values_list("pk", flat=True))
    assert splits == [items[1]]  # the median of four items: one below, three from it on
    assert halves == one_copy == rows
    assert manifest["files"][0]["bytes"] == len(halves)
    assert manifest["counts"] == slow["counts"]
    assert manifest["agreement"] == slow["agreement"]
    assert sorted(p.name for p in (tmp_path / "halves").iterdir()) == [
        "README.md",
        spec.file_name,
        "manifest.json",
    ]


def test_both_halves_read_the_snapshot_of_the_first(
    postgres, graded_queue, workspace, tmp_path, monkeypatch, settings
):
    """A change committed after the export began is in neither half, even when the second
    connection starts reading after it."""
    spec = _spec(workspace, "csv")
    before, _ = _export(workspace, spec, tmp_path / "before")
    last_item = graded_queue.items.order_by("pk").last()
    changed = threading.Event()
    real = export_pg._copy_into

    def copy_into(statement, handle, digest=None):
        if threading.current_thread().name.startswith("quorum-copy"):
            assert changed.wait(10)
        else:
            with psycopg.connect(test_database_url().replace("postgres://", "postgresql://")) as c:
                c.execute(
                    "UPDATE annotate_judgment SET time_spent_ms = 987654 WHERE item_id = %s",
                    [last_item.pk],
                )
            changed.set()
        return real(statement, handle, digest)

    monkeypatch.setattr(export_pg, "_copy_into", copy_into)
    settings.QUORUM_EXPORT_PARALLEL_MIN_ROWS = 1
    during, _ = _export(workspace, spec, tmp_path / "during")
    assert during == before
    assert b"987654" not in during
    assert Judgment.objects.filter(item=last_item, time_spent_ms=987654).count() == 2


def test_a_failing_half_fails_the_export_and_leaves_no_part_file(
    postgres, graded_queue, workspace, tmp_path, monkeypatch, settings
):
    real = export_pg._copy_chunks

    def chunks(statement):
        if threading.current_thread().name.startswith("quorum-copy"):
            raise psycopg.OperationalError("the second connection dropped")
        yield from real(statement)

    monkeypatch.setattr(export_pg, "_copy_chunks", chunks)
    settings.QUORUM_EXPORT_PARALLEL_MIN_ROWS = 1
    spec = _spec(workspace, "jsonl")
    with pytest.raises(psycopg.OperationalError, match="second connection dropped"):
        exports.write_export(workspace, spec, tmp_path / "out")
    leftovers = [p.name for p in tmp_path.rglob("*.part")]
    assert leftovers == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_edit_after_the_snapshot_sends_a_worker_export_to_the_row_path(
    postgres, graded_queue, workspace, tmp_path, monkeypatch, settings, fmt
):
    """In a worker the agreement starts before the scan that finds the edit; the export
    then takes the row path, stops the agreement early, and still writes the snapshot."""
    spec = _spec(workspace, fmt)
    before, manifest = _export(workspace, spec, tmp_path / "before")
    judgment = Judgment.objects.order_by("pk").first()
    criteria = list(graded_queue.rubric_version.criteria.all())
    edit_judgment(
        judgment,
        criteria,
        {"accuracy": 1, "harm": "severe", "safe": "fail"},
        now=SNAPSHOT + timedelta(hours=1),
    )
    settings.QUORUM_EXPORT_PARALLEL_MIN_ROWS = 1
    splits = _spy_halves(monkeypatch)
    after, again = _export(workspace, spec, tmp_path / "after")
    assert splits == []  # the COPY path gave way
    assert after == before
    assert again["agreement"] == manifest["agreement"]
