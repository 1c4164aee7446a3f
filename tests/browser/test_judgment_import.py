"""An engineer imports a judgments file in the browser and reads the report: counts and bad rows."""

from pathlib import Path

import pytest

from annotate.models import Judgment
from tests.conftest import ROOT, login
from tests.evals.conftest import killable_worker, redis_broker  # noqa: F401
from tests.factories import make_queue

CSV = (
    "input_text,output,reviewer,answer_accuracy,answer_harm,answer_safe\n"
    "Can I take ibuprofen?,Ask your pharmacist first.,dr-a,4,none,pass\n"
    "Can I take ibuprofen?,Ask your pharmacist first.,dr-b,5,none,pass\n"
    "Is a double dose safe?,No: never double up.,dr-a,9,none,pass\n"
    "Is a double dose safe?,No: never double up.,dr-b,2,mild,fail\n"
)


def _file(tmp_path, name: str) -> Path:
    path = Path(tmp_path) / name
    path.write_text(CSV)
    return path


def _upload(page, path: Path, queue_id: int, background: bool = False) -> None:
    page.goto("/w/patient-messages/exports/")
    page.click("#import-link")
    page.wait_for_selector("#import-form")
    page.set_input_files("#id_file", str(path))
    page.select_option("#id_queue", str(queue_id))
    if background:
        page.check("input[name=as_job]")
    page.click("#import-form button[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_engineer_imports_a_small_file_and_sees_the_bad_row_and_the_counts(
    page, live_server, workspace, engineer, tmp_path
):
    queue = make_queue(workspace, k=2, name="Imported labels")
    login(page, "eric-engineer")
    _upload(page, _file(tmp_path, "<b>clinic<i> labels.csv"), queue.pk)

    page.wait_for_selector("#import-report")
    assert page.inner_text("#count-created") == "3"
    assert page.inner_text("#count-refused") == "1"
    bad = page.locator("#bad-rows tbody tr")
    assert bad.count() == 1
    assert bad.locator("td").nth(0).inner_text() == "3"
    assert "accuracy" in bad.locator("td").nth(1).inner_text()
    heading = page.locator("#import-report h2")
    assert "<b>clinic<i> labels.csv" in heading.inner_text()  # shown as text, not markup
    assert heading.locator("b, i").count() == 0
    page.screenshot(path=str(ROOT / "docs" / "img" / "judgment-import.png"), full_page=True)
    assert Judgment.objects.filter(queue=queue).count() == 3
    assert page.js_errors == []


@pytest.mark.browser
@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_background_import_shows_progress_then_the_same_report(
    page,
    live_server,
    workspace,
    engineer,
    killable_worker,  # noqa: F811
    redis_broker,  # noqa: F811
    tmp_path,
):
    killable_worker.start()
    queue = make_queue(workspace, k=2, name="Imported labels")
    login(page, "eric-engineer")
    _upload(page, _file(tmp_path, "labels.csv"), queue.pk, background=True)

    page.wait_for_selector("#import-status progress")
    page.wait_for_selector("#import-report", timeout=60_000)
    assert page.get_attribute("#import-status progress", "value") == "100"
    assert page.inner_text("#import-status .job-count") == "4 / 4 rows"
    assert page.inner_text("#count-created") == "3"
    assert page.locator("#bad-rows tbody tr").count() == 1
    assert page.locator("#bad-rows tbody td").first.inner_text() == "3"
    assert Judgment.objects.filter(queue=queue).count() == 3
    assert page.js_errors == []
