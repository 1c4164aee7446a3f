"""A clinician grades three items in headless Chromium with the keyboard only."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate import gold
from annotate.models import Assignment, Judgment, PracticeAnswer
from tests.conftest import login
from tests.factories import make_queue

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_clinician_grades_three_items_with_the_keyboard(page, workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=5, k=2)
    queue.items.update(
        output="Take **ibuprofen** with food.\n\n| dose | when |\n|---|---|\n| 200 mg | 8 h |"
    )
    login(page, reviewer.username)
    page.goto(f"/w/{workspace.slug}/")
    page.click("text=Start grading")
    page.wait_for_selector("#grade-form")
    page.screenshot(path=str(DOCS_IMG / "grading.png"), full_page=True)

    for n in range(3):
        # Focus starts on the first criterion. Digits answer, Tab moves on, Enter submits.
        page.wait_for_selector("fieldset.criterion[data-criterion=accuracy]:focus")
        page.keyboard.press("4")  # accuracy: 4
        page.keyboard.press("Tab")
        page.keyboard.press("1")  # harm: none
        page.keyboard.press("Tab")
        page.keyboard.press("1")  # safe: pass
        page.keyboard.press("Enter")
        expect(page.locator("#grade-progress strong")).to_have_text(str(n + 1))

    judgments = Judgment.objects.filter(reviewer=reviewer).order_by("id")
    assert [j.answers for j in judgments] == [{"accuracy": 4, "harm": "none", "safe": True}] * 3
    # The server has every answer: none is kept to send again, and a reload sends nothing.
    assert page.evaluate("sessionStorage.getItem('quorum-pending-answer')") is None
    page.reload(wait_until="networkidle")
    expect(page.locator("#grade-item .notice")).to_have_count(0)
    assert page.js_errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_missing_answer_shows_its_error_next_to_the_criterion(
    page, workspace, clinicians, reviewer
):
    make_queue(workspace, cohorts=[clinicians], items=2, k=1)
    login(page, reviewer.username)
    page.goto(f"/w/{workspace.slug}/")
    page.click("text=Start grading")
    page.wait_for_selector("fieldset.criterion[data-criterion=accuracy]:focus")
    page.keyboard.press("4")
    page.keyboard.press("Enter")
    page.wait_for_selector("#err-harm")
    assert "needs an answer" in page.inner_text("#err-safe")
    # The focus goes to the first criterion with an error; the earlier answer is kept.
    # Focus moves to the first criterion with an error once the swap has settled.
    page.wait_for_selector("fieldset.criterion[data-criterion=harm]:focus")
    assert page.is_checked("input[name=c-accuracy][value='4']")
    assert Judgment.objects.count() == 0
    page.keyboard.press("?")
    assert page.is_visible("#keys")
    page.keyboard.press("Escape")
    assert not page.is_visible("#keys")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_tablet_the_rubric_sits_below_the_output(page_at, workspace, clinicians, reviewer):
    make_queue(workspace, cohorts=[clinicians], items=1, k=1)
    tablet = page_at(768, 1024)
    login(tablet, reviewer.username)
    tablet.goto(f"/w/{workspace.slug}/")
    tablet.click("text=Start grading")
    output = tablet.locator("section.output").bounding_box()
    form = tablet.locator("#grade-form").bounding_box()
    assert form["y"] >= output["y"] + output["height"]
    assert form["width"] <= 768
    tablet.screenshot(path=str(DOCS_IMG / "grading-tablet.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_skips_an_item_with_the_keyboard(page, workspace, clinicians, reviewer):
    """S goes to the reasons, the arrow keys choose one, Enter skips; the next item's
    first criterion has the focus again."""
    queue = make_queue(workspace, cohorts=[clinicians], items=2, k=1)
    login(page, reviewer.username)
    page.goto(f"/w/{workspace.slug}/queues/{queue.pk}/grade/")
    page.wait_for_selector("fieldset.criterion[data-criterion=accuracy]:focus")
    first = page.locator("section.input").inner_text()
    page.keyboard.press("s")
    expect(page.locator("#skip-reason")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#skip-reason")).to_have_value("cannot judge")
    page.keyboard.press("Enter")
    page.wait_for_selector("fieldset.criterion[data-criterion=accuracy]:focus")
    expect(page.locator("section.input")).not_to_have_text(first)
    skipped = Assignment.objects.get(reviewer=reviewer, state=Assignment.State.SKIPPED)
    assert skipped.skip_reason == "cannot judge"
    assert skipped.item.input_text in first
    assert not Judgment.objects.exists()
    assert page.js_errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_reviewer_answers_a_practice_item_with_the_keyboard(
    page, workspace, clinicians, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=2, k=1, calibration_required=True)
    item = queue.items.order_by("id").first()
    gold.mark_gold(
        item,
        list(queue.rubric_version.criteria.all()),
        {"accuracy": "4", "harm": "none", "safe": "pass"},
        explanation="Matches the **guidance**.",
        practice=True,
    )
    login(page, reviewer.username)
    page.goto(f"/w/{workspace.slug}/queues/{queue.pk}/grade/")
    expect(page.locator(".progress-line")).to_contain_text("Practice item 1 of 1")
    page.wait_for_selector("fieldset.criterion[data-criterion=accuracy]:focus")
    page.keyboard.press("4")
    page.keyboard.press("Tab")
    page.keyboard.press("1")
    page.keyboard.press("Tab")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#practice-feedback")).to_contain_text("Matches the guidance")
    assert PracticeAnswer.objects.get(reviewer=reviewer).correct == {
        "accuracy": True,
        "harm": True,
        "safe": True,
    }
    assert page.js_errors == []
