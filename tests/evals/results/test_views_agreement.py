"""Agreement, reviewers and adjudication pages: permissions, content, the adjudication flow."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Adjudication, Judgment, Membership
from evals.models import AgreementSnapshot, Job
from evals.results import snapshots as agreement_snapshots
from tests.evals.stats.agreement_data import record, two_cohort_queue


@pytest.fixture
def disputed(workspace, clinicians):
    """Item 0: scores 1, 4, 5 (disputed); item 1: 4, 4, 4 (agreed)."""
    data = two_cohort_queue(workspace, items=2, clinic=clinicians)
    queue = data["queue"]
    docs = data["clinicians"]
    for doc, score in zip(docs, [1, 4, 5], strict=True):
        answers = {"accuracy": score, "safe": True, "harm": "none", "comment": f"by {doc}"}
        record(queue, data["items"][0], doc, answers)
    for doc in docs:
        record(queue, data["items"][1], doc, {"accuracy": 4, "safe": True, "harm": "none"})
    return data


def url(name, workspace, queue, *more):
    return reverse(name, args=[workspace.slug, queue.pk, *more])


PAGES = ["queue-agreement", "queue-reviewers"]


@pytest.mark.parametrize("page", PAGES)
def test_admins_authors_and_engineers_read_agreement_pages(
    client, workspace, disputed, admin_user, author, engineer, page
):
    for user in (admin_user, author, engineer):
        client.force_login(user)
        assert client.get(url(page, workspace, disputed["queue"])).status_code == 200


@pytest.mark.parametrize("page", [*PAGES, "queue-adjudication"])
def test_reviewers_get_403_and_outsiders_404(client, workspace, disputed, reviewer, outsider, page):
    client.force_login(reviewer)
    assert client.get(url(page, workspace, disputed["queue"])).status_code == 403
    client.force_login(outsider)
    assert client.get(url(page, workspace, disputed["queue"])).status_code == 404


def test_the_agreement_page_shows_the_latest_snapshot_and_its_trend(
    client, workspace, disputed, author, settings
):
    settings.QUORUM_AGREEMENT_RESAMPLES = 20
    queue = disputed["queue"]
    agreement_snapshots.take_snapshot(queue)
    agreement_snapshots.take_snapshot(queue)
    client.force_login(author)
    body = client.get(url("queue-agreement", workspace, queue)).content.decode()
    assert "Krippendorff&#x27;s alpha (ordinal)" in body
    assert 'data-chart="agreement-trend"' in body and 'id="agreement-trend"' in body
    assert body.count("<tr><td>20") >= 2  # a table row per snapshot and criterion
    assert "Doc-A · Doc-B" in body  # Cohen's kappa per pair, with names for staff
    csv = client.get(url("queue-agreement-csv", workspace, queue)).content.decode()
    assert csv.splitlines()[0].startswith("computed_at,judgments,key,name,level,alpha")
    assert len(csv.splitlines()) == 1 + 2 * 4  # two snapshots x four measured criteria


def test_compute_now_creates_one_snapshot_job(client, workspace, disputed, engineer):
    client.force_login(engineer)
    target = url("queue-agreement-compute", workspace, disputed["queue"])
    assert client.post(target).status_code == 302
    assert client.post(target).status_code == 302
    assert Job.objects.filter(kind="agreement").count() == 1
    assert AgreementSnapshot.objects.count() == 0  # the worker computes it


def test_the_reviewers_page_lists_each_reviewer(client, workspace, disputed, admin_user):
    client.force_login(admin_user)
    body = client.get(url("queue-reviewers", workspace, disputed["queue"])).content.decode()
    for name in ("Doc-A", "Doc-B", "Doc-C"):
        assert name in body


def test_only_adjudicators_see_the_adjudication_list(
    client, workspace, disputed, reviewer, admin_user, engineer
):
    queue = disputed["queue"]
    client.force_login(engineer)
    assert client.get(url("queue-adjudication", workspace, queue)).status_code == 403
    client.force_login(admin_user)  # admins always adjudicate
    assert client.get(url("queue-adjudication", workspace, queue)).status_code == 200
    Membership.objects.filter(user=reviewer).update(can_adjudicate=True)
    client.force_login(reviewer)
    body = client.get(url("queue-adjudication", workspace, queue)).content.decode()
    assert f'data-item="{disputed["items"][0].pk}"' in body
    assert f'data-item="{disputed["items"][1].pk}"' not in body  # everyone agreed
    assert "scores 1 to 5" in body


def test_reviewer_names_are_hidden_unless_the_queue_shows_them(
    client, workspace, disputed, admin_user
):
    queue = disputed["queue"]
    item = disputed["items"][0]
    client.force_login(admin_user)
    body = client.get(url("queue-adjudicate", workspace, queue, item.pk)).content.decode()
    assert "Reviewer 1" in body and "Reviewer 3" in body
    assert "Doc-A" not in body
    queue.show_reviewer_names = True
    queue.save(update_fields=["show_reviewer_names"])
    body = client.get(url("queue-adjudicate", workspace, queue, item.pk)).content.decode()
    assert "Doc-A" in body


def test_an_adjudicator_records_the_final_answer_and_the_judgments_remain(
    client, workspace, disputed, admin_user
):
    queue = disputed["queue"]
    item = disputed["items"][0]
    before = list(
        Judgment.objects.filter(item=item).order_by("id").values_list("answers", flat=True)
    )
    client.force_login(admin_user)
    target = url("queue-adjudicate", workspace, queue, item.pk)
    response = client.post(
        target,
        {"c-accuracy": "4", "c-safe": "pass", "c-harm": "none", "note": "Two of three say 4-5."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="decision"')
    final = Adjudication.objects.get(item=item)
    assert final.answers == {"accuracy": 4, "safe": True, "harm": "none"}
    assert final.note == "Two of three say 4-5." and final.adjudicator == admin_user
    after = list(
        Judgment.objects.filter(item=item).order_by("id").values_list("answers", flat=True)
    )
    assert after == before
    body = client.get(url("queue-adjudication", workspace, queue)).content.decode()
    assert f'data-item="{item.pk}"' not in body  # resolved items leave the open list
    assert (
        client.post(target, {"c-accuracy": "5", "c-safe": "fail", "c-harm": "mild"}).status_code
        == 302
    )
    assert Adjudication.objects.get(item=item).answers["accuracy"] == 5  # revised, still one row
    assert Adjudication.objects.count() == 1


def test_invalid_final_answers_show_errors_and_save_nothing(
    client, workspace, disputed, admin_user
):
    queue = disputed["queue"]
    client.force_login(admin_user)
    target = url("queue-adjudicate", workspace, queue, disputed["items"][0].pk)
    response = client.post(target, {"c-accuracy": "9", "c-harm": "none"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Choose a level from 1 to 5." in response.content.decode()
    assert not Adjudication.objects.exists()


def test_an_item_of_another_queue_is_404(client, workspace, disputed, admin_user, outsider):
    from tests.factories import make_queue

    other = make_queue(workspace, name="Other", items=1)
    client.force_login(admin_user)
    target = url("queue-adjudicate", workspace, disputed["queue"], other.items.get().pk)
    assert client.get(target).status_code == 404
