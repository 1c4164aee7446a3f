"""Gold items: serving rate, indistinguishable pages, accuracy, and pausing a reviewer."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from annotate import gold
from annotate.assignment import claim_next, release
from annotate.models import Assignment, CriterionKind, Item, ReviewerPause
from tests.factories import good_answers, make_queue

GOLD = {"accuracy": "4", "harm": "none", "safe": "pass"}


def _criteria(queue):
    return list(queue.rubric_version.criteria.all())


def _make_gold(queue, count: int) -> list[Item]:
    items = list(queue.items.order_by("id")[:count])
    for item in items:
        gold.mark_gold(item, _criteria(queue), GOLD, tolerance={"accuracy": 1}, explanation="Why.")
    return items


def test_gold_items_are_served_at_the_configured_rate(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=500, gold_rate=0.25)
    _make_gold(queue, 150)
    served = []
    for _ in range(300):
        assignment = claim_next(queue, reviewer)
        served.append(assignment.item.is_gold)
        release(assignment)
    share = sum(served) / len(served)
    assert 0.15 < share < 0.35
    assert (
        len({a for a in Assignment.objects.filter(reviewer=reviewer).values_list("item_id")}) == 300
    )


def test_without_a_gold_rate_gold_items_are_never_served(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=20)
    _make_gold(queue, 10)
    for _ in range(10):
        assignment = claim_next(queue, reviewer)
        assert not assignment.item.is_gold
        release(assignment)
    assert claim_next(queue, reviewer) is None  # only gold is left: nothing to grade


def test_marking_gold_takes_the_item_out_of_the_queue_progress(workspace):
    queue = make_queue(workspace, items=3)
    _make_gold(queue, 1)
    queue.refresh_from_db()
    assert queue.items_total == 2
    item = queue.items.get(is_gold=True)
    assert item.gold_answers == {"accuracy": 4, "harm": "none", "safe": True}
    assert item.judgments_needed == gold.GOLD_SLOTS


def test_gold_answers_are_validated_against_the_rubric(workspace):
    queue = make_queue(workspace, items=1)
    with pytest.raises(gold.GoldError, match="accuracy"):
        gold.mark_gold(queue.items.get(), _criteria(queue), {**GOLD, "accuracy": "9"})


def _skeleton(html: str) -> str:
    fragment = html[html.index('<div id="grade-item"') : html.index("</main>")]
    fragment = re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "csrf", fragment)
    return re.sub(r"\d+", "0", fragment)


def test_a_gold_item_page_has_exactly_the_shape_of_a_normal_one(
    client, workspace, clinicians, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=2, gold_rate=1.0)
    Item.objects.filter(queue=queue).update(input_text="Same question", output="Same answer")
    normal, golden = list(queue.items.order_by("id"))
    gold.mark_gold(golden, _criteria(queue), GOLD, explanation="Secret explanation")
    client.force_login(reviewer)
    pages = {}
    for _ in range(2):
        body = client.get(reverse("grade", args=[workspace.slug, queue.pk])).content.decode()
        assignment = Assignment.objects.get(reviewer=reviewer, state="leased")
        pages[assignment.item.is_gold] = body
        release(assignment)
    assert set(pages) == {True, False}
    assert _skeleton(pages[True]) == _skeleton(pages[False])
    assert "gold" not in pages[True].lower().replace("golden", "")
    assert "Secret explanation" not in pages[True]


def test_matching_uses_the_tolerance_for_scales_and_exact_values_otherwise():
    assert gold.matches(CriterionKind.LIKERT, 3, 4, tolerance=1)
    assert not gold.matches(CriterionKind.LIKERT, 2, 4, tolerance=1)
    assert gold.matches(CriterionKind.NUMERIC, 10.5, 10, tolerance=0.5)
    assert gold.matches(CriterionKind.PASS_FAIL, True, True)
    assert not gold.matches(CriterionKind.CATEGORICAL, "mild", "none")
    assert gold.matches(CriterionKind.FREE_TEXT, "a", "b") is None


def test_a_reviewer_below_the_gold_threshold_is_paused_and_authors_are_told(
    client, workspace, clinicians, reviewer, author
):
    queue = make_queue(
        workspace, cohorts=[clinicians], items=6, gold_rate=1.0, gold_min_accuracy=0.8
    )
    _make_gold(queue, 3)
    client.force_login(reviewer)
    wrong = {**good_answers(), "accuracy": "1", "harm": "severe", "safe": "fail"}
    for _ in range(3):
        client.get(reverse("grade", args=[workspace.slug, queue.pk]))
        assignment = Assignment.objects.get(reviewer=reviewer, state="leased")
        assert assignment.item.is_gold
        url = reverse("submit", args=[workspace.slug, queue.pk, assignment.pk])
        client.post(url, {f"c-{k}": v for k, v in wrong.items()}, HTTP_HX_REQUEST="true")
    accuracy = gold.accuracy(queue, _criteria(queue))[reviewer.pk]
    assert accuracy["items"] == 3 and accuracy["accuracy"] == 0
    assert accuracy["by_criterion"] == {"accuracy": 0, "harm": 0, "safe": 0}
    pause = ReviewerPause.objects.get(queue=queue, reviewer=reviewer)
    assert "below the queue's threshold of 80%" in pause.reason
    assert claim_next(queue, reviewer) is None  # paused: no more items
    assert len(mail.outbox) == 1 and author.email in mail.outbox[0].to


def test_an_accurate_reviewer_is_not_paused(client, workspace, clinicians, reviewer):
    queue = make_queue(
        workspace, cohorts=[clinicians], items=6, gold_rate=1.0, gold_min_accuracy=0.8
    )
    _make_gold(queue, 3)
    client.force_login(reviewer)
    close = {**good_answers(), "accuracy": "5"}  # within the tolerance of 1
    for _ in range(3):
        client.get(reverse("grade", args=[workspace.slug, queue.pk]))
        assignment = Assignment.objects.get(reviewer=reviewer, state="leased")
        url = reverse("submit", args=[workspace.slug, queue.pk, assignment.pk])
        client.post(url, {f"c-{k}": v for k, v in close.items()}, HTTP_HX_REQUEST="true")
    assert gold.accuracy(queue, _criteria(queue))[reviewer.pk]["accuracy"] == 1
    assert not ReviewerPause.objects.exists()
