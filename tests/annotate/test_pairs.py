"""Creating pairs: by code, by hand on the authors' page, and from uploaded files."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotate.models import Item
from annotate.pairs import create_pair_items, import_pairs_file
from evals.models import Log, Source
from tests.annotate.pairwise_helpers import make_pairwise_queue, pair_rows
from tests.factories import make_queue


def test_create_pair_items_snapshots_both_outputs_and_counts_them(workspace):
    queue = make_pairwise_queue(workspace)
    result = create_pair_items(queue, pair_rows(3))
    assert result.ok and len(result.created) == 3
    item = Item.objects.get(pk=result.created[0].pk)
    assert item.output.startswith("Left-or-right text ALPHA 0")
    assert item.output_b.startswith("Left-or-right text BETA 0")
    assert (item.model_version, item.model_version_b) == ("v1", "v2")
    queue.refresh_from_db()
    assert queue.items_total == 3


def test_a_pair_with_identical_outputs_is_refused_and_the_others_kept(workspace):
    queue = make_pairwise_queue(workspace)
    rows = pair_rows(2)
    rows[1]["output_b"] = "  " + rows[1]["output_a"].replace(" ", "   ") + "\n"
    result = create_pair_items(queue, rows)
    assert len(result.created) == 1
    assert result.errors == [
        (2, "The two outputs are identical; a pair needs two different outputs.")
    ]


def test_pairs_cannot_go_into_a_rubric_queue(workspace):
    queue = make_queue(workspace)
    with pytest.raises(ValueError, match="pairwise"):
        create_pair_items(queue, pair_rows(1))


def test_a_jsonl_file_reports_bad_lines_and_keeps_the_good_ones(workspace):
    queue = make_pairwise_queue(workspace)
    good = pair_rows(2)
    lines = [
        json.dumps(good[0]),
        "{not json",
        json.dumps({"input": "q", "output_a": "x"}),
        "",
        json.dumps(["a list"]),
        json.dumps(good[1]),
    ]
    result = import_pairs_file(queue, "pairs.jsonl", "\n".join(lines).encode())
    assert len(result.created) == 2
    assert [line for line, _ in result.errors] == [2, 3, 5]
    assert result.errors[1][1] == "Missing output_b."


def test_a_csv_file_keeps_extra_columns_as_metadata_and_reports_missing_fields(workspace):
    queue = make_pairwise_queue(workspace)
    text = (
        "input,output_a,output_b,model_a,model_b,topic\n"
        "How much water?,Two litres.,Eight glasses.,m1,m2,hydration\n"
        ",Only A,Only B,m1,m2,x\n"
    )
    result = import_pairs_file(queue, "pairs.csv", text.encode())
    assert len(result.created) == 1
    assert result.created[0].metadata == {"topic": "hydration"}
    assert result.errors == [(3, "Missing input.")]


def test_authors_add_a_pair_by_hand(client, workspace, author):
    queue = make_pairwise_queue(workspace)
    client.force_login(author)
    url = reverse("pairs", args=[workspace.slug, queue.pk])
    assert client.get(url).status_code == 200
    pair = {"input": "Q?", "output_a": "One.", "output_b": "Two.", "model_a": "m"}
    response = client.post(url, {**pair, "version_a": "1", "model_b": "m", "version_b": "2"})
    assert response.status_code == 302
    assert Item.objects.filter(queue=queue, output_b="Two.", model_version_b="2").exists()


def test_the_hand_form_shows_why_a_pair_was_refused(client, workspace, author):
    queue = make_pairwise_queue(workspace)
    client.force_login(author)
    url = reverse("pairs", args=[workspace.slug, queue.pk])
    response = client.post(url, {"input": "Q?", "output_a": "Same.", "output_b": "Same."})
    assert response.status_code == 422
    assert "The two outputs are identical" in response.content.decode()
    assert not Item.objects.filter(queue=queue).exists()


def test_an_upload_with_some_bad_lines_adds_the_good_ones_and_lists_the_rest(
    client, workspace, author
):
    queue = make_pairwise_queue(workspace)
    client.force_login(author)
    body = json.dumps(pair_rows(1)[0]) + "\n" + json.dumps({"output_a": "a", "output_b": "b"})
    upload = SimpleUploadedFile("pairs.jsonl", body.encode(), content_type="application/json")
    response = client.post(reverse("pairs", args=[workspace.slug, queue.pk]), {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Added 1 pair" in page and "Line 2: Missing input." in page
    assert Item.objects.filter(queue=queue).count() == 1


def test_only_authors_and_admins_add_pairs(client, workspace, reviewer, engineer, outsider):
    queue = make_pairwise_queue(workspace)
    url = reverse("pairs", args=[workspace.slug, queue.pk])
    client.force_login(reviewer)
    assert client.get(url).status_code == 403
    client.force_login(engineer)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_the_pairs_page_is_404_for_a_rubric_queue(client, workspace, author):
    queue = make_queue(workspace)
    client.force_login(author)
    assert client.get(reverse("pairs", args=[workspace.slug, queue.pk])).status_code == 404


def test_the_workspace_page_links_a_pairwise_queue_to_its_pairs_and_results(
    client, workspace, author
):
    queue = make_pairwise_queue(workspace)
    client.force_login(author)
    body = client.get(reverse("workspace", args=[workspace.slug])).content.decode()
    assert reverse("pairs", args=[workspace.slug, queue.pk]) in body
    assert reverse("leaderboard", args=[workspace.slug, queue.pk]) in body


BAD_TEXT = [
    ({"output_a": "a\u0000b"}, "output_a: contains a NUL character"),
    ({"input": "\ud800"}, "input: contains a lone surrogate"),
    ({"metadata": {"topic": "x\u0000"}}, "metadata['topic']: contains a NUL"),
    ({"metadata": {"a\u0000": 1}}, "metadata key 'a\\x00' contains a NUL"),
    ({"model_b": "m\u0000"}, "model_b: contains a NUL"),
]


@pytest.mark.parametrize(("change", "message"), BAD_TEXT)
def test_a_row_with_text_that_cannot_be_stored_is_refused_by_line(workspace, change, message):
    queue = make_pairwise_queue(workspace)
    good, bad = pair_rows(2)
    result = create_pair_items(queue, [good, {**bad, **change}])
    assert len(result.created) == 1
    (line, error), *_ = result.errors
    assert line == 2 and message in error


def test_an_upload_with_a_nul_keeps_its_good_rows(client, workspace, author):
    """json.dumps writes "\\u0000" and "\\ud800" escapes: one such line used to lose the file."""
    queue = make_pairwise_queue(workspace)
    client.force_login(author)
    rows = pair_rows(3)
    rows[1]["output_a"] = "a\u0000b"
    rows[2]["metadata"] = {"note": "\ud800"}
    body = "\n".join(json.dumps(row) for row in rows)
    upload = SimpleUploadedFile("pairs.jsonl", body.encode(), content_type="application/json")
    response = client.post(reverse("pairs", args=[workspace.slug, queue.pk]), {"file": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Added 1 pair" in page and "Line 2: output_a: contains a NUL" in page
    assert "Line 3: metadata[&#x27;note&#x27;]: contains a lone surrogate" in page
    assert Item.objects.filter(queue=queue).count() == 1


def test_a_csv_upload_with_a_raw_nul_keeps_its_good_rows(workspace):
    queue = make_pairwise_queue(workspace)
    data = b"input,output_a,output_b\nQ1,yes,no\nQ2,a\x00b,c\n"
    result = import_pairs_file(queue, "pairs.csv", data)
    assert len(result.created) == 1
    assert result.errors == [(3, "output_a: contains a NUL character (\\u0000).")]


def test_a_pair_from_a_log_of_another_workspace_is_refused_by_line(workspace, outsider):
    other = outsider.memberships.get().workspace
    source = Source.objects.create(workspace=other, name="theirs")
    log = Log.objects.create(
        workspace=other, source=source, external_id="x", output="o", timestamp=other.created_at
    )
    queue = make_pairwise_queue(workspace)
    good, theirs, huge = pair_rows(3)
    rows = [good, {**theirs, "source_log_id": log.pk}, {**huge, "source_log_id": 2**70}]
    result = create_pair_items(queue, rows)
    assert len(result.created) == 1
    assert result.errors == [
        (2, f"source_log_id {log.pk} is not a log of this workspace."),
        (3, "source_log_id is not the id of a log."),
    ]
