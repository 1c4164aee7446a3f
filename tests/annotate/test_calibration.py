"""Calibration round: practice items with feedback before real items."""

from __future__ import annotations

from django.urls import reverse

from annotate import gold
from annotate.models import Assignment, Judgment, PracticeAnswer
from tests.factories import good_answers, make_queue


def _setup(workspace, clinicians, required=True):
    queue = make_queue(workspace, cohorts=[clinicians], items=4, calibration_required=required)
    criteria = list(queue.rubric_version.criteria.all())
    practice = list(queue.items.order_by("id")[:2])
    for item in practice:
        gold.mark_gold(
            item,
            criteria,
            {"accuracy": "2", "harm": "mild", "safe": "fail"},
            tolerance={"accuracy": 1},
            explanation="The answer **omits** the dose limit.",
            practice=True,
        )
    return queue, practice


def _post(answers):
    return {f"c-{k}": v for k, v in answers.items()}


def test_new_reviewers_get_practice_items_with_feedback_before_real_items(
    client, workspace, clinicians, reviewer
):
    queue, practice = _setup(workspace, clinicians)
    client.force_login(reviewer)
    grade_url = reverse("grade", args=[workspace.slug, queue.pk])
    for number, item in enumerate(practice, start=1):
        body = client.get(grade_url).content.decode()
        assert f"Practice item {number} of 2" in body
        assert not Assignment.objects.filter(reviewer=reviewer).exists()
        target = reverse("practice-submit", args=[workspace.slug, queue.pk, item.pk])
        response = client.post(target, _post(good_answers()), HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 200
        assert body.lstrip().startswith('<div id="practice"')
        assert "<strong>omits</strong> the dose limit" in body  # the author's explanation
        assert "differs" in body and "Expected" in body
    body = client.get(grade_url).content.decode()
    assert 'id="grade-item"' in body  # calibration done: real items now
    assignment = Assignment.objects.get(reviewer=reviewer)
    assert not assignment.item.is_practice
    assert PracticeAnswer.objects.filter(reviewer=reviewer).count() == 2
    assert not Judgment.objects.exists()  # practice answers are not judgments


def test_practice_answers_record_what_matched(client, workspace, clinicians, reviewer):
    queue, practice = _setup(workspace, clinicians)
    client.force_login(reviewer)
    target = reverse("practice-submit", args=[workspace.slug, queue.pk, practice[0].pk])
    client.post(target, _post({"accuracy": "3", "harm": "mild", "safe": "pass"}))
    answer = PracticeAnswer.objects.get(reviewer=reviewer)
    assert answer.correct == {"accuracy": True, "harm": True, "safe": False}


def test_invalid_practice_answers_rerender_with_errors(client, workspace, clinicians, reviewer):
    queue, practice = _setup(workspace, clinicians)
    client.force_login(reviewer)
    target = reverse("practice-submit", args=[workspace.slug, queue.pk, practice[0].pk])
    response = client.post(target, _post({"harm": "mild"}), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "This criterion needs an answer." in response.content.decode()
    assert not PracticeAnswer.objects.exists()


def test_practice_items_are_never_served_as_real_items(client, workspace, clinicians, reviewer):
    queue, practice = _setup(workspace, clinicians, required=False)
    client.force_login(reviewer)
    grade_url = reverse("grade", args=[workspace.slug, queue.pk])
    served = set()
    for _ in range(2):
        client.get(grade_url)
        assignment = Assignment.objects.get(reviewer=reviewer, state="leased")
        served.add(assignment.item_id)
        client.post(
            reverse("skip", args=[workspace.slug, queue.pk, assignment.pk]), {"reason": "other"}
        )
    assert served.isdisjoint({item.pk for item in practice})
    assert "Nothing more to grade here" in client.get(grade_url).content.decode()
