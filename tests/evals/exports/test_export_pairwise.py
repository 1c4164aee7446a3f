"""Pairwise judgments in the judgments and items exports, and their import into a pairwise
queue: both outputs and their models, the preference, where it was shown, the agreement."""

import json
import random
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from annotate.models import Adjudication, Item, Judgment, Queue
from annotate.pairwise import claim_pair, submit_pair
from evals.exports import pg as export_pg
from evals.exports import pg_parquet as export_pg_parquet
from evals.exports import pipeline as exports
from evals.exports.imports import ImportFileError, import_judgments
from evals.exports.shapes import pair_share
from evals.exports.writers import unneutralize
from evals.results.agreement import queue_report
from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.evals.conftest import BASE_TIME
from tests.evals.exports.test_exports import SNAPSHOT, _export, _read
from tests.evals.exports.test_imports import _without_ids
from tests.factories import WorkspaceFactory

FORMATS = ["csv", "jsonl", "parquet"]
# Screen answers, in order of grading (two reviewers, four pairs each).
PAIR_ANSWERS = [
    {
        "choice": "left",
        "strength": "2",
        "rationale": "=Left is right",
        "criteria": {"accuracy": "left"},
    },
    {"choice": "right", "strength": "1", "rationale": "", "criteria": {"accuracy": "tie"}},
    {"choice": "tie", "strength": "", "rationale": "Line one\nline, two", "criteria": {}},
    {"choice": "both_bad", "rationale": "-both wrong", "criteria": {"accuracy": "right"}},
    {"choice": "left", "strength": "1", "rationale": "Same.", "criteria": {"accuracy": "left"}},
    {"choice": "left", "strength": "2", "rationale": "", "criteria": {}},
    {"choice": "tie", "rationale": "", "criteria": {"accuracy": "tie"}},
    {"choice": "right", "strength": "2", "rationale": "@B", "criteria": {"accuracy": "right"}},
]
PAIR_COLUMNS = [
    "output_a", "model_name_a", "model_version_a", "output_b", "model_name_b", "model_version_b",
    "preferred", "preferred_model_name", "preferred_model_version", "shown_left",
    "preferred_side", "strength", "rationale", "preference_accuracy",
]  # fmt: skip


def grade_pairs(queue, reviewers, answers=PAIR_ANSWERS, seed=3):
    """Every reviewer judges every pair they can claim, sides placed by a seeded rng."""
    criteria = list(queue.rubric_version.criteria.all())
    rng = random.Random(seed)
    n = 0
    for reviewer in reviewers:
        while (task := claim_pair(queue, reviewer, rng=rng)) is not None:
            when = BASE_TIME + timedelta(minutes=n)
            result = submit_pair(queue, task, criteria, answers[n % len(answers)], now=when)
            assert result.answers is not None and not result.errors, result.errors
            n += 1


@pytest.fixture
def graded_pairs(workspace, clinicians, reviewer, second_reviewer) -> Queue:
    queue = make_pairwise_queue(
        workspace, cohorts=[clinicians], k=2, pairs=4, order=Queue.Order.OLDEST, name="Pairs"
    )
    first, second = queue.items.order_by("pk")[:2]
    # Text a spreadsheet would run, in every kind of column of a pair.
    Item.objects.filter(pk=first.pk).update(
        input_text="@SUM(A1:A2) which is safer?", output_b="-10 mg", model_version_b="=v2"
    )
    Item.objects.filter(pk=second.pk).update(
        metadata={"topic": "dosage", "b": [1, "x\ty"]}, model_name="+assistant"
    )
    grade_pairs(queue, [reviewer, second_reviewer])
    return queue


def _pairs_export(workspace, tmp_path, queue, shape="judgments", fmt="jsonl", name="out", **kw):
    return _export(
        workspace, tmp_path, shape, fmt, name=name, filters={"queue_ids": [queue.pk]}, **kw
    )


