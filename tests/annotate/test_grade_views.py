from django.urls import reverse

from annotate.models import Assignment, Judgment
from tests.factories import good_answers, make_queue


def _post_answers(answers: dict) -> dict:
    return {f"c-{key}": value for key, value in answers.items()}


def test_it_shows_the_reviewer_an_item_with_the_rubric(client, workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=3)
    client.force_login(reviewer)
    response = client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Agreement with medical consensus" in body
    assert "Fully agrees with consensus" in body  # level descriptions next to the scale
    assert 'id="grade-form"' in body
    assert Assignment.objects.filter(reviewer=reviewer, state="leased").count() == 1


def test_it_hides_the_model_identity(client, workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    queue.items.update(model_name="gpt-secret-model", model_version="secret-v9")
    client.force_login(reviewer)
    body = client.get(reverse("grade", args=[workspace.slug, queue.pk])).content.decode()
    assert "gpt-secret-model" not in body
    assert "secret-v9" not in body


def test_submit_records_a_judgment_and_swaps_in_the_next_item(
    client, workspace, clinicians, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=3)
    client.force_login(reviewer)
    client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    assignment = Assignment.objects.get(reviewer=reviewer, state="leased")
    url = reverse("submit", args=[workspace.slug, queue.pk, assignment.pk])
    response = client.post(url, _post_answers(good_answers()), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="grade-item"')  # the fragment, not the page
    assert "<html" not in body
    judgment = Judgment.objects.get(reviewer=reviewer)
    assert judgment.answers == {"accuracy": 4, "harm": "none", "safe": True, "comment": "Fine."}
    assert Assignment.objects.filter(reviewer=reviewer, state="leased").count() == 1


def test_invalid_answers_rerender_the_form_with_errors_and_save_nothing(
    client, workspace, clinicians, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    client.force_login(reviewer)
    client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    assignment = Assignment.objects.get(reviewer=reviewer)
    url = reverse("submit", args=[workspace.slug, queue.pk, assignment.pk])
    answers = {**good_answers(), "accuracy": "9", "bogus": "1"}
    del answers["safe"]
    response = client.post(url, _post_answers(answers), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    body = response.content.decode()
    assert "Choose a level from 1 to 5." in body
    assert "This criterion needs an answer." in body
    assert "Unknown criteria: bogus." in body
    assert 'id="err-accuracy"' in body and 'id="err-safe"' in body
    assert Judgment.objects.count() == 0


def test_the_same_submit_twice_makes_one_judgment(client, workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=2)
    client.force_login(reviewer)
    client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    assignment = Assignment.objects.get(reviewer=reviewer)
    url = reverse("submit", args=[workspace.slug, queue.pk, assignment.pk])
    for _ in range(2):
        response = client.post(url, _post_answers(good_answers()), HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    assert Judgment.objects.filter(reviewer=reviewer).count() == 1
    assert "already saved" in response.content.decode()


def test_it_returns_404_for_another_workspaces_queue(client, workspace, clinicians, outsider):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    client.force_login(outsider)
    assert client.get(reverse("grade", args=[workspace.slug, queue.pk])).status_code == 404
    assert client.get(reverse("grade", args=["other-team", queue.pk])).status_code == 404


def test_it_returns_404_for_a_queue_not_open_to_the_reviewers_cohort(client, workspace, reviewer):
    queue = make_queue(workspace, cohorts=[], items=1)
    client.force_login(reviewer)
    assert client.get(reverse("grade", args=[workspace.slug, queue.pk])).status_code == 404


def test_it_returns_404_for_another_reviewers_assignment(
    client, workspace, clinicians, reviewer, second_reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=2)
    client.force_login(second_reviewer)
    client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    theirs = Assignment.objects.get(reviewer=second_reviewer)
    client.force_login(reviewer)
    url = reverse("submit", args=[workspace.slug, queue.pk, theirs.pk])
    assert client.post(url, _post_answers(good_answers())).status_code == 404


def test_anonymous_users_are_sent_to_login(client, workspace, clinicians):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    response = client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_skip_releases_the_slot_and_records_the_reason(client, workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=2)
    client.force_login(reviewer)
    client.get(reverse("grade", args=[workspace.slug, queue.pk]))
    first = Assignment.objects.get(reviewer=reviewer)
    url = reverse("skip", args=[workspace.slug, queue.pk, first.pk])
    response = client.post(url, {"reason": "outside my expertise"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.state == "skipped" and first.skip_reason == "outside my expertise"
    first.item.refresh_from_db()
    assert first.item.reserved == 0
    assert (
        Assignment.objects.filter(reviewer=reviewer, state="leased").exclude(pk=first.pk).exists()
    )


def test_get_is_the_only_method_for_the_grading_page(client, workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    client.force_login(reviewer)
    assert client.post(reverse("grade", args=[workspace.slug, queue.pk])).status_code == 405
