"""A real Celery worker on Redis ingests an upload in chunks; SIGKILL mid-file loses nothing."""

import io

import pytest

from evals.ingest.pipeline import Reason
from evals.ingest.uploads import create_upload_job
from evals.models import IngestChunk, Job, Log
from tests.evals.conftest import log_line, retry_until_finished, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.redis]


def upload_lines() -> bytes:
    lines = [log_line(n) for n in range(150)]
    lines[40] = b'{"external_id": "bad", "output": 7}\n'
    lines[90] = b"not json at all\n"
    lines += [log_line(n) for n in range(10)]  # re-sent: duplicates
    return b"".join(lines)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_file_and_retried_stores_every_line_once(
    killable_worker, redis_broker, source, workspace, engineer
):
    worker = killable_worker
    worker.start(
        QUORUM_INGEST_CHUNK_LINES="20",
        QUORUM_INGEST_BATCH="5",
        QUORUM_INGEST_THROTTLE_SECONDS="0.15",
    )
    job = create_upload_job(
        workspace, source, io.BytesIO(upload_lines()), "logs.jsonl", "", user=engineer
    )
    done = IngestChunk.objects.filter(job=job, status=IngestChunk.Status.DONE)
    wait_for(lambda: done.count() >= 2, what="two chunks")
    worker.kill()

    pending = IngestChunk.objects.filter(job=job, status=IngestChunk.Status.PENDING)
    assert pending.exists(), "the kill should land before the file is finished"
    # Only whole chunks were written: the killed chunk's transaction left nothing behind.
    assert Log.objects.count() == sum(done.values_list("accepted", flat=True))

    worker.start()
    # The job's heartbeat goes stale; the beat task re-sends it, and it resends its chunks.
    retry_until_finished(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    r = job.result
    assert (r["lines_read"], r["accepted"], r["duplicate"], r["rejected"]) == (160, 148, 10, 2)
    assert sorted((e[0], e[1]) for e in r["errors"]) == [
        (41, Reason.WRONG_TYPE),
        (91, Reason.INVALID_JSON),
    ]
    assert Log.objects.count() == 148
    assert job.progress == job.total == 160
