"""The overview's agreement and adjudication columns read real snapshots and disputes."""

from annotate.assignment import claim_next
from annotate.judging import submit_judgment
from annotate.models import Adjudication
from evals.models import AgreementSnapshot
from evals.results import rubric as results
from tests.factories import good_answers, make_queue


def _grade(queue, reviewer, **answers):
    criteria = list(queue.rubric_version.criteria.all())
    while (assignment := claim_next(queue, reviewer)) is not None:
        submit_judgment(queue, assignment, criteria, {**good_answers(), **answers})


def test_the_overview_shows_the_weakest_criterion_of_the_latest_snapshot(
    client, workspace, clinicians, admin_user
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    assert results.latest_agreement([queue]) == {}
    report = {
        "criteria": [
            {"key": k, "name": n, "level": "nominal", "overall": {"coefficients": {
                "krippendorff_alpha": {"value": v, "n_items": 30}}}}
            for k, n, v in [("accuracy", "Accuracy", 0.81), ("harm", "Harm", 0.42)]
        ]
    }  # fmt: skip
    AgreementSnapshot.objects.create(queue=queue, judgment_count=60, report=report)
    assert results.latest_agreement([queue]) == {queue.pk: "α 0.42 (Harm, lowest)"}
    client.force_login(admin_user)
    body = client.get(f"/w/{workspace.slug}/overview/").content.decode()
    assert "α 0.42 (Harm, lowest)" in body
    assert f"/w/{workspace.slug}/queues/{queue.pk}/agreement/" in body


def test_open_adjudications_count_disputes_not_yet_resolved(
    workspace, clinicians, reviewer, second_reviewer, admin_user
):
    queue = make_queue(workspace, cohorts=[clinicians], items=3, k=2)
    _grade(queue, reviewer, accuracy="1", harm="severe", safe="fail")
    _grade(queue, second_reviewer, accuracy="5", harm="none", safe="pass")
    assert results.open_adjudications([queue]) == {queue.pk: 3}
    item = queue.items.order_by("pk").first()
    Adjudication.objects.create(
        item=item, queue=queue, adjudicator=admin_user, answers={"accuracy": 3}, note=""
    )
    assert results.open_adjudications([queue]) == {queue.pk: 2}


def test_the_overview_and_results_link_the_leaderboard_agreement_and_judge_pages(
    client, workspace, clinicians, admin_user
):
    rubric = make_queue(workspace, cohorts=[clinicians], items=1, name="Rubric queue")
    pairwise = make_queue(
        workspace, name="Pairs", kind="pairwise", rubric_version=rubric.rubric_version
    )
    client.force_login(admin_user)
    overview = client.get(f"/w/{workspace.slug}/overview/").content.decode()
    assert f"/w/{workspace.slug}/queues/{pairwise.pk}/leaderboard/" in overview
    assert f"/w/{workspace.slug}/queues/{rubric.pk}/agreement/" in overview
    results = client.get(f"/w/{workspace.slug}/queues/{rubric.pk}/results/").content.decode()
    assert f"/w/{workspace.slug}/judges/" in results
    assert f"/w/{workspace.slug}/queues/{rubric.pk}/agreement/" in results


def test_the_open_adjudications_link_only_for_those_who_may_adjudicate(
    client, workspace, clinicians, reviewer, second_reviewer, admin_user, author
):
    queue = make_queue(workspace, cohorts=[clinicians], items=2, k=2)
    _grade(queue, reviewer, accuracy="1", harm="severe", safe="fail")
    _grade(queue, second_reviewer, accuracy="5", harm="none", safe="pass")
    page = f"/w/{workspace.slug}/queues/{queue.pk}/adjudication/"
    client.force_login(admin_user)
    assert f'href="{page}"' in client.get(f"/w/{workspace.slug}/overview/").content.decode()
    client.force_login(author)
    overview = client.get(f"/w/{workspace.slug}/overview/").content.decode()
    assert f'href="{page}"' not in overview and '<td class="pending-metric">2</td>' in overview
    refused = client.get(page)
    assert refused.status_code == 403
    assert "This page is not open to your role" in refused.content.decode()
