import csv
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from annotate.judging import edit_judgment
from annotate.models import Cohort, Item, Judgment, Queue
from evals.exports import pipeline as exports
from evals.exports.writers import neutralize, unneutralize
from tests.evals.conftest import BASE_TIME

SNAPSHOT = BASE_TIME + timedelta(days=1)


def _export(workspace, tmp_path, shape="judgments", fmt="csv", name="out", **kwargs):
    spec = exports.parse_spec(workspace, shape=shape, format=fmt, snapshot_at=SNAPSHOT, **kwargs)
    out = tmp_path / name
    manifest = exports.write_export(workspace, spec, out)
    return out / spec.file_name, manifest


def _read(path, fmt):
    if fmt == "csv":
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("shape", ["judgments", "judgments_long", "items"])
def test_every_shape_and_format_holds_the_graded_data(
    graded_queue, workspace, tmp_path, shape, fmt
):
    path, manifest = _export(workspace, tmp_path, shape, fmt)
    rows = _read(path, fmt)
    judgments = Judgment.objects.filter(queue=graded_queue)
    assert manifest["counts"]["judgments"] == judgments.count() == 8
    assert manifest["counts"]["items"] == 4
    if shape == "judgments":
        assert len(rows) == 8
        assert {str(r["judgment_id"]) for r in rows} == {str(j.pk) for j in judgments}
        first = next(
            r for r in rows if str(r["judgment_id"]) == str(judgments.order_by("pk")[0].pk)
        )
        assert str(first["answer_accuracy"]) == "4"
        assert first["answer_harm"] == "none"
    elif shape == "judgments_long":
        expected = sum(len(j.answers) for j in judgments)
        assert len(rows) == expected
        assert {r["criterion"] for r in rows} >= {"accuracy", "harm", "safe"}
    else:
        assert len(rows) == 4
        assert all(str(r["judgments"]) == "2" for r in rows)
        assert {"consensus_accuracy", "consensus_harm", "consensus_safe", "agreement"} <= set(
            rows[0]
        )
        assert "consensus_comment" not in rows[0]


def test_items_consensus_is_median_for_scales_and_majority_with_null_ties(
    workspace, clinicians, reviewer, second_reviewer, tmp_path
):
    from tests.evals.conftest import grade_queue
    from tests.factories import make_queue

    queue = make_queue(workspace, cohorts=[clinicians], k=2, items=1, order="oldest")
    grade_queue(
        queue,
        [reviewer, second_reviewer],
        [
            {"accuracy": 2, "harm": "none", "safe": "pass"},
            {"accuracy": 5, "harm": "mild", "safe": "pass"},
        ],
    )
    path, manifest = _export(workspace, tmp_path, "items", "jsonl")
    (row,) = _read(path, "jsonl")
    assert row["consensus_accuracy"] == 3.5
    assert row["consensus_harm"] is None  # a tie
    assert row["consensus_safe"] is True
    assert row["agreement"] == pytest.approx(1 / 3, abs=1e-6)  # only safe agrees of 3 criteria
    assert manifest["consensus"]["likert"] == "median"


def test_the_same_snapshot_gives_byte_identical_files(graded_queue, workspace, tmp_path):
    for fmt in ("csv", "jsonl", "parquet"):
        first, m1 = _export(workspace, tmp_path, "judgments", fmt, name=f"a-{fmt}")
        second, m2 = _export(workspace, tmp_path, "judgments", fmt, name=f"b-{fmt}")
        assert first.read_bytes() == second.read_bytes()
        assert (first.parent / "manifest.json").read_bytes() == (
            second.parent / "manifest.json"
        ).read_bytes()
        assert m1["exported_at"] == "2026-03-02T09:00:00.000000Z"


def test_an_edit_after_the_snapshot_does_not_change_the_export(graded_queue, workspace, tmp_path):
    before, _ = _export(workspace, tmp_path, "judgments", "jsonl", name="before")
    judgment = Judgment.objects.order_by("pk").first()
    criteria = list(graded_queue.rubric_version.criteria.all())
    later = SNAPSHOT + timedelta(hours=1)
    edit_judgment(judgment, criteria, {"accuracy": 1, "harm": "severe", "safe": "fail"}, now=later)
    after, _ = _export(workspace, tmp_path, "judgments", "jsonl", name="after")
    assert before.read_bytes() == after.read_bytes()


