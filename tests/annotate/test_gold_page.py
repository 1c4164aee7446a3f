"""Authors add gold and practice items with their expected answers in the browser."""

import pytest

from annotate.models import AuditEvent, Item
from tests.factories import make_queue


def _post(client, workspace, queue, **fields):
    data = {
        "kind": "gold",
        "input": "Can I take ibuprofen with warfarin?",
        "output": "Yes, any time.",
        "c-accuracy": "1",
        "c-harm": "severe",
        "c-safe": "fail",
        "tol-accuracy": "1",
        "explanation": "Bleeding risk: **never** without advice.",
        **fields,
    }
    return client.post(f"/w/{workspace.slug}/queues/{queue.pk}/gold/", data)


def test_an_author_adds_a_gold_item_with_expected_answers(client, workspace, author):
    queue = make_queue(workspace, items=2)
    client.force_login(author)
    response = _post(client, workspace, queue)
    assert response.status_code == 302
    item = Item.objects.get(queue=queue, is_gold=True)
    assert item.gold_answers == {"accuracy": 1, "harm": "severe", "safe": False}
    assert item.gold_tolerance == {"accuracy": 1.0}
    assert "Bleeding risk" in item.gold_explanation
    queue.refresh_from_db()
    assert queue.items_total == 2  # gold items are not counted as queue work
    assert AuditEvent.objects.filter(action="item.gold").exists()
    page = client.get(f"/w/{workspace.slug}/queues/{queue.pk}/gold/").content.decode()
    assert "Yes, any time." in page
    assert "<code>safe</code>: fail" in page and "False" not in page  # as reviewers read it


def test_a_practice_item_goes_to_the_calibration_round(client, workspace, author):
    queue = make_queue(workspace)
    client.force_login(author)
    _post(client, workspace, queue, kind="practice")
    assert Item.objects.get(queue=queue).is_practice


def test_bad_expected_answers_are_shown_and_nothing_is_saved(client, workspace, author):
    queue = make_queue(workspace)
    client.force_login(author)
    response = _post(client, workspace, queue, **{"c-accuracy": "9", "tol-accuracy": "-1"})
    assert response.status_code == 422
    assert "The tolerance cannot be negative." in response.content.decode()
    response = _post(client, workspace, queue, **{"c-accuracy": "9"})
    assert response.status_code == 422
    assert "Choose a level from 1 to 5." in response.content.decode()
    assert not Item.objects.filter(queue=queue).exists()


@pytest.mark.parametrize(
    ("who", "status"), [("engineer", 403), ("reviewer", 403), ("outsider", 404)]
)
def test_only_admins_and_authors_manage_gold_items(client, workspace, request, who, status):
    queue = make_queue(workspace)
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"/w/{workspace.slug}/queues/{queue.pk}/gold/").status_code == status
    assert _post(client, workspace, queue).status_code == status
    assert not Item.objects.filter(queue=queue).exists()
