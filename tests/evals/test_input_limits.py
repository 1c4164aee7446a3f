"""The evals pages' hand-parsed inputs hold to the same rules as the API: text that can
be stored (no NUL, no lone surrogate), numbers in range. Each is refused with a message
where it was typed, and nothing is saved; before, these were database errors (500)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotate import adjudication
from annotate.models import ApiToken, Item
from evals.exports.spec import ExportError, parse_filters
from evals.ingest import redaction
from evals.ingest.pipeline import validate_mapping
from evals.ingest.uploads import read_csv_header
from evals.models import Job, Source
from tests.annotate.test_gold_page import _post as post_gold
from tests.factories import make_queue


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tol-accuracy": "inf"}, "The tolerance must be a number."),
        ({"tol-accuracy": "nan"}, "The tolerance must be a number."),
        ({"tol-accuracy": "1e308"}, "Keep the tolerance to 1,000,000 or less."),
        ({"input": "Q\x00"}, "This text contains a NUL character"),
        ({"explanation": "E\x00"}, "This text contains a NUL character"),
    ],
)
def test_a_gold_item_with_a_bad_value_is_refused_beside_it(
    client, workspace, author, fields, message
):
    queue = make_queue(workspace)
    client.force_login(author)
    response = post_gold(client, workspace, queue, **fields)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Item.objects.filter(queue=queue).exists()


def test_an_adjudication_note_with_a_nul_is_refused(workspace, admin_user):
    queue = make_queue(workspace, items=1)
    criteria = list(queue.rubric_version.criteria.all())
    answers = {"accuracy": "4", "safe": "pass", "harm": "none"}
    final, errors = adjudication.record(
        queue, queue.items.get(), admin_user, criteria, answers, "why\x00"
    )
    assert final is None and "NUL" in errors["note"]


def test_an_upload_to_a_source_named_with_a_nul_is_refused(client, engineer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(engineer)
    response = client.post(
        "/w/patient-messages/logs/upload/",
        {"file": SimpleUploadedFile("logs.jsonl", b"{}\n"), "source": "app\x00"},
    )
    assert response.status_code == 422
    assert "The source name contains a NUL character" in response.content.decode()
    assert not Source.objects.exists() and not Job.objects.exists()


def test_a_csv_header_with_a_nul_is_read_with_a_replacement_character(tmp_path):
    path = tmp_path / "logs.csv"
    path.write_bytes(b"output,to\x00pic\nhello,meds\n")
    assert read_csv_header(path) == ["output", "to\ufffdpic"]


def test_a_column_mapped_to_a_field_with_a_nul_is_a_mapping_problem():
    problems = validate_mapping(["output", "x"], {"output": "output", "x": "metadata.t\x00"})
    assert problems == ["The field 'metadata.t\\x00' contains a NUL character (\\u0000)."]


def test_a_redaction_pattern_with_a_nul_is_refused():
    with pytest.raises(redaction.RedactionConfigError, match="contains a NUL"):
        redaction.validate_config({"record_patterns": ["MRN\x00\\d+"]})


@pytest.mark.parametrize(
    "filters",
    [
        {"model_versions": ["v1\x00"]},
        {"model_versions": "v1,\ud800"},
        {"queue_ids": ["9" * 30]},
        {"cohort_ids": [0]},
        {"since": "0001-01-01T00:00:00+01:00"},
    ],
)
def test_export_filters_that_no_database_could_compare_are_refused(filters):
    with pytest.raises(ExportError):
        parse_filters(filters)


def test_a_token_named_with_a_nul_is_refused(client, workspace, admin_user):
    client.force_login(admin_user)
    data = {"name": "bot\x00", "scopes": ["read"], "expires": "90"}
    response = client.post(reverse("api-tokens", args=[workspace.slug]), data)
    assert response.status_code == 422
    assert "The name contains a NUL character" in response.content.decode()
    assert not ApiToken.objects.exists()
