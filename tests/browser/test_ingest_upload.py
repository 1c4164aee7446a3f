"""An engineer uploads a CSV in the browser, maps its columns, and watches it to the report."""

from pathlib import Path

import pytest

from evals.models import Log
from tests.conftest import ROOT, login
from tests.evals.conftest import killable_worker, redis_broker  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.redis]

CSV = (
    "id,question,answer,topic,locale\n"
    + "".join(
        f"c{n},Question {n} about my inhaler,Answer {n}: use it twice daily,asthma,en\n"
        for n in range(60)
    )
    + "bad,only,three,cells,too,many\n"
)


@pytest.mark.django_db(transaction=True)
def test_an_engineer_maps_csv_columns_and_the_progress_bar_reaches_the_report(
    page,
    live_server,
    engineer,
    killable_worker,  # noqa: F811
    redis_broker,  # noqa: F811
    tmp_path,
):
    killable_worker.start(QUORUM_INGEST_CHUNK_LINES="10", QUORUM_INGEST_THROTTLE_SECONDS="0.2",
                          QUORUM_INGEST_BATCH="5")  # fmt: skip
    path = Path(tmp_path) / "inhaler.csv"
    path.write_text(CSV)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    login(page, "eric-engineer")
    page.goto("/w/patient-messages/logs/upload/")
    page.set_input_files("#id_file", str(path))
    page.fill("#id_source", "asthma-app")
    page.click("#upload-form button[type=submit]")

    page.wait_for_selector("#csv-preview")
    assert page.locator("#csv-preview tbody tr").count() == 5
    assert "Question 0 about my inhaler" in page.inner_text("#csv-preview")
    page.select_option("select[name=col-0]", "external_id")
    page.select_option("select[name=col-1]", "input")
    page.select_option("select[name=col-2]", "output")
    page.select_option("select[name=col-3]", "metadata")
    page.select_option("select[name=col-4]", "ignore")
    page.click("#mapping-form button[type=submit]")

    page.wait_for_selector("#upload-status progress")
    page.wait_for_selector("#upload-report", timeout=60_000)
    assert page.get_attribute("#upload-status progress", "value") == "100"
    assert page.inner_text("#count-accepted") == "60"
    assert page.inner_text("#count-rejected") == "1"
    assert "unknown_column" in page.inner_text("#bad-lines")
    assert "62" in page.inner_text("#bad-lines")  # the bad row's line number
    page.screenshot(path=str(ROOT / "docs" / "img" / "ingest-report.png"), full_page=True)
    assert Log.objects.filter(source__name="asthma-app").count() == 60
    assert Log.objects.get(external_id="c7").metadata == {"topic": "asthma"}
    assert [url for url in missing if not url.endswith("favicon.ico")] == []
    assert [e for e in page.js_errors if "404" not in e] == []