def _typed(rows, fmt):
    """Rows as JSONL gives them (CSV cells are text, empty for null, formulas neutralized)."""
    if fmt != "csv":
        return rows
    return [{k: (None if v == "" else unneutralize(v)) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_pairwise_judgment_is_exported_with_both_outputs_and_the_preference(
    graded_pairs, workspace, tmp_path, fmt
):
    path, manifest = _pairs_export(workspace, tmp_path, graded_pairs, fmt=fmt)
    rows = _read(path, fmt)
    assert len(rows) == 8 and manifest["counts"]["judgments"] == 8
    names = list(rows[0])
    assert [name for name in names if name in PAIR_COLUMNS] == PAIR_COLUMNS
    # A pair has no single output, and its answers are not criteria's.
    assert "output" not in names and not [n for n in names if n.startswith("answer_")]
    items = {item.pk: item for item in graded_pairs.items.all()}
    judgments = {j.pk: j for j in Judgment.objects.filter(queue=graded_pairs)}
    for row in _typed(rows, fmt):
        judgment = judgments[int(row["judgment_id"])]
        item, answers = items[judgment.item_id], judgment.answers
        assert (row["output_a"], row["output_b"]) == (item.output, item.output_b)
        assert (row["model_version_a"], row["model_version_b"]) == (
            item.model_version,
            item.model_version_b,
        )
        assert row["preferred"] == answers["preference"]
        chosen = {"a": item.model_version, "b": item.model_version_b}.get(answers["preference"])
        assert row["preferred_model_version"] == chosen
        assert row["shown_left"] == ("a" if answers["a_on_left"] else "b")
        assert (
            row["preferred_side"]
            == {True: "left", False: "right", None: None}[answers["chose_left"]]
        )
        strength = answers["strength"]
        assert row["strength"] == (str(strength) if fmt == "csv" and strength else strength)
        assert row["rationale"] == (
            answers["rationale"] or None if fmt == "csv" else answers["rationale"]
        )
        assert row["preference_accuracy"] == answers["criteria"].get("accuracy")
        assert row["reviewer"].startswith("r-") and row["cohorts"] == "Clinicians"
    if fmt == "csv":
        text = path.read_text()
        assert "'=Left is right" in text and "'-10 mg" in text and "'=v2" in text
        assert "'@SUM(A1:A2)" in text and "'+assistant" in text


def test_the_columns_are_the_same_in_every_format(graded_pairs, workspace, tmp_path):
    names = []
    for fmt in FORMATS:
        path, _ = _pairs_export(workspace, tmp_path, graded_pairs, fmt=fmt, name=fmt)
        names.append(pq.read_schema(path).names if fmt == "parquet" else list(_read(path, fmt)[0]))
    assert names[0] == names[1] == names[2]


def test_the_preferred_model_version_follows_the_output_not_the_side(
    workspace, clinicians, reviewer, second_reviewer, tmp_path
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], k=2, pairs=6)
    # Everyone picks the left side; sides are balanced, so both outputs get picked.
    grade_pairs(queue, [reviewer, second_reviewer], [{"choice": "left", "strength": "2"}])
    path, _ = _pairs_export(workspace, tmp_path, queue)
    rows = _read(path, "jsonl")
    assert {row["preferred_side"] for row in rows} == {"left"}
    assert {(row["shown_left"], row["preferred"]) for row in rows} == {("a", "a"), ("b", "b")}
    for row in rows:
        expected = row["model_version_a"] if row["shown_left"] == "a" else row["model_version_b"]
        assert row["preferred_model_version"] == expected
    assert {row["preferred_model_version"] for row in rows} == {"v1", "v2"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_items_of_a_pairwise_queue_carry_the_preference_agreement_and_majority(
    graded_pairs, workspace, tmp_path, fmt
):
    path, manifest = _pairs_export(workspace, tmp_path, graded_pairs, "items", fmt)
    rows = _typed(_read(path, fmt), fmt)
    assert len(rows) == 4
    assert "output_a" in rows[0] and "output_b" in rows[0] and "consensus_preferred" in rows[0]
    votes: dict[int, list[str]] = {}
    for judgment in Judgment.objects.filter(queue=graded_pairs):
        votes.setdefault(judgment.item_id, []).append(judgment.answers["preference"])
    for row in rows:
        item_votes = votes[int(row["item_id"])]
        assert float(row["agreement"]) == round(pair_share(item_votes), 6)
        majority = item_votes[0] if len(set(item_votes)) == 1 else None
        assert row["consensus_preferred"] == majority
    # The figure the queue's agreement report gives (two judgments an item: the mean).
    report = queue_report(graded_pairs, resamples=0)
    [section] = [s for s in report["criteria"] if s["key"] == "preference"]
    percent = section["overall"]["coefficients"]["percent_agreement"]["value"]
    assert manifest["agreement"]["mean_item_agreement"] == pytest.approx(percent)
    assert manifest["agreement"]["items_with_agreement"] == 4
    assert "overall preference" in manifest["agreement"]["method"]


def test_an_adjudicated_preference_is_the_items_consensus(
    graded_pairs, workspace, admin_user, tmp_path
):
    item = graded_pairs.items.order_by("pk").last()
    Adjudication.objects.create(
        item=item, queue=graded_pairs, adjudicator=admin_user, answers={"preference": "b"}
    )
    path, _ = _pairs_export(workspace, tmp_path, graded_pairs, "items")
    row = next(r for r in _read(path, "jsonl") if r["item_id"] == item.pk)
    assert row["adjudicated"] is True and row["consensus_preferred"] == "b"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_pairwise_export_imported_into_a_fresh_pairwise_queue_exports_the_same(
    graded_pairs, workspace, tmp_path, fmt
):
    first, _ = _pairs_export(workspace, tmp_path, graded_pairs, fmt=fmt, name="first")
    empty = WorkspaceFactory(slug="empty")
    target = make_pairwise_queue(empty, k=2, name=graded_pairs.name)
    result = import_judgments(target, first, fmt)
    assert result.errors == []
    assert (result.created, result.items_created, result.reviewers_created) == (8, 4, 2)
    second, _ = _export(empty, tmp_path, "judgments", fmt, name="second")
    assert _without_ids(_read(second, fmt)) == _without_ids(_read(first, fmt))
    if fmt != "parquet":  # the same bytes, but for the ids
        assert _strip_ids(second, fmt) == _strip_ids(first, fmt)
    target.refresh_from_db()
    assert target.items_total == 4 and target.items_complete == 4
    again = import_judgments(target, first, fmt)
    assert (again.created, again.duplicate, again.refused) == (0, 8, 0)


def _strip_ids(path, fmt) -> list[str]:
    """The file's lines with the id cells (the first three columns) blanked."""
    lines = path.read_text().splitlines()
    if fmt == "csv":
        return [",".join(["", "", ""] + line.split(",")[3:]) for line in lines]
    return [line.split(',"queue":', 1)[1] for line in lines]


def test_a_pair_row_is_checked_like_a_reviewers_answer(workspace, tmp_path):
    queue = make_pairwise_queue(workspace, k=2, rationale_required=True, rationale_min_length=3)
    base = {
        "input_text": "Q",
        "output_a": "A",
        "output_b": "B",
        "reviewer": "x",
        "rationale": "Why",
    }
    rows = [
        {**base, "preferred": "a", "shown_left": "b", "strength": 2},
        {**base, "reviewer": "y", "preferred": "left"},
        {**base, "reviewer": "y", "preferred": "a", "shown_left": "left"},
        {**base, "reviewer": "y", "preferred": "a", "preference_accuracy": "left"},
        {**base, "reviewer": "y", "preferred": "a", "preference_unknown": "a"},
        {**base, "reviewer": "y", "preferred": "a", "rationale": ""},
        {**base, "reviewer": "y", "preferred": "a", "strength": 3},
        {**base, "reviewer": "y", "preferred": "a", "output_b": " A "},
        {**base, "reviewer": "y", "preferred": "tie", "strength": 2},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = import_judgments(queue, path, "jsonl")
    assert result.created == 2 and result.refused == 7
    messages = [e["message"] for e in result.errors]
    assert messages[0] == "preferred must be a, b, tie or both_bad."
    assert messages[1] == "shown_left must be a or b."
    assert messages[2] == "preference_accuracy must be a, b or tie."
    assert "preference_unknown" in messages[3]
    assert messages[4].startswith("rationale: Say why")
    assert messages[5].startswith("strength:")
    assert "identical" in messages[6]
    first, tie = Judgment.objects.filter(queue=queue).order_by("pk")
    assert first.answers == {
        "preference": "a",
        "strength": 2,
        "rationale": "Why",
        "criteria": {},
        "a_on_left": False,
        "chose_left": False,
    }
    # No side given: where output A was shown stays unknown; a tie has no strength.
    assert tie.answers["a_on_left"] is None and tie.answers["chose_left"] is None
    assert tie.answers["strength"] is None


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_of_the_other_kind_of_queue_is_refused_as_a_whole(
    graded_queue, graded_pairs, workspace, tmp_path, fmt
):
    pairs, _ = _pairs_export(workspace, tmp_path, graded_pairs, fmt=fmt, name="pairs")
    rubric, _ = _export(
        workspace, tmp_path, fmt=fmt, name="rubric", filters={"queue_ids": [graded_queue.pk]}
    )
    with pytest.raises(ImportFileError, match="of a rubric queue: it has no output column"):
        import_judgments(graded_queue, pairs, fmt)
    with pytest.raises(ImportFileError, match="no output_a, output_b, preferred columns"):
        import_judgments(graded_pairs, rubric, fmt)
    assert Judgment.objects.count() == 16


def test_rubric_and_pairwise_judgments_in_one_export_leave_the_other_kinds_cells_empty(
    graded_queue, graded_pairs, workspace, tmp_path
):
    for fmt in FORMATS:
        path, manifest = _export(workspace, tmp_path, "judgments", fmt, name=f"mixed-{fmt}")
        rows = _typed(_read(path, fmt), fmt)
        assert len(rows) == 16
        rubric = [r for r in rows if int(r["queue_id"]) == graded_queue.pk]
        pairs = [r for r in rows if int(r["queue_id"]) == graded_pairs.pk]
        assert all(r["output"] and r["output_a"] is None and r["preferred"] is None for r in rubric)
        assert all(r["answer_accuracy"] is not None for r in rubric)
        assert all(r["output"] is None and r["answer_accuracy"] is None for r in pairs)
        assert all(r["output_a"] and r["preferred"] for r in pairs)
        assert manifest["agreement"]["items_with_agreement"] == 8


def test_a_rubric_export_is_what_it_was(graded_queue, graded_pairs, workspace, tmp_path):
    path, manifest = _export(workspace, tmp_path, filters={"queue_ids": [graded_queue.pk]})
    names = next(iter(_read(path, "csv"))).keys()
    assert "output" in names and not set(PAIR_COLUMNS) & set(names)
    assert "pairwise" not in manifest["agreement"]["method"]
    assert "preferred" not in manifest["consensus"]


# --- PostgreSQL: the COPY and Arrow paths write what the row path writes ---------------------


@pytest.fixture
def fast_paths(monkeypatch) -> list[str]:
    """The PostgreSQL writers that ran."""

    ran = []
    for module, name in ((export_pg, "write_judgments"), (export_pg_parquet, "write")):
        original = getattr(module, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            ran.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return ran


def _fast_and_slow(workspace, tmp_path, fmt, **filters):
    spec = exports.parse_spec(
        workspace, shape="judgments", format=fmt, snapshot_at=SNAPSHOT, filters=filters
    )
    fast = exports.write_export(workspace, spec, tmp_path / "fast")
    slow = exports.write_export(workspace, spec, tmp_path / "slow", fast=False)
    return (
        spec,
        (tmp_path / "fast" / spec.file_name, fast),
        (tmp_path / "slow" / spec.file_name, slow),
    )


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_postgres_paths_write_pairwise_judgments_as_the_row_path_does(
    postgres, graded_pairs, workspace, tmp_path, fmt, fast_paths
):
    # Rows the page never writes, but an import or an older version may have stored.
    judgments = Judgment.objects.filter(queue=graded_pairs).order_by("pk")
    odd = [
        {"preference": "a", "strength": None, "rationale": None, "criteria": {}},
        {"preference": "b", "strength": 2, "rationale": 7, "a_on_left": None, "chose_left": None},
        {"preference": "", "rationale": "", "criteria": {"accuracy": 1}, "a_on_left": True},
    ]
    for judgment, answers in zip(judgments, odd, strict=False):
        Judgment.objects.filter(pk=judgment.pk).update(answers=answers)
    _, (fast_file, fast), (slow_file, slow) = _fast_and_slow(
        workspace, tmp_path, fmt, queue_ids=[graded_pairs.pk]
    )
    assert fast_paths == ["write" if fmt == "parquet" else "write_judgments"]
    if fmt == "parquet":
        assert pq.read_table(fast_file).equals(pq.read_table(slow_file))
        assert pq.read_schema(fast_file) == pq.read_schema(slow_file)
    else:
        assert fast_file.read_bytes() == slow_file.read_bytes()
    assert fast["counts"] == slow["counts"] and fast["counts"]["judgments"] == 8
    assert fast["agreement"] == slow["agreement"]
    assert fast["agreement"]["items_with_agreement"] == 4


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", FORMATS)
def test_on_postgres_a_mixed_export_is_written_row_by_row(
    postgres, graded_queue, graded_pairs, workspace, tmp_path, fmt, fast_paths
):
    _, (fast_file, fast), (slow_file, slow) = _fast_and_slow(workspace, tmp_path, fmt)
    assert fast_paths == []
    assert fast_file.read_bytes() == slow_file.read_bytes()
    assert fast["agreement"] == slow["agreement"]


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", FORMATS)
def test_on_postgres_a_pairwise_export_round_trips_through_an_import(
    postgres, graded_pairs, workspace, tmp_path, fmt, fast_paths
):
    first, _ = _pairs_export(workspace, tmp_path, graded_pairs, fmt=fmt, name="first")
    empty = WorkspaceFactory(slug="empty")
    target = make_pairwise_queue(empty, k=2, name=graded_pairs.name)
    assert import_judgments(target, first, fmt).created == 8
    second, _ = _export(empty, tmp_path, "judgments", fmt, name="second")
    assert len(fast_paths) == 2
    assert _without_ids(_read(second, fmt)) == _without_ids(_read(first, fmt))
