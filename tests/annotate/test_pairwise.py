"""Pairwise grading: blinding, balanced sides, answers in output terms, swap checks."""

from __future__ import annotations

import random
import re

import pytest
from django.urls import reverse

from annotate.judging import Outcome
from annotate.models import Assignment, Item, Judgment, SwapCheck
from annotate.pairwise import (
    SWAP_CHECK_GAP,
    claim_pair,
    find_task,
    submit_pair,
    to_output,
    validate_pairwise,
)
from tests.annotate.pairwise_helpers import SECRET_NAMES, make_pairwise_queue
from tests.factories import UserFactory


def grade_url(workspace, queue) -> str:
    return reverse("grade", args=[workspace.slug, queue.pk])


def submit_url(workspace, queue, ticket) -> str:
    return reverse("pairwise-submit", args=[workspace.slug, queue.pk, ticket])


def answer(queue, task, choice="left", **extra):
    raw = {"choice": choice, "strength": "", "rationale": "", "criteria": {}, **extra}
    return submit_pair(queue, task, list(queue.rubric_version.criteria.all()), raw)


# --- The page ----------------------------------------------------------------------------------


def test_the_page_shows_two_responses_and_no_model_identity(
    client, workspace, clinicians, reviewer
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=2, secret=True)
    client.force_login(reviewer)
    response = client.get(grade_url(workspace, queue))
    assert response.status_code == 200
    body = response.content.decode()
    assert "ALPHA" in body and "BETA" in body
    assert "Response A" in body and "Response B" in body
    for secret in SECRET_NAMES:
        assert secret not in body
    assert "output_b" not in body and 'value="a"' not in body and 'value="b"' not in body
    assignment = Assignment.objects.get(reviewer=reviewer)
    assert str(assignment.pk) not in re.findall(r'action="([^"]+)"', body)[0]


def test_the_left_response_is_output_a_or_b_as_placed(client, workspace, clinicians, reviewer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=1)
    client.force_login(reviewer)
    body = client.get(grade_url(workspace, queue)).content.decode()
    assignment = Assignment.objects.get(reviewer=reviewer)
    first, second = ("ALPHA", "BETA") if assignment.a_on_left else ("BETA", "ALPHA")
    assert body.index(first) < body.index(second)


def test_a_rubric_queue_still_gets_the_rubric_page(client, workspace, clinicians, reviewer):
    from tests.factories import make_queue

    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    client.force_login(reviewer)
    body = client.get(grade_url(workspace, queue)).content.decode()
    assert "Agreement with medical consensus" in body and "Response A" not in body
    assert Assignment.objects.get(reviewer=reviewer).a_on_left is None


