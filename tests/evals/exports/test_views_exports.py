import io
import zipfile
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from annotate.models import Membership
from evals.exports.jobs import run_export_job
from evals.exports.spec import parse_spec
from evals.exports.views import zip_export
from evals.models import Job


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _post(client, slug, **data):
    body = {"shape": "judgments", "format": "csv", **data}
    return client.post(reverse("exports", args=[slug]), body)


def test_an_engineer_sees_the_export_page(client, workspace, engineer, graded_queue):
    client.force_login(engineer)
    response = client.get(reverse("exports", args=[workspace.slug]))
    assert response.status_code == 200
    assert 'id="export-form"' in response.content.decode()
    assert graded_queue.name in response.content.decode()


def test_a_small_export_downloads_at_once_as_a_zip_with_manifest_and_readme(
    client, workspace, engineer, graded_queue
):
    client.force_login(engineer)
    response = _post(client, workspace.slug, format="jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["README.md", "judgments.jsonl", "manifest.json"]
    assert len(archive.read("judgments.jsonl").splitlines()) == 8


def test_a_large_export_becomes_a_job_with_downloads_for_engineers_only(
    client, workspace, engineer, reviewer, admin_user, outsider, graded_queue, settings
):
    client.force_login(engineer)
    response = _post(client, workspace.slug, as_job="on")
    job = Job.objects.get(kind="export")
    assert response.status_code == 302
    assert response["Location"] == reverse("export-detail", args=[workspace.slug, job.pk])
    run_export_job(job.pk)
    page = client.get(response["Location"])
    assert "judgments.csv" in page.content.decode()
    fragment = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="export-status"')
    url = reverse("export-download", args=[workspace.slug, job.pk, "judgments.csv"])
    download = client.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"answer_accuracy" in b"".join(download.streaming_content)
    client.force_login(admin_user)
    assert client.get(url).status_code == 200
    client.force_login(reviewer)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    assert "/login/" in client.get(url)["Location"]


@pytest.mark.parametrize("name", ["status", "manifest.jsn", "..", "judgments.parquet"])
def test_unknown_file_names_are_404(client, workspace, engineer, graded_queue, name):
    client.force_login(engineer)
    _post(client, workspace.slug, as_job="on")
    job = Job.objects.get(kind="export")
    run_export_job(job.pk)
    url = reverse("export-download", args=[workspace.slug, job.pk, name])
    assert client.get(url).status_code == 404


def test_an_unfinished_export_has_nothing_to_download(client, workspace, engineer, graded_queue):
    client.force_login(engineer)
    _post(client, workspace.slug, as_job="on")
    job = Job.objects.get(kind="export")
    url = reverse("export-download", args=[workspace.slug, job.pk, "judgments.csv"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("view", ["exports", "export-detail"])
def test_reviewers_authors_and_outsiders_cannot_export(
    client, workspace, reviewer, author, outsider, engineer, view
):
    client.force_login(engineer)
    _post(client, workspace.slug, as_job="on")
    job = Job.objects.get(kind="export")
    url = reverse(view, args=[workspace.slug] + ([job.pk] if view != "exports" else []))
    for user, status in ((reviewer, 403), (author, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status
    client.force_login(reviewer)
    assert _post(client, workspace.slug).status_code == 403


def test_another_workspaces_export_job_is_404(client, workspace, engineer, outsider):
    other_ws = outsider.memberships.get().workspace
    job = Job.objects.create(workspace=other_ws, kind="export", task_name="x")
    client.force_login(engineer)
    assert client.get(reverse("export-detail", args=[workspace.slug, job.pk])).status_code == 404


def test_bad_filters_rerender_the_form_with_the_error(client, workspace, engineer):
    client.force_login(engineer)
    response = _post(client, workspace.slug, min_agreement="7")
    assert response.status_code == 400
    assert "min_agreement" in response.content.decode()


def test_a_refused_export_keeps_what_was_chosen(client, workspace, engineer, graded_queue):
    client.force_login(engineer)
    response = _post(
        client,
        workspace.slug,
        shape="items",
        format="jsonl",
        min_agreement="7",
        model_versions="v1, v2",
        queue_ids=[str(graded_queue.pk)],
        exclude_gold="on",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert '<option value="items" data-formats="csv jsonl parquet" selected>' in page
    assert '<option value="jsonl" selected>' in page
    assert f'value="{graded_queue.pk}" checked' in page
    assert 'name="model_versions" value="v1, v2"' in page
    assert 'name="min_agreement" type="number" min="0" max="1" step="0.05" value="7"' in page
    assert 'name="exclude_gold" checked' in page and 'name="adjudicated_only" checked' not in page


def test_shapes_say_the_formats_they_come_in(client, workspace, engineer):
    client.force_login(engineer)
    page = client.get(reverse("exports", args=[workspace.slug])).content.decode()
    assert '<option value="sft" data-formats="jsonl">sft (jsonl)</option>' in page
    assert 'data-formats="jsonl parquet">preferences (jsonl, parquet)</option>' in page


def test_only_an_admin_may_export_reviewer_names(
    client, workspace, engineer, admin_user, graded_queue
):
    client.force_login(engineer)
    assert _post(client, workspace.slug, reviewer_names="on").status_code == 400
    client.force_login(admin_user)
    response = _post(client, workspace.slug, reviewer_names="on", format="jsonl")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert b"carla-clinician" in archive.read("judgments.jsonl")


def test_the_same_snapshot_zips_to_the_same_bytes(workspace, engineer, graded_queue):

    membership = Membership.objects.get(user=engineer)
    spec = parse_spec(
        workspace, shape="items", format="parquet", snapshot_at=datetime(2026, 4, 1, tzinfo=UTC)
    )
    first = zip_export(membership, spec)
    second = zip_export(membership, spec)
    assert b"".join(first.streaming_content) == b"".join(second.streaming_content)


def test_the_workspace_page_links_engineers_to_exports(client, workspace, engineer, reviewer):
    client.force_login(engineer)
    assert 'id="exports-link"' in client.get(f"/w/{workspace.slug}/").content.decode()
    client.force_login(reviewer)
    assert 'id="exports-link"' not in client.get(f"/w/{workspace.slug}/").content.decode()
