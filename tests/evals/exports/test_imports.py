import csv
import json

import pytest
from django.contrib.auth import get_user_model

from annotate.models import Cohort, ImportedReviewer, Item, Judgment, Membership
from evals.exports.imports import ImportFileError, import_judgments
from tests.evals.exports.test_exports import _export, _read
from tests.factories import WorkspaceFactory, make_queue

ID_COLUMNS = {"judgment_id", "item_id", "queue_id"}


def _without_ids(rows):
    return [{k: v for k, v in row.items() if k not in ID_COLUMNS} for row in rows]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_import_into_an_empty_workspace_and_export_again_gives_the_same_judgments(
    graded_queue, workspace, tmp_path, fmt
):
    first, _ = _export(workspace, tmp_path, "judgments", fmt, name="first")
    empty = WorkspaceFactory(slug="empty")
    target = make_queue(empty, k=2, name=graded_queue.name)
    result = import_judgments(target, first, fmt)
    assert result.errors == []
    assert result.created == 8 and result.items_created == 4 and result.reviewers_created == 2
    second, _ = _export(empty, tmp_path, "judgments", fmt, name="second")
    assert _without_ids(_read(second, fmt)) == _without_ids(_read(first, fmt))
    target.refresh_from_db()
    assert target.items_total == 4 and target.items_complete == 4


def test_imported_reviewers_are_inactive_users_without_passwords_in_their_cohorts(
    graded_queue, workspace, tmp_path
):
    path, _ = _export(workspace, tmp_path, "judgments", "jsonl")
    empty = WorkspaceFactory(slug="empty")
    import_judgments(make_queue(empty, k=2), path, "jsonl")
    imported = ImportedReviewer.objects.filter(workspace=empty).select_related("user")
    assert imported.count() == 2
    for entry in imported:
        assert entry.user.username.startswith("imported-")
        assert not entry.user.is_active and not entry.user.has_usable_password()
        assert Membership.objects.get(workspace=empty, user=entry.user).role == "reviewer"
    assert Cohort.objects.get(workspace=empty, name="Clinicians").members.count() == 2


def test_importing_the_same_file_twice_adds_nothing(graded_queue, workspace, tmp_path):
    path, _ = _export(workspace, tmp_path, "judgments", "csv")
    empty = WorkspaceFactory(slug="empty")
    queue = make_queue(empty, k=2)
    import_judgments(queue, path, "csv")
    again = import_judgments(queue, path, "csv")
    assert (again.rows, again.created, again.duplicate, again.refused) == (8, 0, 8, 0)
    assert again.errors == []
    assert Judgment.objects.filter(queue=queue).count() == 8
    assert Item.objects.filter(queue=queue).count() == 4
    assert get_user_model().objects.filter(username__startswith="imported-").count() == 2


def test_bad_rows_are_reported_by_row_and_the_good_ones_kept(workspace, tmp_path):
    queue = make_queue(workspace, k=3)
    path = tmp_path / "labels.csv"
    header = ["input_text", "output", "reviewer", "answer_accuracy", "answer_harm", "answer_safe"]
    rows = [
        ["Q1", "A1", "dr-a", "4", "none", "pass"],
        ["Q1", "A1", "dr-b", "9", "none", "pass"],  # out of range
        ["Q2", "", "dr-a", "3", "none", "pass"],  # no output
        ["Q2", "A2", "", "3", "none", "pass"],  # no reviewer
        ["Q2", "A2", "dr-a", "3", "awful", "pass"],  # unknown option
        ["Q2", "A2", "dr-b", "3", "mild", "fail"],
    ]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    result = import_judgments(queue, path, "csv")
    assert result.created == 2
    assert [e["row"] for e in result.errors] == [2, 3, 4, 5]
    assert "accuracy" in result.errors[0]["message"]
    assert Judgment.objects.filter(queue=queue).count() == 2


def test_a_jsonl_line_that_is_not_an_object_is_a_row_error(workspace, tmp_path):
    queue = make_queue(workspace)
    path = tmp_path / "labels.jsonl"
    good = {
        "output": "A",
        "reviewer": "x",
        "answer_accuracy": 3,
        "answer_harm": "none",
        "answer_safe": True,
    }
    path.write_text("[1, 2]\n{broken\n" + json.dumps(good) + "\n")
    result = import_judgments(queue, path, "jsonl")
    assert result.created == 1 and [e["row"] for e in result.errors] == [1, 2]


def test_more_judgments_than_the_queue_needs_are_refused_per_row(graded_queue, workspace, tmp_path):
    path, _ = _export(workspace, tmp_path, "judgments", "jsonl")
    empty = WorkspaceFactory(slug="empty")
    result = import_judgments(make_queue(empty, k=1), path, "jsonl")
    assert result.created == 4 and len(result.errors) == 4


