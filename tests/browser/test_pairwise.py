"""A reviewer compares three pairs with the keyboard only; an author reads the results."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate.models import Assignment, Judgment
from evals.results import pairwise as pairwise_results
from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.conftest import login

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def script_errors(page) -> list[str]:
    """Console errors except the missing /favicon.ico (the only 404 the pages cause)."""
    return [e for e in page.js_errors if "status of 404" not in e]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_grades_three_pairs_by_keyboard(
    page, live_server, workspace, clinicians, reviewer, author
):
    queue = make_pairwise_queue(
        workspace, cohorts=[clinicians], pairs=3, rationale_required=True, rationale_min_length=10
    )
    login(page, reviewer.username)
    page.goto(f"/w/{workspace.slug}/queues/{queue.pk}/grade/")
    expect(page.locator("#pref-choice")).to_be_focused()
    # caret="initial": hiding the caret would leave style attributes for htmx to trip on.
    page.screenshot(path=str(IMG / "pairwise-grading.png"), full_page=True, caret="initial")

    # (choice key, strength key or None, the screen side that means)
    plan = [("a", "2", "left"), ("b", "1", "right"), ("t", None, "tie")]
    for done, (choice, strength, _) in enumerate(plan):
        page.keyboard.press(choice)
        if strength:
            page.keyboard.press(strength)
        page.keyboard.press("r")
        expect(page.locator("#rationale")).to_be_focused()
        page.keyboard.type(f"Reason number {done + 1}: clearer advice.")
        page.keyboard.press("Escape")
        page.keyboard.press("Enter")
        expect(page.locator("#grade-progress")).to_contain_text(f"compared {done + 1} pair")

    expect(page.locator(".done")).to_contain_text("Nothing more to compare")
    judgments = list(Judgment.objects.filter(reviewer=reviewer).order_by("created_at"))
    assert len(judgments) == 3
    for judgment, (_, strength, screen) in zip(judgments, plan, strict=True):
        a_on_left = Assignment.objects.get(pk=judgment.assignment_id).a_on_left
        expected = {"left": "a" if a_on_left else "b", "right": "b" if a_on_left else "a"}
        assert judgment.answers["preference"] == expected.get(screen, screen)
        assert judgment.answers["strength"] == (int(strength) if strength else None)
        assert judgment.answers["rationale"].startswith("Reason number")
    assert script_errors(page) == []

    pairwise_results.refresh(queue)
    page.context.clear_cookies()
    login(page, author.username)
    page.goto(f"/w/{workspace.slug}/queues/{queue.pk}/leaderboard/")
    expect(page.locator("#win-rate")).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))"
    )
    page.screenshot(path=str(IMG / "pairwise-results.png"), full_page=True)
    assert script_errors(page) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_pair_submitted_before_the_swap_settles_is_still_sent_by_htmx(
    page, live_server, workspace, clinicians, reviewer
):
    """htmx binds a swapped-in form only when the swap settles. A reviewer quicker than
    that must not post the form natively, which would leave the page (seen in CI)."""
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=3)
    login(page, reviewer.username)
    grade_url = f"/w/{workspace.slug}/queues/{queue.pk}/grade/"
    page.goto(grade_url)
    expect(page.locator("#pref-choice")).to_be_focused()
    # A mark on this window: a native post would load a new page without it.
    page.evaluate("htmx.config.defaultSettleDelay = 5000; window.quorumSamePage = true")
    for done in range(2):
        page.keyboard.press("a")
        page.keyboard.press("Enter")
        expect(page.locator("#grade-progress")).to_contain_text(f"compared {done + 1} pair")
    assert page.evaluate("window.quorumSamePage === true")
    assert Judgment.objects.filter(reviewer=reviewer).count() == 2
    assert script_errors(page) == []
