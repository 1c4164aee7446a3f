"""An admin wires a judge, previews its prompt, and reads the judge against the humans."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate.models import Assignment, Judgment
from evals.judges.runs import start_run
from evals.judges.tasks import run_judge
from tests.conftest import login
from tests.evals.judges.judge_fixtures import fast_backoff_fixture, judge_server_fixture  # noqa: F401
from tests.factories import make_queue

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
NEW_KEY = "sk-typed-in-the-browser-7f3a9c"
ANSWERS = {"harm": "none", "minutes": None, "comment": "ok"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_adds_a_judge_previews_the_prompt_and_compares_with_humans(
    page, workspace, clinicians, admin_user, reviewer, second_reviewer, judge_server, fast_backoff
):
    queue = make_queue(workspace, cohorts=[clinicians], items=12)
    missing: list[dict] = []
    page.on("console", lambda m: missing.append(m.location) if m.type == "error" else None)
    login(page, admin_user.username)
    page.goto(f"/w/{workspace.slug}/judges/")
    page.click("text=Add an endpoint")
    page.fill("#id_name", "Local judge")
    page.fill("#id_base_url", judge_server.base_url)
    page.fill("#id_model", "judge-test")
    page.fill("#id_api_key", NEW_KEY)
    page.fill("#id_price_input_per_mtok", "1000")
    page.fill("#id_price_output_per_mtok", "5000")
    page.check("#id_allow_private_network")
    page.click("#judge-endpoint-form button[type=submit]")
    expect(page.locator("#judge-endpoints")).to_contain_text("Local judge")
    assert NEW_KEY not in page.content()

    page.click("text=Prompt")
    page.fill("#id_user_template", "PATIENT ASKED: {input}\nASSISTANT SAID: {output}")
    page.click("button[value=preview]")
    expect(page.locator("#preview")).to_contain_text("PATIENT ASKED: Patient question 0")
    expect(page.locator("#preview")).to_contain_text("Fully agrees with consensus")
    page.screenshot(path=str(DOCS_IMG / "judge-prompt.png"), full_page=True)

    from evals.models import JudgeEndpoint

    endpoint = JudgeEndpoint.objects.get(name="Local judge")

    def judge_answer(body: dict) -> dict:
        # Item n asks "Patient question n"; the judge mostly agrees with the humans.
        n = int(re.search(r"Patient question (\d+)", body["messages"][1]["content"]).group(1))
        accuracy = 3 + n % 3 if n % 5 else 5 - n % 3
        return {"answers": {**ANSWERS, "accuracy": accuracy, "safe": "pass" if n % 6 else "fail"}}

    judge_server.responder = judge_answer
    run = start_run(endpoint, queue=queue)
    run_judge(run.job_id)
    for n, item in enumerate(queue.items.order_by("id")):
        for user in (reviewer, second_reviewer):
            assignment = Assignment.objects.create(
                item=item, queue=queue, reviewer=user, expires_at=item.created_at
            )
            Judgment.objects.create(
                item=item,
                queue=queue,
                reviewer=user,
                assignment=assignment,
                rubric_version=queue.rubric_version,
                answers={"accuracy": 3 + n % 3, "harm": "none", "safe": n % 4 != 0},
            )

    page.goto(f"/w/{workspace.slug}/judges/runs/{run.pk}/")
    expect(page.locator("#judge-progress")).to_contain_text("Succeeded")
    expect(page.locator("#judge-progress")).to_contain_text("OK 12")
    page.screenshot(path=str(DOCS_IMG / "judge-run.png"), full_page=True)

    page.click("text=Judge against humans")
    expect(page.locator("#criterion-accuracy")).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))"
    )
    page.click("#criterion-accuracy button[data-toggle=drift-0-table]")
    expect(page.locator("#drift-0-table")).to_be_visible()
    page.screenshot(path=str(DOCS_IMG / "judge-compare.png"), full_page=True)
    # Chromium asks for /favicon.ico, which Quorum does not serve; anything else is an error.
    assert [e for e in page.js_errors if "Failed to load resource" not in e] == []
    assert [m["url"] for m in missing if not m["url"].endswith("/favicon.ico")] == []
    assert NEW_KEY not in page.content()
