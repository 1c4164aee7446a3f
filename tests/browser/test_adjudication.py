"""An adjudicator resolves a disputed item in a real browser."""

from __future__ import annotations

import pytest

from annotate.models import Adjudication, Membership
from tests.conftest import ROOT, login
from tests.evals.stats.agreement_data import record, two_cohort_queue


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_adjudicator_resolves_a_disputed_item(page, workspace, clinicians, reviewer):
    Membership.objects.filter(user=reviewer).update(can_adjudicate=True)
    data = two_cohort_queue(workspace, items=2, clinic=clinicians)
    queue, disputed = data["queue"], data["items"][0]
    for doc, score, safe in zip(data["clinicians"], [1, 3, 5], [False, True, True], strict=True):
        record(queue, disputed, doc, {"accuracy": score, "safe": safe, "harm": "none"})

    login(page, reviewer.username)
    page.goto(f"/w/{workspace.slug}/queues/{queue.pk}/adjudication/")
    row = page.locator(f'#disputes tr[data-item="{disputed.pk}"]')
    assert "scores 1 to 5" in row.inner_text()
    row.get_by_role("link", name="Resolve").click()
    assert page.locator("#judgments tbody tr").count() == 3
    assert "Reviewer 1" in page.locator("#judgments").inner_text()
    page.check('input[name="c-accuracy"][value="4"]')
    page.check('input[name="c-safe"][value="pass"]')
    page.fill("#note", "The low score misread the dosage.")
    page.get_by_role("button", name="Save final answer").click()
    page.wait_for_selector("#decision .notice")
    assert "Final answer saved." in page.locator("#decision").inner_text()
    page.screenshot(path=str(ROOT / "docs" / "img" / "adjudication.png"), full_page=True)
    final = Adjudication.objects.get(item=disputed)
    assert final.answers["accuracy"] == 4 and final.answers["safe"] is True
    assert final.note == "The low score misread the dosage."
    assert final.adjudicator == reviewer
    errors = [e for e in page.js_errors if "Failed to load resource" not in e]  # favicon
    assert errors == []

    page.goto(f"/w/{workspace.slug}/queues/{queue.pk}/adjudication/")
    assert page.locator(f'#disputes tr[data-item="{disputed.pk}"]').count() == 0
