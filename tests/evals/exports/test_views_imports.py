"""The judgment import page: who may use it, the report of a small file, large files as jobs."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from annotate.models import AuditEvent, Judgment, Queue
from evals.exports import import_jobs, imports
from evals.exports.import_jobs import import_dir, run_import_job
from evals.models import Job
from tests.factories import WorkspaceFactory, make_queue

HEADER = ["input_text", "output", "reviewer", "answer_accuracy", "answer_harm", "answer_safe"]
GOOD = [
    ["Q1", "A1", "dr-a", "4", "none", "pass"],
    ["Q1", "A1", "dr-b", "5", "none", "pass"],
    ["Q2", "A2", "dr-a", "2", "mild", "fail"],
]
BAD = ["Q2", "A2", "dr-b", "9", "none", "pass"]  # accuracy out of range


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def queue(workspace):
    return make_queue(workspace, k=2, name="Imported labels")


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode()


def _upload(name="labels.csv", rows=(*GOOD[:2], BAD, GOOD[2])) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, _csv(rows), content_type="text/csv")


def _post(client, workspace, target, **data):
    body = {"file": _upload(), "queue": target.pk, **data}
    return client.post(reverse("judgment-import", args=[workspace.slug]), body)


def test_engineers_and_admins_reach_the_import_page_from_the_exports_page(
    client, workspace, engineer, admin_user, queue
):
    url = reverse("judgment-import", args=[workspace.slug])
    for user in (engineer, admin_user):
        client.force_login(user)
        exports = client.get(reverse("exports", args=[workspace.slug])).content.decode()
        assert f'href="{url}"' in exports
        page = client.get(url)
        assert page.status_code == 200
        assert 'id="import-form"' in page.content.decode() and queue.name in page.content.decode()


def test_reviewers_and_authors_get_403_and_other_workspaces_404(
    client, workspace, reviewer, author, outsider, queue
):
    job = Job.objects.create(workspace=workspace, kind=import_jobs.KIND, task_name="x")
    urls = [
        reverse("judgment-import", args=[workspace.slug]),
        reverse("judgment-import-job", args=[workspace.slug, job.pk]),
    ]
    for user, status in ((reviewer, 403), (author, 403), (outsider, 404)):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == status
        assert _post(client, workspace, queue).status_code == status
    assert Judgment.objects.count() == 0
    client.logout()
    assert "/login/" in client.get(urls[0])["Location"]


def test_a_small_file_imports_at_once_and_lists_each_bad_row_with_its_reason(
    client, workspace, engineer, queue
):
    client.force_login(engineer)
    response = _post(client, workspace, queue)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="import-report"' in page
    assert '<td id="count-created">3</td>' in page
    assert '<td id="count-refused">1</td>' in page
    assert "<tr><td>3</td><td>accuracy:" in page  # the bad row's number, then its reason
    assert Judgment.objects.filter(queue=queue).count() == 3
    [event] = AuditEvent.objects.filter(workspace=workspace, action="judgments.import")
    assert event.actor == engineer and event.target_id == str(queue.pk)
    assert event.details["created"] == 3 and event.details["refused"] == 1
    assert event.details["filename"] == "labels.csv"
    assert not Job.objects.filter(kind=import_jobs.KIND).exists()


def test_the_uploaded_file_name_is_escaped(client, workspace, engineer, queue):
    client.force_login(engineer)
    name = '<img src=x onerror="alert(1)">.csv'
    page = _post(client, workspace, queue, file=_upload(name)).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.csv" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"file": ""}, "Choose a file."),
        ({"queue": ""}, "Choose a queue of this workspace."),
        ({"queue": "99999999999999999999999"}, "Choose a queue of this workspace."),
        ({"file": _upload("labels.txt")}, "Choose the file&#x27;s format"),
        ({"format": "parquet"}, "The file is not a Parquet file."),
    ],
)
def test_a_bad_request_is_422_with_the_reason_and_imports_nothing(
    client, workspace, engineer, queue, data, message
):
    client.force_login(engineer)
    data = {k: (_upload(v.name) if hasattr(v, "name") else v) for k, v in data.items()}
    response = _post(client, workspace, queue, **data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Judgment.objects.count() == 0
    assert not AuditEvent.objects.filter(action="judgments.import").exists()


def test_another_workspaces_queue_is_refused(client, workspace, engineer, queue):
    client.force_login(engineer)
    theirs = make_queue(WorkspaceFactory(slug="theirs"), k=2)
    response = _post(client, workspace, theirs)
    assert response.status_code == 422
    assert "Choose a queue of this workspace" in response.content.decode()
    assert Judgment.objects.count() == 0


def test_a_pairwise_queue_takes_pairs_and_a_file_imported_again_counts_duplicates(
    client, workspace, engineer
):
    pairwise = make_queue(workspace, k=2, name="Pairs", kind=Queue.Kind.PAIRWISE)
    header = ["input_text", "output_a", "output_b", "reviewer", "preferred", "shown_left"]
    rows = [
        ["Q1", "A1", "B1", "dr-a", "a", "b"],
        ["Q1", "A1", "B1", "dr-b", "b", "a"],
        ["Q2", "A2", "B2", "dr-a", "left", "a"],  # refused: a screen side, not an output
    ]
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    client.force_login(engineer)
    url = reverse("judgment-import", args=[workspace.slug])
    page = client.get(url).content.decode()
    assert f'<option value="{pairwise.pk}">Pairs (pairwise,' in page
    for created, duplicate in ((2, 0), (0, 2)):
        upload = SimpleUploadedFile("pairs.csv", out.getvalue().encode(), "text/csv")
        page = client.post(url, {"file": upload, "queue": pairwise.pk}).content.decode()
        assert f'<td id="count-created">{created}</td>' in page
        assert f'<td id="count-duplicate">{duplicate}</td>' in page
        assert '<td id="count-refused">1</td>' in page
        assert "<tr><td>3</td><td>preferred must be a, b, tie or both_bad.</td></tr>" in page
    assert Judgment.objects.filter(queue=pairwise).count() == 2


def test_a_large_file_becomes_a_job_whose_page_shows_progress_then_the_report(
    client, workspace, engineer, reviewer, queue, monkeypatch
):
    monkeypatch.setattr(import_jobs, "DIRECT_BYTES", 10)
    client.force_login(engineer)
    response = _post(client, workspace, queue)
    job = Job.objects.get(kind=import_jobs.KIND)
    url = reverse("judgment-import-job", args=[workspace.slug, job.pk])
    assert response.status_code == 302 and response["Location"] == url
    assert (import_dir(job) / "data.csv").is_file()
    queued = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert queued.lstrip().startswith('<div id="import-status"') and "every 1s" in queued
    assert "<progress" in queued and "import-report" not in queued

    run_import_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and (job.progress, job.total) == (4, 4)
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in done
    assert '<td id="count-created">3</td>' in done and "<tr><td>3</td><td>accuracy:" in done
    assert "labels.csv" in client.get(url).content.decode()
    assert not import_dir(job).exists()  # the upload is deleted once imported
    [event] = AuditEvent.objects.filter(action="judgments.import")
    assert event.actor == engineer and event.details["created"] == 3
    listing = client.get(reverse("judgment-import", args=[workspace.slug])).content.decode()
    assert f'href="{url}"' in listing
    client.force_login(reviewer)
    assert client.get(url).status_code == 403


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


def test_a_job_stopped_midway_resumes_after_its_last_committed_chunk(
    client, workspace, engineer, queue, monkeypatch
):
    monkeypatch.setattr(import_jobs, "DIRECT_BYTES", 10)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    client.force_login(engineer)
    rows = [
        ["Q1", "A1", "dr-a", "4", "none", "pass"],
        ["Q1", "A1", "dr-b", "4", "none", "pass"],
        ["Q2", "A2", "dr-a", "9", "none", "pass"],  # refused: out of range
        ["Q2", "A2", "dr-a", "3", "none", "pass"],
        ["Q2", "A2", "dr-b", "3", "mild", "pass"],
        ["Q3", "A3", "dr-a", "1", "none", "fail"],
    ]
    _post(client, workspace, queue, file=_upload(rows=rows))
    job = Job.objects.get(kind=import_jobs.KIND)
    real = imports._record_chunk
    calls = []

    def dies_on_the_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "_record_chunk", dies_on_the_second_chunk)
    with pytest.raises(Killed):
        run_import_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.result["checkpoint"] == 2
    assert Judgment.objects.filter(queue=queue).count() == 2
    stale = timezone.now() - timedelta(minutes=10)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    run_import_job(job.pk)  # what the reaper's re-sent task does
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.result["rows"], job.result["created"], job.result["refused"]) == (6, 5, 1)
    assert [e["row"] for e in job.result["errors"]] == [3]
    assert Judgment.objects.filter(queue=queue).count() == 5


def test_an_api_import_is_audited_with_its_token(client, workspace, queue, auth):
    body = {"queue_id": queue.pk, "format": "csv", "file": _upload()}
    response = client.post("/api/v1/imports", body, **auth)
    assert response.status_code == 200 and response.json()["refused"] == 1
    [event] = AuditEvent.objects.filter(workspace=workspace, action="judgments.import")
    assert event.actor is None and event.api_token.prefix in auth["HTTP_AUTHORIZATION"]
    assert event.details["created"] == 3
