"""The engineer guide's httpx example runs as written against a real server."""

import re
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from evals.exports.jobs import run_export_job
from evals.models import Log
from tests.factories import make_token

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "engineer.md"


def example_code() -> str:
    text = GUIDE.read_text()
    section = text[text.index("### Example: push logs, pull a Parquet export") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.django_db(transaction=True)
def test_the_guides_httpx_example_pushes_logs_and_pulls_a_parquet_export(
    live_server, graded_queue, workspace, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    # The export job runs as soon as the request sends it (the worker's task, in-process).
    monkeypatch.setattr("evals.jobs.dispatch", lambda job: run_export_job(job.pk) or True)
    naps = []

    def nap(seconds):  # the example's polling: bounded here, so a stuck job fails the test
        naps.append(seconds)
        assert len(naps) < 30, "the export never finished"

    monkeypatch.setattr(time, "sleep", nap)
    # The scopes the guide says the example needs, and no more.
    token = make_token(workspace, "docs example", scopes=["logs:write", "read", "exports"])[1]
    code = example_code()
    for placeholder, value in (
        ('"https://quorum.example.org/api/v1"', repr(f"{live_server.url}/api/v1")),
        ("QUEUE_ID = 1", f"QUEUE_ID = {graded_queue.pk}"),
        ("qrm_...", token),
    ):
        assert placeholder in code
        code = code.replace(placeholder, value)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(GUIDE), "exec"), {"__name__": "example"})
    log = Log.objects.get(external_id="conv-123", source__name="patient-app")
    assert log.input_messages[0]["content"].startswith("Can I take ibuprofen")
    table = pq.read_table(tmp_path / "judgments.parquet")
    assert table.num_rows == graded_queue.judgments.count() == 8
    assert (tmp_path / "manifest.json").exists() and (tmp_path / "README.md").exists()


def test_the_guides_results_example_runs_as_written(graded_queue):
    """The engineer guide's "Results, CSV and alerts" shell example, on a graded queue."""
    text = GUIDE.read_text()
    section = text[text.index("## Results, CSV and alerts") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "Queue.objects.get(pk=1)" in code
    exec(code.replace("pk=1", f"pk={graded_queue.pk}"), {})  # noqa: S102 - our own docs
