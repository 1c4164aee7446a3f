import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evals.ingest.uploads import run_ingest_job, upload_dir
from evals.models import Job, Log, Source
from tests.evals.conftest import log_line


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(client, name: str, content: bytes, source: str = "uploads"):
    return client.post(
        "/w/patient-messages/logs/upload/",
        {"file": SimpleUploadedFile(name, content), "source": source},
    )


def test_an_engineer_uploads_jsonl_and_gets_the_report(
    client, engineer, django_capture_on_commit_callbacks
):
    client.force_login(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        response = upload(client, "logs.jsonl", log_line(1) + b"oops\n")
    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == f"/w/patient-messages/logs/upload/{job.pk}/"
    assert (job.workspace.slug, job.params["format"]) == ("patient-messages", "jsonl")
    run_ingest_job(job.pk, inline=True)
    page = client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="count-accepted">1<' in html and 'id="count-rejected">1<' in html
    assert "invalid_json" in html
    assert not upload_dir(job).exists()  # the report lives on, the uploaded copy is gone


def test_the_progress_fragment_is_served_to_htmx(
    client, engineer, django_capture_on_commit_callbacks
):
    client.force_login(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        upload(client, "logs.jsonl", log_line(1))
    job = Job.objects.get()
    response = client.get(f"/w/patient-messages/logs/upload/{job.pk}/", HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<div id="upload-status"')


def test_a_csv_upload_asks_for_the_mapping_with_a_preview(
    client, engineer, django_capture_on_commit_callbacks
):
    client.force_login(engineer)
    csv = b"id,question,answer,topic\nc1,Q1,A1,meds\nc2,Q2,A2,diet\n"
    response = upload(client, "logs.csv", csv)
    job = Job.objects.get()
    assert response.url.endswith(f"/{job.pk}/mapping/")
    page = client.get(response.url).content.decode()
    assert "Q1" in page and "A2" in page
    bad = client.post(response.url, {"col-0": "external_id", "col-1": "input", "col-2": "ignore"})
    assert bad.status_code == 422 and "output" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        ok = client.post(
            response.url,
            {"col-0": "external_id", "col-1": "input", "col-2": "output", "col-3": "metadata"},
        )
    assert ok.status_code == 302
    run_ingest_job(job.pk, inline=True)
    assert Log.objects.get(external_id="c2").metadata == {"topic": "diet"}


def test_a_file_over_the_upload_limit_is_refused(client, engineer, settings):
    settings.QUORUM_UPLOAD_MAX_BYTES = 100
    client.force_login(engineer)
    response = upload(client, "logs.jsonl", log_line(1) + log_line(2))
    assert response.status_code == 422
    assert "file_too_large" in response.content.decode()
    assert not Log.objects.exists()


def test_reviewers_cannot_upload(client, reviewer):
    client.force_login(reviewer)
    assert client.get("/w/patient-messages/logs/upload/").status_code == 403


def test_another_workspace_cannot_see_the_upload(
    client, engineer, outsider, django_capture_on_commit_callbacks
):
    client.force_login(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        upload(client, "logs.jsonl", log_line(1))
    job = Job.objects.get()
    client.force_login(outsider)
    assert client.get(f"/w/patient-messages/logs/upload/{job.pk}/").status_code == 404
    assert client.get(f"/w/other-team/logs/upload/{job.pk}/").status_code == 404


def test_the_redaction_preview_shows_what_would_be_masked(client, engineer, workspace):
    source = Source.objects.create(workspace=workspace, name="app")
    client.force_login(engineer)
    url = f"/w/patient-messages/sources/{source.pk}/redaction/"
    response = client.post(
        url,
        {
            "emails": "1",
            "record_patterns": "MRN\\d{6}",
            "sample": "me@x.org <b>MRN123456</b>",
            "action": "preview",
        },  # fmt: skip
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="redaction-preview"')
    assert '<mark class="masked" title="email">me@x.org</mark>' in html
    assert "&lt;b&gt;" in html and "2 masks" in html
    source.refresh_from_db()
    assert source.redaction == {}


def test_saving_redaction_settings_rejects_a_bad_pattern(client, engineer, workspace):
    source = Source.objects.create(workspace=workspace, name="app")
    client.force_login(engineer)
    url = f"/w/patient-messages/sources/{source.pk}/redaction/"
    bad = client.post(url, {"record_patterns": "MRN(", "action": "save"})
    assert bad.status_code == 422
    client.post(url, {"phones": "1", "record_patterns": "MRN\\d+", "action": "save"})
    source.refresh_from_db()
    assert source.redaction["phones"] and source.redaction["record_patterns"] == ["MRN\\d+"]