def test_the_manifest_lists_the_sha256_of_each_file(graded_queue, workspace, tmp_path):
    path, manifest = _export(workspace, tmp_path, "judgments", "parquet")
    files = {f["name"]: f for f in manifest["files"]}
    for name in ("judgments.parquet", "README.md"):
        data = (path.parent / name).read_bytes()
        assert files[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert files[name]["bytes"] == len(data)
    readme = (path.parent / "README.md").read_text()
    assert files["judgments.parquet"]["sha256"] in readme
    assert "Clinician review v1" in readme and "`accuracy`" in readme
    on_disk = json.loads((path.parent / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["rubric_versions"][0]["criteria"][0]["key"] == "accuracy"
    assert manifest["cohorts"] == [{"name": "Clinicians", "reviewers": 2}]
    _, items_manifest = _export(workspace, tmp_path, "items", "jsonl", name="items")
    assert items_manifest["agreement"]["items_with_agreement"] == 4
    assert items_manifest["agreement"]["mean_item_agreement"] == 1.0


def test_csv_cells_that_look_like_formulas_get_an_apostrophe(graded_queue, workspace, tmp_path):
    path, _ = _export(workspace, tmp_path, "judgments", "csv")
    text = path.read_text()
    assert "'=HYPERLINK" in text and "'@SUM(A1:A2)" in text and "'-dangerous" in text
    for row in _read(path, "csv"):
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_neutralizing_is_reversible():
    for cell in ["=1+1", "+x", "-3", "@a", "\tx", "\rx", "'quoted", "plain", "", "a=b"]:
        assert unneutralize(neutralize(cell)) == cell
    assert neutralize("plain") == "plain"


def test_reviewers_are_pseudonymous_unless_names_are_asked_for(
    graded_queue, workspace, reviewer, tmp_path
):
    path, manifest = _export(workspace, tmp_path, "judgments", "jsonl")
    labels = {row["reviewer"] for row in _read(path, "jsonl")}
    assert reviewer.username not in labels and all(lbl.startswith("r-") for lbl in labels)
    assert manifest["reviewer_ids"] == "pseudonymous"
    named, _ = _export(workspace, tmp_path, "judgments", "jsonl", name="named", reviewer_names=True)
    assert reviewer.username in {row["reviewer"] for row in _read(named, "jsonl")}


def test_filters_narrow_the_rows(graded_queue, workspace, clinicians, tmp_path):
    def count(**filters):
        path, _ = _export(workspace, tmp_path, "judgments", "jsonl", name="f", filters=filters)
        return len(_read(path, "jsonl"))

    assert count(model_versions=["v1"]) == 4
    assert count(queue_ids=[graded_queue.pk]) == 8
    assert count(cohort_ids=[clinicians.pk]) == 8
    assert count(since=(BASE_TIME + timedelta(minutes=4)).isoformat()) == 4
    assert count(until=(BASE_TIME + timedelta(minutes=1)).isoformat()) == 2
    assert count(min_agreement=1.0) == 8
    assert count(adjudicated_only=True) == 0  # nothing adjudicated yet
    assert count(exclude_gold=True) == 8  # no gold items yet
    graded_queue.items.filter(pk=graded_queue.items.order_by("pk").first().pk).update(is_gold=True)
    assert count(exclude_gold=True) == 6


def test_min_agreement_drops_items_reviewers_disagree_on(
    workspace, clinicians, reviewer, second_reviewer, tmp_path
):
    from tests.evals.conftest import grade_queue
    from tests.factories import make_queue

    queue = make_queue(workspace, cohorts=[clinicians], k=2, items=3, order="oldest")
    grade_queue(
        queue,
        [reviewer, second_reviewer],
        [
            {"accuracy": 2, "harm": "none", "safe": "pass"},
            {"accuracy": 5, "harm": "mild", "safe": "fail"},
            {"accuracy": 4, "harm": "none", "safe": "pass"},
            {"accuracy": 2, "harm": "mild", "safe": "pass"},
        ],
    )
    path, manifest = _export(
        workspace, tmp_path, "judgments", "jsonl", filters={"min_agreement": 0.5}
    )
    rows = _read(path, "jsonl")
    assert len(rows) == 2  # the one item where 2 of 3 criteria agree
    assert manifest["filters"]["min_agreement"] == 0.5


@pytest.mark.parametrize(
    "filters",
    [
        {"bogus": 1},
        {"min_agreement": 2},
        {"min_agreement": "high"},
        {"since": "yesterday"},
        {"queue_ids": ["x"]},
        {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    ],
)
def test_bad_filters_are_refused_with_a_message(workspace, filters):
    with pytest.raises(exports.ExportError):
        exports.parse_spec(
            workspace, shape="judgments", format="csv", snapshot_at=SNAPSHOT, filters=filters
        )


def test_another_workspaces_queue_is_refused_as_a_filter(workspace, outsider):
    from tests.factories import make_queue

    other = make_queue(outsider.memberships.get().workspace)
    with pytest.raises(exports.ExportError):
        exports.parse_spec(
            workspace,
            shape="judgments",
            format="csv",
            snapshot_at=SNAPSHOT,
            filters={"queue_ids": [other.pk]},
        )


def test_the_sft_set_keeps_outputs_above_the_threshold_in_chat_format(
    graded_queue, workspace, tmp_path
):
    path, manifest = _export(workspace, tmp_path, "sft", "jsonl", sft_threshold=0.7)
    rows = _read(path, "jsonl")
    assert rows, "some items score above 0.7"
    for row in rows:
        assert list(row) == ["messages"]
        assert row["messages"][-1]["role"] == "assistant"
        assert row["messages"][0]["role"] == "user"
    strict, _ = _export(workspace, tmp_path, "sft", "jsonl", name="strict", sft_threshold=1.0)
    assert len(_read(strict, "jsonl")) < len(rows)
    with pytest.raises(exports.ExportError):
        exports.parse_spec(workspace, shape="sft", format="csv", snapshot_at=SNAPSHOT)


def test_weighted_score_normalizes_scales_and_weights_criteria(workspace):
    from tests.factories import published_rubric

    criteria = list(published_rubric(workspace).criteria.all())
    assert exports.weighted_score({"accuracy": 5, "safe": True}, criteria) == 1.0
    assert exports.weighted_score({"accuracy": 1, "safe": False}, criteria) == 0.0
    assert exports.weighted_score({"accuracy": 3, "safe": True}, criteria) == 0.75


def test_adjudicated_answers_replace_the_consensus_of_their_item(
    graded_queue, workspace, admin_user, tmp_path
):
    from annotate.models import Adjudication

    first, second = graded_queue.items.order_by("pk")[:2]
    final = {"accuracy": 1, "harm": "severe", "safe": False}
    Adjudication.objects.create(
        item=first, queue=graded_queue, adjudicator=admin_user, answers=final, note="checked"
    )
    assert exports.consensus_override([first.pk, second.pk]) == {first.pk: final}
    path, _ = _export(workspace, tmp_path, "items", "jsonl", name="adj")
    rows = {row["item_id"]: row for row in _read(path, "jsonl")}
    assert rows[first.pk]["adjudicated"] is True
    assert rows[first.pk]["consensus_accuracy"] == 1
    assert rows[second.pk]["adjudicated"] is False
    only, _ = _export(
        workspace, tmp_path, "items", "jsonl", name="only", filters={"adjudicated_only": True}
    )
    assert [row["item_id"] for row in _read(only, "jsonl")] == [first.pk]


def test_datasets_loads_the_parquet_and_jsonl_files_offline(
    graded_queue, workspace, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    for fmt, builder in (("parquet", "parquet"), ("jsonl", "json")):
        path, _ = _export(workspace, tmp_path, "judgments", fmt, name=fmt)
        loaded = datasets.load_dataset(
            builder,
            data_files=str(path),
            split="train",
            cache_dir=str(tmp_path / "hf-cache" / fmt),
        )
        assert loaded.num_rows == 8
        assert "answer_accuracy" in loaded.column_names
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"


def test_a_large_export_streams_in_batches_without_holding_all_rows(
    graded_queue, workspace, tmp_path
):
    spec = exports.parse_spec(workspace, shape="judgments", format="parquet", snapshot_at=SNAPSHOT)
    seen = []
    exports.write_export(workspace, spec, tmp_path / "b", progress=seen.append, batch_rows=2)
    assert seen[-1] == 8
    assert pq.ParquetFile(tmp_path / "b" / "judgments.parquet").num_row_groups >= 3


def test_snapshot_excludes_judgments_made_after_it(graded_queue, workspace, tmp_path):
    spec = exports.parse_spec(
        workspace,
        shape="judgments",
        format="jsonl",
        snapshot_at=datetime(2026, 3, 1, 9, 2, tzinfo=UTC),
    )
    manifest = exports.write_export(workspace, spec, tmp_path / "s")
    assert manifest["counts"]["judgments"] == 3


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_the_postgres_copy_path_writes_what_the_row_path_writes(
    postgres, graded_queue, workspace, tmp_path, fmt
):
    from evals.exports import pg as export_pg

    graded_queue.items.update(input_text="", metadata={"b": 1, "aa": [1, "x\ty"], "é": None})
    # Formula-like text in every kind of column: the database neutralizes it as Python does.
    Queue.objects.filter(pk=graded_queue.pk).update(name="=Queue")
    first, second = graded_queue.items.order_by("pk")[:2]
    Item.objects.filter(pk=first.pk).update(metadata=-1, output="+44 7700 900000")
    Item.objects.filter(pk=second.pk).update(model_version="-v2", input_messages=[])
    Cohort.objects.filter(workspace=workspace).update(name="@Clinicians")
    spec = exports.parse_spec(workspace, shape="judgments", format=fmt, snapshot_at=SNAPSHOT)
    assert export_pg.applies(spec)
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    fast_file, slow_file = tmp_path / "fast" / spec.file_name, tmp_path / "slow" / spec.file_name
    if fmt == "parquet":
        assert pq.read_table(fast_file).equals(pq.read_table(slow_file))
    else:
        assert fast_file.read_bytes() == slow_file.read_bytes()
    assert fast["counts"] == slow["counts"]
    assert fast["files"][0]["bytes"] == fast_file.stat().st_size
    assert fast["agreement"] == slow["agreement"]
    assert fast["agreement"]["items_with_agreement"] == 4


@pytest.fixture
def agreement_queries(monkeypatch) -> list[tuple[str, str]]:
    """(way, thread) of each agreement counted apart from the write: ``chunk_agreements``
    (typed answer columns) or ``item_agreements`` (the JSON query)."""
    import threading

    from evals.exports import agreement as export_agreement

    calls = []
    by_chunks = export_agreement.chunk_agreements
    by_query = export_agreement.item_agreements

    def chunks(ctx, stop=None):
        calls.append(("chunk_agreements", threading.current_thread().name))
        return by_chunks(ctx, stop)

    def query(ctx):
        calls.append(("item_agreements", threading.current_thread().name))
        yield from by_query(ctx)

    monkeypatch.setattr(export_agreement, "chunk_agreements", chunks)
    monkeypatch.setattr(export_agreement, "item_agreements", query)
    return calls


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_agreement_is_counted_on_a_second_connection(
    postgres, graded_queue, workspace, tmp_path, agreement_queries
):
    from django.db import connection

    spec = exports.parse_spec(workspace, shape="judgments", format="csv", snapshot_at=SNAPSHOT)
    assert not connection.in_atomic_block  # as in a worker
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    assert [way for way, _ in agreement_queries] == ["chunk_agreements"]
    assert agreement_queries[0][1].startswith("quorum-agreement")
    assert fast["agreement"] == slow["agreement"]
    assert fast["agreement"]["items_with_agreement"] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_parquet_path_counts_agreement_from_its_chunks_without_a_query(
    postgres, graded_queue, workspace, tmp_path, agreement_queries, monkeypatch
):
    """In a worker (no transaction open) the items are read on a second connection."""
    import threading

    from evals.exports import pg_parquet as export_pg_parquet

    threads = set()
    copy_out = export_pg_parquet.copy_out

    def spy(conn, statement):
        threads.add((threading.current_thread().name.split("_")[0], id(conn)))
        return copy_out(conn, statement)

    monkeypatch.setattr(export_pg_parquet, "copy_out", spy)
    monkeypatch.setattr(export_pg_parquet, "CHUNK_ROWS", 3)
    spec = exports.parse_spec(workspace, shape="judgments", format="parquet", snapshot_at=SNAPSHOT)
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    assert agreement_queries == []
    assert {"export-copy", "export-items"} <= {name for name, _ in threads}
    assert len({conn for _, conn in threads}) == 2
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    assert fast["agreement"] == slow["agreement"]
    assert fast["agreement"]["items_with_agreement"] == 4


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_criterion_of_two_kinds_sends_the_agreement_to_the_query(
    fmt,
    postgres,
    graded_queue,
    workspace,
    reviewer,
    second_reviewer,
    clinicians,
    tmp_path,
    agreement_queries,
):
    """A key that is a number in one rubric and a scale in another is a text column,
    where 3 and 3.0 would differ: the agreement is counted by the query."""
    from annotate.rubrics import create_rubric, publish
    from tests.evals.conftest import grade_queue
    from tests.factories import make_queue

    version = publish(
        create_rubric(
            workspace,
            "Minutes as a scale",
            [
                {
                    "key": "minutes",
                    "name": "Minutes",
                    "kind": "likert",
                    "config": {"levels": [{"value": v, "label": str(v)} for v in (1, 2, 3)]},
                }
            ],
        )
    )
    other = make_queue(
        workspace, cohorts=[clinicians], k=2, items=2, rubric_version=version, name="Other"
    )
    grade_queue(other, [reviewer, second_reviewer], [{"minutes": 3}, {"minutes": 2}])
    spec = exports.parse_spec(workspace, shape="judgments", format=fmt, snapshot_at=SNAPSHOT)
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    assert [way for way, _ in agreement_queries] == ["item_agreements"]
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    assert fast["agreement"] == slow["agreement"]
    assert fast["agreement"]["items_with_agreement"] == 6


MIXED_ANSWERS = [
    {"accuracy": 4, "harm": "none", "safe": "pass", "minutes": 3},
    {"accuracy": 4, "harm": "mild", "safe": "pass", "minutes": 3.0},
    {"accuracy": 2, "harm": "none", "safe": "fail", "comment": "no"},
    {"accuracy": 5, "harm": "none", "safe": "pass"},
    {"accuracy": 4, "harm": "severe", "safe": "fail", "minutes": 10},
]


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(("which", "items_agreeing"), [("all", 6), ("v1", 3), ("single", 0)])
def test_the_postgres_copy_path_counts_the_same_agreement_as_the_row_path(
    postgres, workspace, clinicians, reviewer, second_reviewer, tmp_path, which, items_agreeing, fmt
):
    from evals.exports import pg as export_pg
    from tests.evals.conftest import grade_queue
    from tests.factories import UserFactory, make_queue

    third = UserFactory(username="tess-clinician")
    workspace.memberships.create(user=third, role="reviewer")
    clinicians.members.add(third)
    mixed = make_queue(workspace, cohorts=[clinicians], k=3, items=6, order="oldest")
    grade_queue(mixed, [reviewer, second_reviewer, third], MIXED_ANSWERS)
    single = make_queue(workspace, cohorts=[clinicians], k=2, items=2, name="Single")
    grade_queue(single, [reviewer])  # one judgment per item: no agreement
    filters = {
        "all": {},
        "v1": {"model_versions": ["v1"]},
        "single": {"queue_ids": [single.pk]},
    }[which]
    spec = exports.parse_spec(
        workspace, shape="judgments", format=fmt, snapshot_at=SNAPSHOT, filters=filters
    )
    assert export_pg.applies(spec)
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    assert fast["agreement"] == slow["agreement"]
    assert fast["agreement"]["items_with_agreement"] == items_agreeing
    if items_agreeing:
        assert 0 < fast["agreement"]["mean_item_agreement"] < 1
    else:
        assert fast["agreement"]["mean_item_agreement"] is None
    readme = (tmp_path / "fast" / "README.md").read_text()
    assert readme == (tmp_path / "slow" / "README.md").read_text()
    assert "not computed" not in readme


@pytest.mark.postgres
@pytest.mark.parametrize(("counted", "seen_rows"), [(True, [2, 4, 6, 8, 8]), (False, [6, 8, 8])])
def test_the_postgres_parquet_path_reads_in_chunks_of_whole_items(
    postgres, graded_queue, workspace, tmp_path, monkeypatch, counted, seen_rows
):
    """Chunks are cut by the items' judgment counts; a wrong count (0 here, as a hand
    edit could leave it) changes only the chunks' sizes, never the rows."""
    from evals.exports import pg_parquet as export_pg_parquet

    monkeypatch.setattr(export_pg_parquet, "CHUNK_ROWS", 3)  # 8 judgments, 2 per item
    if not counted:
        graded_queue.items.update(judgment_count=0)  # read as 1: three items a chunk
    spec = exports.parse_spec(workspace, shape="judgments", format="parquet", snapshot_at=SNAPSHOT)
    seen = []
    fast = exports.write_export(workspace, spec, tmp_path / "fast", progress=seen.append)
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    fast_table = pq.read_table(tmp_path / "fast" / spec.file_name)
    assert fast_table.equals(pq.read_table(tmp_path / "slow" / spec.file_name))
    assert fast["counts"] == slow["counts"] == {**fast["counts"], "items": 4, "reviewers": 2}
    assert fast["agreement"] == slow["agreement"]
    assert seen == seen_rows
    assert pq.ParquetFile(tmp_path / "fast" / spec.file_name).metadata.row_group(0).num_rows == 8


@pytest.mark.postgres
def test_the_postgres_parquet_path_reads_fewer_rows_at_once_when_rows_are_big(
    postgres, graded_queue, workspace, tmp_path, monkeypatch
):
    from evals.exports import pg_parquet as export_pg_parquet

    monkeypatch.setattr(export_pg_parquet, "FIRST_CHUNK_ROWS", 2)
    monkeypatch.setattr(export_pg_parquet, "CHUNK_ROWS", 4)  # two items (2 judgments each)
    monkeypatch.setattr(export_pg_parquet, "CHUNK_BYTES", 1)  # every row is "too big"
    spec = exports.parse_spec(workspace, shape="judgments", format="parquet", snapshot_at=SNAPSHOT)
    seen = []
    exports.write_export(workspace, spec, tmp_path / "fast", progress=seen.append)
    exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    # One item, one more (asked for before the first was measured), then one at a time
    # where CHUNK_ROWS alone would take two: a chunk is never less than a whole item.
    assert seen == [2, 4, 6, 8, 8]
    fast_table = pq.read_table(tmp_path / "fast" / spec.file_name)
    assert fast_table.equals(pq.read_table(tmp_path / "slow" / spec.file_name))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "filters",
    [
        {"model_versions": ["v1"]},
        {"exclude_gold": True},
        {"cohort_ids": "clinicians"},
        {"until": (BASE_TIME + timedelta(minutes=4)).isoformat()},
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_postgres_paths_apply_the_filters_like_the_row_path(
    postgres, graded_queue, workspace, clinicians, tmp_path, monkeypatch, filters, fmt
):
    """The rows, the counts and the agreement (counted apart, in chunks of whole items)."""
    from evals.exports import agreement as export_agreement
    from evals.exports import pg_parquet as export_pg_parquet

    monkeypatch.setattr(export_pg_parquet, "CHUNK_ROWS", 3)
    monkeypatch.setattr(export_agreement, "AGREEMENT_CHUNK_ROWS", 3)
    graded_queue.items.filter(pk=graded_queue.items.order_by("pk").first().pk).update(is_gold=True)
    if filters.get("cohort_ids"):
        filters = {"cohort_ids": [clinicians.pk]}
    spec = exports.parse_spec(
        workspace, shape="judgments", format=fmt, snapshot_at=SNAPSHOT, filters=filters
    )
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    fast_file, slow_file = tmp_path / "fast" / spec.file_name, tmp_path / "slow" / spec.file_name
    if fmt == "parquet":
        fast_table = pq.read_table(fast_file)
        assert 0 < fast_table.num_rows < 8 or "cohort_ids" in filters
        assert fast_table.equals(pq.read_table(slow_file))
    else:
        assert fast_file.read_bytes() == slow_file.read_bytes()
    assert fast["counts"] == slow["counts"]
    assert fast["agreement"] == slow["agreement"]


@pytest.mark.postgres
def test_the_postgres_parquet_path_leaves_edits_after_the_snapshot_to_the_row_path(
    postgres, graded_queue, workspace, tmp_path
):
    before, _ = _export(workspace, tmp_path, "judgments", "parquet", name="before")
    judgment = Judgment.objects.order_by("pk").first()
    criteria = list(graded_queue.rubric_version.criteria.all())
    later = SNAPSHOT + timedelta(hours=1)
    edit_judgment(judgment, criteria, {"accuracy": 1, "harm": "severe", "safe": "fail"}, now=later)
    after, _ = _export(workspace, tmp_path, "judgments", "parquet", name="after")
    assert pq.read_table(before).equals(pq.read_table(after))


def _pair_rows(votes, output_b="Answer B"):
    from evals.exports.rows import Row

    return [
        Row(
            n,
            7,
            1,
            "q",
            "Which is better?",
            [],
            "Answer A",
            "m",
            "v1",
            {},
            n,
            1,
            0,
            1,
            BASE_TIME,
            BASE_TIME,
            {"preference": vote},
            output_b,
            "m",
            "v2",
        )
        for n, vote in enumerate(votes)
    ]


def _pair_shape(workspace, keep_ties=False):
    from evals.exports.shapes import PreferenceShape

    spec = exports.parse_spec(
        workspace, shape="preferences", format="jsonl", snapshot_at=SNAPSHOT, keep_ties=keep_ties
    )
    ctx = exports.Context(workspace, spec, [], {}, {})
    return PreferenceShape(ctx)


def test_preference_pairs_take_the_majority_as_chosen(workspace):
    shape = _pair_shape(workspace)
    (row,) = shape.rows(_pair_rows(["b", "b", "a"]), None, None)
    item_id, prompt, chosen, rejected, label, judgments, share, *versions = row
    assert prompt == [{"role": "user", "content": "Which is better?"}]
    assert chosen == [{"role": "assistant", "content": "Answer B"}]
    assert rejected == [{"role": "assistant", "content": "Answer A"}]
    assert (label, judgments, share) == ("b", 3, pytest.approx(2 / 3, abs=1e-6))
    assert versions == ["v2", "v1"]  # chosen is B's answer, so is its model version
    assert shape.schema().names[-2:] == ["chosen_model_version", "rejected_model_version"]
    (row,) = shape.rows(_pair_rows(["a", "b", "a"]), None, None)
    assert row[-2:] == ["v1", "v2"]


def test_preference_ties_and_both_bad_are_dropped_unless_kept(workspace):
    assert _pair_shape(workspace).rows(_pair_rows(["tie", "tie"]), None, None) == []
    assert _pair_shape(workspace).rows(_pair_rows(["a", "b"]), None, None) == []  # no majority
    kept = _pair_shape(workspace, keep_ties=True).rows(_pair_rows(["both_bad"]), None, None)
    assert kept[0][4] == "both_bad"


def test_items_without_a_second_output_give_no_pairs(graded_queue, workspace, tmp_path):
    assert _pair_shape(workspace).rows(_pair_rows(["a"], output_b=None), None, None) == []
    path, manifest = _export(workspace, tmp_path, "preferences", "parquet")
    assert pq.read_table(path).num_rows == 0 and manifest["counts"]["rows"] == 0


@pytest.mark.postgres
@pytest.mark.parametrize("way", ["columns", "query"])
def test_the_postgres_copy_path_counts_agreement_over_more_criteria_than_a_function_takes(
    postgres, workspace, clinicians, reviewer, second_reviewer, tmp_path, monkeypatch, way
):
    from evals.exports import agreement as export_agreement
    from tests.evals.conftest import grade_queue
    from tests.factories import make_queue, published_rubric

    criteria = [{"key": f"c{n}", "name": f"Check {n}", "kind": "pass_fail"} for n in range(120)]
    queue = make_queue(
        workspace, cohorts=[clinicians], k=2, items=3, rubric_version=published_rubric(
            workspace, criteria
        ), order="oldest"
    )  # fmt: skip
    answers = [{f"c{n}": (n % (s + 2) == 0) for n in range(120)} for s in range(4)]
    grade_queue(queue, [reviewer, second_reviewer], answers)
    if way == "query":  # the JSON query builds its arrays 50 criteria at a time
        monkeypatch.setattr(export_agreement, "countable_from_columns", lambda ctx: False)
    spec = exports.parse_spec(workspace, shape="judgments", format="jsonl", snapshot_at=SNAPSHOT)
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    assert fast["agreement"] == slow["agreement"]
    assert fast["agreement"]["items_with_agreement"] == 3
    assert 0 < fast["agreement"]["mean_item_agreement"] < 1
