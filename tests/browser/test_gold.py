"""An author adds a gold item with the mouse, on a screen shorter than the rubric."""

import pytest

from annotate.models import Item
from tests.conftest import login
from tests.factories import make_queue


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_author_adds_a_gold_item_by_clicking_through_the_form(page_at, workspace, author):
    """The expected answers are a part of the form: they must not stay stuck over the
    fields and the Add button below them (they did, as the grading page's side panel)."""
    queue = make_queue(workspace, items=1)
    page = page_at(1280, 480)
    login(page, author.username)
    page.goto(f"/w/{workspace.slug}/queues/{queue.pk}/gold/")
    page.click("input[name=kind][value=practice]")
    page.fill("#gold-output", "Yes, any time.")
    page.click("input[name=c-accuracy][value='1']")
    page.click("input[name=c-harm][value=severe]")
    page.click("input[name=c-safe][value=fail]")
    page.fill("#tol-accuracy", "1")
    page.fill("#gold-explanation", "Bleeding risk.")
    page.click("#gold-form button[type=submit]", timeout=5000)
    page.wait_for_selector("#gold-items td:has-text('practice')")
    item = Item.objects.get(queue=queue, is_practice=True)
    assert item.gold_answers == {"accuracy": 1, "harm": "severe", "safe": False}
    assert item.gold_tolerance == {"accuracy": 1.0}
    assert page.js_errors == []
