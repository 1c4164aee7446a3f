"""Uploaded files are removed once no job will read them again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from evals.ingest import tasks
from evals.ingest.uploads import JOB_KIND, remove_stale_uploads
from evals.models import Job


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.QUORUM_EXPORT_RETENTION_DAYS = 7
    return settings.MEDIA_ROOT


def job_with_upload(workspace, media, status, kind=JOB_KIND, age_days=0) -> Job:
    job = Job.objects.create(workspace=workspace, kind=kind, task_name="x", status=status)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    folder = media / ("uploads" if kind == JOB_KIND else "imports") / str(job.pk)
    folder.mkdir(parents=True)
    (folder / "data").write_bytes(b"line\n")
    return job


def test_only_the_uploads_no_job_will_read_again_are_removed(workspace, media):
    running = job_with_upload(workspace, media, Job.Status.RUNNING, age_days=30)
    waiting = job_with_upload(workspace, media, Job.Status.QUEUED, age_days=1)
    abandoned = job_with_upload(workspace, media, Job.Status.QUEUED, age_days=8)
    failed = job_with_upload(workspace, media, Job.Status.FAILED)
    imported = job_with_upload(workspace, media, Job.Status.SUCCEEDED, kind="import")
    importing = job_with_upload(workspace, media, Job.Status.RUNNING, kind="import")
    orphan = media / "uploads" / "999999"
    orphan.mkdir()

    assert tasks.remove_stale_uploads() == 4

    def kept(job, folder="uploads") -> bool:
        return (media / folder / str(job.pk)).exists()

    assert kept(running) and kept(waiting) and kept(importing, "imports")
    assert not kept(abandoned) and not kept(failed) and not kept(imported, "imports")
    assert not orphan.exists()
    abandoned.refresh_from_db()
    assert abandoned.status == Job.Status.FAILED and "upload it again" in abandoned.error
    waiting.refresh_from_db()
    assert waiting.status == Job.Status.QUEUED
    assert remove_stale_uploads() == 0  # safe to run again


def test_the_sweep_is_on_the_beat_schedule(settings):
    entries = {e["task"]: e for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["evals.tasks.remove_stale_uploads"]["schedule"] == 3600.0
