"""A test job written like every Quorum job: claim, beat per chunk, idempotent chunks, succeed.

The worker loads it with ``--include``. It stops at chunk ``block_at`` until the file
``gate`` exists, so a test can SIGKILL its worker at a known point.
"""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task

from evals import jobs
from evals.models import Source


@shared_task(acks_late=True, ignore_result=True, name="tests.reliability.jobtask.chunks")
def chunks(job_id: int) -> None:
    job = jobs.start(job_id)
    if job is None:
        return
    total = job.params["chunks"]
    gate = Path(job.params["gate"])
    for n in range(job.progress, total):
        # The chunk's work: idempotent, so a chunk done before a crash is not done twice.
        Source.objects.get_or_create(workspace_id=job.workspace_id, name=f"chunk-{n}")
        jobs.beat(job, n + 1, total)
        if n == job.params["block_at"] and not gate.exists():
            (gate.parent / f"blocked-{job.attempts}").touch()
            while not gate.exists():
                time.sleep(0.05)
    jobs.succeed(job, {"chunks": total, "finished_on_attempt": job.attempts})
