"""A reviewer's session expires while grading: the answer is kept and saved after logging in."""

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from annotate.models import Assignment, Judgment
from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.conftest import PASSWORD, login
from tests.factories import make_queue


def submit_after_the_session_expired(page, reviewer) -> None:
    """The session ends on the server, the reviewer submits, is sent to log in, logs in."""
    Session.objects.all().delete()
    page.click("#grade-form button[type=submit]")
    page.wait_for_url("**/login/?next=*")
    assert Judgment.objects.count() == 0
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_answer_written_when_the_session_expired_is_saved_after_login(
    page, workspace, clinicians, reviewer
):
    make_queue(workspace, cohorts=[clinicians], items=3, k=1)
    page.goto("/login/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"/w/{workspace.slug}/")
    page.click("text=Start grading")
    page.wait_for_selector("fieldset.criterion[data-criterion=accuracy]:focus")
    for key in ("5", "Tab", "2", "Tab", "2"):
        page.keyboard.press(key)
    page.fill("textarea[name=c-comment]", "Written before the session ran out.")

    submit_after_the_session_expired(page, reviewer)

    expect(page.locator("#grade-progress strong")).to_have_text("1")
    judgment = Judgment.objects.get(reviewer=reviewer)
    assert judgment.answers == {
        "accuracy": 5,
        "harm": "mild",
        "safe": False,
        "comment": "Written before the session ran out.",
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_pair_compared_when_the_session_expired_is_saved_after_login(
    page, workspace, clinicians, reviewer
):
    make_pairwise_queue(workspace, cohorts=[clinicians], pairs=2, k=1)
    login(page, reviewer.username)
    page.goto(f"/w/{workspace.slug}/")
    page.click("text=Start grading")
    expect(page.locator("#pref-choice")).to_be_focused()
    page.keyboard.press("a")
    page.keyboard.press("2")
    page.fill("#rationale", "Kept while the session ran out.")
    a_on_left = Assignment.objects.get(reviewer=reviewer).a_on_left

    submit_after_the_session_expired(page, reviewer)

    expect(page.locator("#grade-progress")).to_contain_text("compared 1 pair")
    judgment = Judgment.objects.get(reviewer=reviewer)
    assert judgment.answers["preference"] == ("a" if a_on_left else "b")
    assert judgment.answers["strength"] == 2
    assert judgment.answers["rationale"] == "Kept while the session ran out."
