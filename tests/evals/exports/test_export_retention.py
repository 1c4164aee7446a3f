"""Export files are deleted QUORUM_EXPORT_RETENTION_DAYS after their job finished."""

import os
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from evals.exports import tasks
from evals.exports.jobs import expire_exports, export_dir, exports_root, run_export_job
from evals.models import Job


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.QUORUM_EXPORT_RETENTION_DAYS = 30


def _finished_export(client, workspace, days_ago: int) -> Job:
    client.post(
        reverse("exports", args=[workspace.slug]),
        {"shape": "judgments", "format": "csv", "as_job": "on"},
    )
    job = Job.objects.filter(kind="export").order_by("-pk").first()
    run_export_job(job.pk)
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=days_ago))
    job.refresh_from_db()
    assert (export_dir(job) / "judgments.csv").is_file()
    return job


@pytest.fixture
def old_and_new(client, workspace, engineer, graded_queue):
    client.force_login(engineer)
    return _finished_export(client, workspace, 31), _finished_export(client, workspace, 29)


def test_exports_past_retention_lose_their_files_and_are_marked_expired(old_and_new):
    old, new = old_and_new
    assert expire_exports() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert not export_dir(old).exists()
    assert old.result["expired_at"] and old.result["counts"]  # the rest of the result stays
    assert old.status == Job.Status.SUCCEEDED
    assert sorted(p.name for p in export_dir(new).iterdir()) == [
        "README.md",
        "judgments.csv",
        "manifest.json",
    ]
    assert "expired_at" not in new.result
    assert expire_exports() == 0  # a second run finds nothing left to do


def test_a_download_of_an_expired_export_is_410_gone_with_a_message(client, workspace, old_and_new):
    old, new = old_and_new
    expire_exports()
    response = client.get(
        reverse("export-download", args=[workspace.slug, old.pk, "judgments.csv"])
    )
    assert response.status_code == 410
    assert "deleted" in response.content.decode() and "30 days" in response.content.decode()
    fresh = client.get(reverse("export-download", args=[workspace.slug, new.pk, "judgments.csv"]))
    assert fresh.status_code == 200


def test_an_api_download_of_an_expired_export_is_410_in_the_error_format(client, auth, old_and_new):
    old, _ = old_and_new
    expire_exports()
    response = client.get(f"/api/v1/exports/{old.pk}/files/judgments.csv", **auth)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "expired"
    listed = client.get(f"/api/v1/exports/{old.pk}", **auth).json()
    assert listed["expired_at"] and listed["files"] == []


def test_the_export_pages_show_expired(client, workspace, old_and_new):
    old, new = old_and_new
    expire_exports()
    detail = client.get(reverse("export-detail", args=[workspace.slug, old.pk])).content.decode()
    assert 'id="export-expired"' in detail and "Expired" in detail
    assert "export-files" not in detail
    listing = client.get(reverse("exports", args=[workspace.slug])).content.decode()
    assert listing.count("Expired") == 1
    assert "deleted 30 days after they finish" in listing


def test_zero_days_keeps_export_files_for_ever(settings, old_and_new):
    settings.QUORUM_EXPORT_RETENTION_DAYS = 0
    old, _ = old_and_new
    assert expire_exports() == 0
    assert (export_dir(old) / "judgments.csv").is_file()


def test_folders_left_by_killed_runs_are_removed_once_old(db):
    root = exports_root()
    stale, recent = root / ".7-abc", root / ".8-def"
    for folder in (stale, recent):
        folder.mkdir(parents=True)
        (folder / "judgments.csv").write_text("half")
    month_ago = time.time() - 31 * 86400
    os.utime(stale, (month_ago, month_ago))
    expire_exports()
    assert not stale.exists() and recent.exists()


def test_beat_runs_the_expiry_task_and_it_expires(old_and_new):
    entry = django_settings.CELERY_BEAT_SCHEDULE["expire-exports"]
    assert entry["task"] == tasks.expire_exports.name
    assert tasks.expire_exports() == 1
