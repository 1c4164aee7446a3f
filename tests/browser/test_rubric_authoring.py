"""An author builds, publishes and revises rubrics in the browser; a clinician grades with one.

Screenshots of the editor, the preview and the diff go to docs/img/ for the author's guide.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate.assignment import claim_next
from annotate.judging import submit_judgment
from annotate.models import Judgment, Queue, Rubric, RubricVersion
from tests.conftest import login
from tests.factories import good_answers, make_queue

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
SLUG = "patient-messages"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch_failures(page) -> list[str]:
    """Responses that failed, except the favicon the browser asks for on its own."""
    failures: list[str] = []
    page.on(
        "response",
        lambda r: (
            failures.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.status != 422 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return failures


def _script_errors(page) -> list[str]:
    return [e for e in page.js_errors if not e.startswith("Failed to load resource")]


def _card(page, index: int):
    return page.locator("#criteria .criterion-card").nth(index)


def _add(page, kind: str, count_after: int):
    page.click(f"button[data-add-kind={kind}]")
    expect(page.locator("#criteria .criterion-card")).to_have_count(count_after)
    return _card(page, count_after - 1)


def _save(card) -> None:
    card.locator("button.save-criterion").click()
    card.locator(".saved").wait_for()


def test_an_author_builds_a_rubric_and_a_clinician_grades_with_it(
    page, live_server, workspace, clinicians, author, reviewer
):
    failures = _watch_failures(page)
    login(page, author.username)
    page.goto(f"/w/{SLUG}/rubrics/")
    page.fill("#new-rubric-name", "Patient message triage")
    page.click("#new-rubric button[type=submit]")
    page.wait_for_selector("#version-badge")
    assert "Draft" in page.inner_text("#version-badge")

    # 1. A four-level Likert scale with a description for each level.
    card = _add(page, "likert", 1)
    card.locator("input[name=name]").fill("Agreement with medical consensus")
    card.locator("input[name=key]").fill("consensus")
    card.locator("textarea[name=help_text]").fill("Compare with current guidelines.")
    card.locator("button[value='remove_level-4']").click()
    expect(_card(page, 0).locator("input[name=level_label]")).to_have_count(4)
    card = _card(page, 0)
    levels = [
        ("Contradicts", "States things that contradict consensus."),
        ("Mixed", "Partly in line with consensus."),
        ("Mostly agrees", "In line apart from minor points."),
        ("Fully agrees", "Fully in line with current guidelines."),
    ]
    for n, (label, description) in enumerate(levels):
        card.locator("input[name=level_label]").nth(n).fill(label)
        card.locator("input[name=level_description]").nth(n).fill(description)
    _save(card)

    # 2. Pass/fail, 3. free text (optional).
    card = _add(page, "pass_fail", 2)
    card.locator("input[name=name]").fill("Safe for the patient")
    card.locator("input[name=key]").fill("safe")
    _save(card)
    card = _add(page, "free_text", 3)
    card.locator("input[name=name]").fill("Comment")
    card.locator("input[name=key]").fill("comment")
    card.locator("input[name=required]").uncheck()
    _save(card)

    expect(page.locator("#preview fieldset.criterion")).to_have_count(3)
    expect(page.locator("#preview fieldset.criterion").nth(2)).to_contain_text("Comment")
    page.locator("h1").scroll_into_view_if_needed()
    preview = page.inner_text("#preview")
    assert "Fully agrees" in preview and "In line apart from minor points." in preview
    page.screenshot(path=str(DOCS_IMG / "rubric-editor.png"), full_page=True)
    page.locator("#preview").screenshot(path=str(DOCS_IMG / "rubric-preview.png"))

    page.click("#publish")
    page.wait_for_selector("#version-badge:has-text('Published')")
    version = RubricVersion.objects.get(rubric__name="Patient message triage")
    assert version.is_published
    assert list(version.criteria.values_list("key", flat=True)) == ["consensus", "safe", "comment"]

    # A queue for the clinician cohort, with one item pasted in by hand.
    page.goto(f"/w/{SLUG}/")
    page.click("text=New queue")
    page.fill("#id_name", "Triage, clinicians")
    page.select_option("#id_rubric_version", label="Patient message triage v1")
    page.check(f"#cohort-choices input[value='{clinicians.pk}']")
    page.fill("#id_judgments_per_item", "1")
    page.click("#save-queue")
    page.wait_for_selector("#add-item")
    page.fill("#item-input", "I have had a headache for three days. Should I worry?")
    page.fill("#item-output", "Most headaches pass on their own. **See a doctor** if it is sudden.")
    page.click("#add-item-button")
    page.wait_for_selector("#add-item .saved")
    queue = Queue.objects.get(name="Triage, clinicians")
    assert queue.items_total == 1 and list(queue.cohorts.all()) == [clinicians]

    # The clinician grades it.
    page.context.clear_cookies()
    login(page, reviewer.username)
    page.goto(f"/w/{SLUG}/")
    page.click("#my-queues a:has-text('Start grading')")
    page.wait_for_selector("#grade-form")
    page.check("fieldset[data-criterion=consensus] input[value='3']")
    page.check("fieldset[data-criterion=safe] input[value='pass']")
    page.fill("textarea[name=c-comment]", "Add red-flag symptoms.")
    page.click("#grade-form button[type=submit]")
    page.wait_for_selector("text=Nothing more to grade here")
    judgment = Judgment.objects.get(reviewer=reviewer)
    assert judgment.rubric_version == version
    assert judgment.answers == {"consensus": 3, "safe": True, "comment": "Add red-flag symptoms."}
    assert _script_errors(page) == [] and failures == []


def test_an_edited_rubric_becomes_version_2_and_old_judgments_stay_on_version_1(
    page, live_server, workspace, clinicians, author, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    v1 = queue.rubric_version
    assignment = claim_next(queue, reviewer)
    judgment = submit_judgment(queue, assignment, list(v1.criteria.all()), good_answers()).judgment
    rubric = v1.rubric

    failures = _watch_failures(page)
    login(page, author.username)
    page.goto(f"/w/{SLUG}/rubrics/{rubric.pk}/versions/1/")
    assert page.locator(".criterion-form").count() == 0  # published: read-only
    page.click("#edit-rubric")
    page.wait_for_selector("#version-badge:has-text('v2')")
    card = _card(page, 0)
    card.locator("input[name=name]").fill("Agreement with current guidelines")
    # The preview follows the edit before it is saved.
    expect(page.locator("#preview")).to_contain_text("Agreement with current guidelines")
    _save(card)
    # Duplicate, move and remove without a page load.
    _card(page, 0).locator("[data-duplicate]").click()
    expect(page.locator("#criteria .criterion-card")).to_have_count(6)
    copy = _card(page, 1)
    expect(copy.locator("input[name=key]")).to_have_value("accuracy_2")
    copy.locator("[data-move=down]").click()
    expect(_card(page, 2).locator("input[name=key]")).to_have_value("accuracy_2")
    page.once("dialog", lambda dialog: dialog.accept())
    _card(page, 2).locator("[data-remove]").click()
    expect(page.locator("#criteria .criterion-card")).to_have_count(5)
    page.click("#publish")
    page.wait_for_selector("#version-badge:has-text('Published')")

    page.click("#compare-link")
    page.wait_for_selector("#diff")
    row = page.locator("#diff tr[data-key=accuracy]")
    assert "reworded" in row.inner_text()
    page.screenshot(path=str(DOCS_IMG / "rubric-diff.png"), full_page=True)

    versions = list(Rubric.objects.get(pk=rubric.pk).versions.order_by("number"))
    assert [(v.number, v.status) for v in versions] == [(1, "published"), (2, "published")]
    judgment.refresh_from_db()
    assert judgment.rubric_version_id == v1.pk
    assert v1.criteria.get(key="accuracy").name == "Agreement with medical consensus"
    assert versions[1].criteria.get(key="accuracy").name == "Agreement with current guidelines"
    keys = list(versions[1].criteria.values_list("key", flat=True))
    assert keys == list(v1.criteria.values_list("key", flat=True))
    assert _script_errors(page) == [] and failures == []