def test_a_file_that_is_not_parquet_is_refused_as_a_whole(workspace, tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("not parquet")
    with pytest.raises(ImportFileError):
        import_judgments(make_queue(workspace), path, "parquet")


def test_importing_an_export_back_into_its_own_workspace_matches_the_real_reviewers(
    graded_queue, workspace, tmp_path
):
    path, _ = _export(workspace, tmp_path, "judgments", "jsonl")
    result = import_judgments(graded_queue, path, "jsonl")
    assert result.created == 0 and result.reviewers_created == 0
    assert result.duplicate == 8 and result.errors == []


def test_a_row_that_differs_from_the_reviewers_judgment_is_refused_not_a_duplicate(
    graded_queue, workspace, tmp_path
):
    path, _ = _export(workspace, tmp_path, "judgments", "jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    judgment = Judgment.objects.get(pk=rows[0]["judgment_id"])
    rows[0]["answer_accuracy"] = 1 if rows[0]["answer_accuracy"] != 1 else 2
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = import_judgments(graded_queue, path, "jsonl")
    assert (result.created, result.duplicate, result.refused) == (0, 7, 1)
    assert result.errors == [
        {"row": 1, "message": "This reviewer already has a different judgment on this item."}
    ]
    assert Judgment.objects.get(pk=judgment.pk).answers == judgment.answers  # never overwritten


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"output": "A\u0000"}, "output: contains a NUL character"),
        ({"answer_comment": "fine\ud800"}, "answer_comment: contains a lone surrogate"),
        ({"item_metadata": {"k\u0000": 1}}, "item_metadata key 'k\\x00' contains a NUL"),
    ],
)
def test_a_row_with_text_that_cannot_be_stored_is_a_row_error(workspace, tmp_path, change, message):
    """json.dumps writes the "\\u0000" and "\\ud800" escapes a client's file would hold."""
    queue = make_queue(workspace)
    good = {
        "input_text": "Q",
        "output": "A",
        "reviewer": "x",
        "answer_accuracy": 3,
        "answer_harm": "none",
        "answer_safe": True,
    }
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "reviewer": "y", **change}))
    result = import_judgments(queue, path, "jsonl")
    assert result.created == 1
    ((error),) = result.errors
    assert error["row"] == 2 and message in error["message"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"garbage", "it has no output, reviewer columns"),
        (b"output,answer_accuracy\nA,3\n", "it has no reviewer column"),
        (b"", "The CSV file has no header row"),
    ],
)
def test_a_file_in_another_shape_is_refused_as_a_whole(workspace, tmp_path, content, message):
    """Junk, or a file without the columns every row needs, is not imported as N bad rows."""
    path = tmp_path / "junk.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        import_judgments(make_queue(workspace), path, "csv")


def test_a_jsonl_file_without_one_json_object_is_refused_as_a_whole(workspace, tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n[1, 2]\n")
    with pytest.raises(ImportFileError, match="No line of the file is a JSON object"):
        import_judgments(make_queue(workspace), path, "jsonl")


def test_a_row_naming_a_members_pseudonym_is_never_written_in_that_members_name(
    graded_queue, workspace, reviewer, tmp_path
):
    """A token with the imports scope must not forge a live reviewer's judgments."""
    path, _ = _export(workspace, tmp_path, "judgments", "jsonl")
    rows = _read(path, "jsonl")
    [own] = [row for row in rows if row["reviewer"] == rows[0]["reviewer"]][:1]
    forged = {**own, "input_text": "A forged question", "output": "A forged answer"}
    other = make_queue(workspace, k=2, name="Another queue")
    forged_path = tmp_path / "forged.jsonl"
    forged_path.write_text(json.dumps(forged) + "\n")
    result = import_judgments(other, forged_path, "jsonl")
    assert (result.created, result.refused) == (1, 0), result.errors
    judgment = Judgment.objects.get(queue=other)
    assert judgment.reviewer.username.startswith("imported-")
    assert not judgment.reviewer.is_active
    assert not Judgment.objects.filter(queue=other, reviewer__is_active=True).exists()


def test_a_csv_file_with_a_field_over_131072_characters_is_imported(
    graded_queue, workspace, tmp_path
):
    path, _ = _export(workspace, tmp_path, "judgments", "csv")
    rows = _read(path, "csv")
    rows[0]["output"] = "x" * 300_000
    big = tmp_path / "big.csv"
    with big.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    target = make_queue(WorkspaceFactory(slug="big"), k=2)
    result = import_judgments(target, big, "csv")
    assert result.errors == [] and result.created == len(rows)
    assert Item.objects.filter(queue=target, output="x" * 300_000).exists()