def test_submitting_records_the_choice_in_terms_of_the_outputs(
    client, workspace, clinicians, reviewer
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=2)
    client.force_login(reviewer)
    client.get(grade_url(workspace, queue))
    assignment = Assignment.objects.get(reviewer=reviewer, state="leased")
    response = client.post(
        submit_url(workspace, queue, assignment.ticket),
        {"choice": "left", "strength": "2", "rationale": "Clearer.", "pc-accuracy": "right"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="grade-item"')
    judgment = Judgment.objects.get(reviewer=reviewer)
    left, right = ("a", "b") if assignment.a_on_left else ("b", "a")
    assert judgment.answers == {
        "preference": left,
        "strength": 2,
        "rationale": "Clearer.",
        "criteria": {"accuracy": right},
        "a_on_left": assignment.a_on_left,
        "chose_left": True,
    }


def test_submitting_without_a_choice_shows_the_error_and_saves_nothing(
    client, workspace, clinicians, reviewer
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=1)
    client.force_login(reviewer)
    client.get(grade_url(workspace, queue))
    ticket = Assignment.objects.get(reviewer=reviewer).ticket
    response = client.post(
        submit_url(workspace, queue, ticket), {"rationale": "x"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="err-choice"' in body and "Choose which response is better" in body
    assert Judgment.objects.count() == 0


def test_a_rationale_shorter_than_the_queue_asks_is_refused(
    client, workspace, clinicians, reviewer
):
    queue = make_pairwise_queue(
        workspace, cohorts=[clinicians], pairs=1, rationale_required=True, rationale_min_length=20
    )
    client.force_login(reviewer)
    client.get(grade_url(workspace, queue))
    ticket = Assignment.objects.get(reviewer=reviewer).ticket
    response = client.post(
        submit_url(workspace, queue, ticket), {"choice": "tie", "rationale": "too short"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert response.status_code == 422
    assert "at least 20 characters (you wrote 9)" in response.content.decode()
    assert 'value="tie" data-key="t" tabindex="-1" checked' in response.content.decode()
    assert Judgment.objects.count() == 0


def test_the_same_submit_twice_makes_one_judgment(client, workspace, clinicians, reviewer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=2)
    client.force_login(reviewer)
    client.get(grade_url(workspace, queue))
    ticket = Assignment.objects.get(reviewer=reviewer, state="leased").ticket
    for _ in range(2):
        response = client.post(
            submit_url(workspace, queue, ticket), {"choice": "right"}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
    assert Judgment.objects.filter(reviewer=reviewer).count() == 1
    assert "already saved" in response.content.decode()


def test_skip_releases_the_slot_and_shows_the_next_pair(client, workspace, clinicians, reviewer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=2)
    client.force_login(reviewer)
    client.get(grade_url(workspace, queue))
    first = Assignment.objects.get(reviewer=reviewer, state="leased")
    url = reverse("pairwise-skip", args=[workspace.slug, queue.pk, first.ticket])
    response = client.post(url, {"reason": "cannot judge"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Skipped." in response.content.decode()
    first.refresh_from_db()
    assert first.state == "skipped" and Item.objects.get(pk=first.item_id).reserved == 0


# --- Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("screen", "a_on_left", "output"),
    [("left", True, "a"), ("left", False, "b"), ("right", True, "b"), ("right", False, "a"),
     ("tie", False, "tie"), ("both_bad", True, "both_bad")],
)  # fmt: skip
def test_screen_sides_map_to_outputs(screen, a_on_left, output):
    assert to_output(screen, a_on_left) == output


def test_strength_is_dropped_for_a_tie_and_required_criteria_need_an_answer(workspace):
    queue = make_pairwise_queue(workspace, required_criteria=True)
    criteria = list(queue.rubric_version.criteria.all())
    answers, errors = validate_pairwise(queue, True, criteria, {"choice": "tie", "strength": "2"})
    assert answers["strength"] is None and answers["chose_left"] is None
    assert errors == {"pc-accuracy": "Choose which response is better on this."}
    _, errors = validate_pairwise(
        queue, True, criteria, {"choice": "up", "criteria": {"x": "left"}}
    )
    assert set(errors) == {"choice", "pc-accuracy", "unknown_criteria"}


# --- Balance and swap checks -------------------------------------------------------------------


@pytest.mark.django_db
def test_left_and_right_are_balanced_over_1000_assignments(workspace, clinicians):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=250, k=4)
    reviewers = [UserFactory(username=f"balance-{n}") for n in range(4)]
    rng = random.Random(4)
    for user in reviewers:
        for _ in range(250):
            task = claim_pair(queue, user, rng=rng)
            # Finish the lease cheaply (the answer does not matter to placement).
            Assignment.objects.filter(pk=task.assignment.pk).update(state="submitted")
    placed = list(Assignment.objects.filter(queue=queue).values_list("reviewer_id", "a_on_left"))
    assert len(placed) == 1000
    assert abs(sum(side for _, side in placed) - 500) <= len(reviewers)
    for user in reviewers:
        mine = [side for reviewer_id, side in placed if reviewer_id == user.pk]
        assert abs(sum(mine) - 125) <= 1
    # Within an item the sides vary (k=4 reviewers do not all see the same placement).
    per_item = {}
    for item_id, side in Assignment.objects.filter(queue=queue).values_list("item_id", "a_on_left"):
        per_item.setdefault(item_id, set()).add(side)
    assert sum(len(s) == 2 for s in per_item.values()) > 100


def test_a_swap_check_shows_a_judged_pair_again_with_sides_swapped_outside_k(
    workspace, clinicians, reviewer
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=8, swap_check_rate=0.0)
    for _ in range(SWAP_CHECK_GAP + 1):
        answer(queue, claim_pair(queue, reviewer), choice="left")
    queue.swap_check_rate = 1.0
    queue.save(update_fields=["swap_check_rate"])
    task = claim_pair(queue, reviewer, rng=random.Random(0))
    assert task.check is not None and task.assignment is None
    original = task.check.original
    assert original.item_id == task.item.pk
    assert (
        original.created_at
        == Judgment.objects.filter(reviewer=reviewer).earliest("created_at").created_at
    )
    assert task.a_on_left is not original.answers["a_on_left"]
    reserved = Item.objects.get(pk=task.item.pk).reserved
    # The reviewer picks the same output as before, which is now on the other side.
    result = answer(queue, task, choice="right")
    assert result.outcome == Outcome.SAVED
    check = SwapCheck.objects.get(pk=task.check.pk)
    assert check.state == "submitted" and check.preference == original.answers["preference"]
    item = Item.objects.get(pk=task.item.pk)
    assert (item.reserved, item.judgment_count) == (reserved, 1)
    assert Judgment.objects.filter(reviewer=reviewer).count() == SWAP_CHECK_GAP + 1
    assert answer(queue, task, choice="right").outcome == Outcome.DUPLICATE


def test_no_swap_check_until_a_pair_is_more_than_the_gap_behind(workspace, clinicians, reviewer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=5, swap_check_rate=1.0)
    for _ in range(SWAP_CHECK_GAP + 1):
        task = claim_pair(queue, reviewer)
        assert task.check is None
        answer(queue, task)
    assert claim_pair(queue, reviewer).check is not None


def test_a_swap_check_page_looks_like_any_other_pair(client, workspace, clinicians, reviewer):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=6)
    client.force_login(reviewer)
    for _ in range(SWAP_CHECK_GAP + 1):
        answer(queue, claim_pair(queue, reviewer))
    normal = client.get(grade_url(workspace, queue)).content.decode()
    Assignment.objects.filter(reviewer=reviewer, state="leased").update(state="skipped")
    queue.swap_check_rate = 1.0
    queue.save(update_fields=["swap_check_rate"])
    check_page = client.get(grade_url(workspace, queue)).content.decode()
    assert SwapCheck.objects.filter(reviewer=reviewer, state="leased").exists()

    def skeleton(html: str) -> str:
        html = re.sub(r"/pairs/[^/]+/", "/pairs/T/", html)
        html = re.sub(r"Left-or-right text [^<]*", "OUTPUT", html)
        html = re.sub(r'<p class="diff-text">.*?</p>', "DIFF", html)
        html = re.sub(r"Patient question \d+", "Q", html)
        html = re.sub(r"compared <strong>\d+</strong>", "N", html)
        html = re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)

    assert skeleton(normal) == skeleton(check_page)
    fragment = check_page[check_page.index('<div id="grade-item"') :]
    visible = fragment.lower().replace("hx-swap", "")
    assert "swap" not in visible and "again" not in visible and "check" not in visible
    # Answering the repeat moves the counter like any other pair.
    ticket = SwapCheck.objects.get(reviewer=reviewer).ticket
    after = client.post(
        submit_url(workspace, queue, ticket), {"choice": "tie"}, HTTP_HX_REQUEST="true"
    )
    assert f"compared <strong>{SWAP_CHECK_GAP + 2}</strong>" in after.content.decode()


# --- Permissions -------------------------------------------------------------------------------


def test_tickets_are_private_to_their_reviewer(
    client, workspace, clinicians, reviewer, second_reviewer
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=2)
    task = claim_pair(queue, reviewer)
    assert find_task(queue, second_reviewer, task.ticket) is None
    client.force_login(second_reviewer)
    response = client.post(submit_url(workspace, queue, task.ticket), {"choice": "left"})
    assert response.status_code == 404
    assert Judgment.objects.count() == 0


def test_outsiders_and_reviewers_outside_the_cohorts_get_404(
    client, workspace, clinicians, reviewer, outsider
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=1)
    task = claim_pair(queue, reviewer)
    client.force_login(outsider)
    assert client.get(grade_url(workspace, queue)).status_code == 404
    assert (
        client.post(submit_url(workspace, queue, task.ticket), {"choice": "left"}).status_code
        == 404
    )
    stranger = UserFactory(username="lay-person")
    from tests.factories import MembershipFactory

    MembershipFactory(workspace=workspace, user=stranger)
    client.force_login(stranger)
    assert client.get(grade_url(workspace, queue)).status_code == 404


def test_the_pairwise_urls_do_not_serve_a_rubric_queue(client, workspace, clinicians, reviewer):
    from tests.factories import make_queue

    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    client.force_login(reviewer)
    client.get(grade_url(workspace, queue))
    assert (
        client.post(submit_url(workspace, queue, "anything"), {"choice": "left"}).status_code == 404
    )


def test_the_new_pair_waits_behind_a_repeat_and_no_repeat_comes_once_nothing_is_new(
    workspace, clinicians, reviewer
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians], pairs=SWAP_CHECK_GAP + 2)
    for _ in range(SWAP_CHECK_GAP + 1):
        answer(queue, claim_pair(queue, reviewer))
    queue.swap_check_rate = 1.0
    queue.save(update_fields=["swap_check_rate"])
    repeat = claim_pair(queue, reviewer)
    assert repeat.check is not None
    held = Assignment.objects.get(reviewer=reviewer, state="leased")
    answer(queue, repeat)
    following = claim_pair(queue, reviewer)
    assert following.assignment is not None and following.assignment.pk == held.pk
    answer(queue, following)
    assert claim_pair(queue, reviewer) is None  # every pair judged: no repeat either
