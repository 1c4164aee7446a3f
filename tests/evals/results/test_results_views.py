"""The results pages: who sees them, which fragment comes back, CSV, items behind a bar."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from evals.models import AlertEvent, AlertRule
from tests.evals.results.results_data import judge, judged_items, make_item
from tests.factories import make_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(workspace):
    q = make_queue(workspace)
    judged_items(q, "v1", [{"accuracy": 5, "harm": "none", "safe": True}] * 2)
    judged_items(q, "v2", [{"accuracy": 2, "harm": "mild", "safe": False}], day=3)
    return q


def _url(name, workspace, queue=None, **kw):
    args = [workspace.slug] + ([queue.pk] if queue else [])
    return reverse(name, args=args)


def test_authors_engineers_and_admins_see_the_results(
    client, workspace, queue, author, engineer, admin_user
):
    for user in (author, engineer, admin_user):
        client.force_login(user)
        response = client.get(_url("queue-results", workspace, queue))
        assert response.status_code == 200
        body = response.content.decode()
        assert 'data-chart="chart-weighted"' in body
        assert 'data-chart-config="{&quot;type&quot;:' in body  # the config, escaped
        assert "vendor/chartjs/chart.umd.min.js" in body


def test_reviewers_get_403_and_outsiders_404(client, workspace, queue, reviewer, outsider):
    for name in ("queue-results", "result-items", "queue-alerts"):
        client.force_login(reviewer)
        assert client.get(_url(name, workspace, queue)).status_code == 403
        client.force_login(outsider)
        assert client.get(_url(name, workspace, queue)).status_code == 404
    client.force_login(reviewer)
    assert client.get(_url("overview", workspace)).status_code == 403
    client.force_login(outsider)
    assert client.get(_url("overview", workspace)).status_code == 404


def test_another_workspaces_queue_is_404(client, workspace, queue, outsider):
    other_queue = make_queue(outsider.memberships.get().workspace, name="Theirs")
    client.force_login(outsider)
    url = reverse("queue-results", args=[workspace.slug, other_queue.pk])
    assert client.get(url).status_code == 404


def test_a_filter_change_over_htmx_returns_only_the_panels(client, workspace, queue, author):
    client.force_login(author)
    response = client.get(
        _url("queue-results", workspace, queue) + "?model_version=v2", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="panels"')
    assert "<html" not in body and "result-filters" not in body
    assert '<strong id="judgment-total">1</strong>' in body


def test_csv_download_has_the_same_numbers_as_the_table(client, workspace, queue, author):
    client.force_login(author)
    response = client.get(_url("queue-results", workspace, queue) + "?csv=dist-accuracy")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    v1 = {r["answer"]: r["count"] for r in rows if r["model_version"] == "v1"}
    assert v1 == {"1": "0", "2": "0", "3": "0", "4": "0", "5": "2"}
    filtered = client.get(
        _url("queue-results", workspace, queue) + "?csv=weighted&model_version=v1"
    )
    rows = list(csv.DictReader(io.StringIO(filtered.content.decode())))
    assert [(r["model_version"], r["n"], r["mean"]) for r in rows] == [("v1", "2", "1.0")]
    assert client.get(_url("queue-results", workspace, queue) + "?csv=nope").status_code == 404


def test_the_items_behind_a_bar_are_one_click_away(client, workspace, queue, author):
    client.force_login(author)
    body = client.get(_url("queue-results", workspace, queue)).content.decode()
    link = reverse("result-items", args=[workspace.slug, queue.pk])
    assert f"{link}?model_version=v2&amp;criterion=accuracy&amp;value=2" in body
    response = client.get(link + "?model_version=v2&criterion=accuracy&value=2")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<strong id="items-count">1</strong>' in page and "accuracy=2" in page
    response = client.get(link + "?criterion=safe&value=1")
    assert '<strong id="items-count">2</strong>' in response.content.decode()


def test_the_query_count_does_not_depend_on_the_number_of_judgments(
    client, workspace, queue, author, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(author)
    url = _url("queue-results", workspace, queue)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for n in range(30):
        judge(queue, make_item(queue, f"v{n % 3}"), {"accuracy": 1 + n % 5, "safe": n % 2 == 0})
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)


def test_the_overview_shows_progress_freshness_and_open_alerts(client, workspace, queue, author):
    rule = AlertRule.objects.create(workspace=workspace, queue=queue, kind="queue_starved")
    AlertEvent.objects.create(
        rule=rule, workspace=workspace, queue=queue, threshold=0, message="Starving queue!"
    )
    client.force_login(author)
    body = client.get(_url("overview", workspace)).content.decode()
    assert queue.name in body and "Starving queue!" in body
    assert "1 open" in body
    assert reverse("queue-results", args=[workspace.slug, queue.pk]) in body


def test_an_author_adds_an_alert_rule_and_an_engineer_cannot(
    client, workspace, queue, author, engineer
):
    url = _url("queue-alerts", workspace, queue)
    data = {
        "kind": "pass_rate_below",
        "threshold": "0.8",
        "window": "50",
        "min_judgments": "5",
        "criterion_key": "safe",
        "starved_days": "7",
        "emails": "pm@example.org",
    }
    client.force_login(engineer)
    assert client.post(url, data).status_code == 403
    client.force_login(author)
    assert client.post(url, data).status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.queue, rule.workspace, rule.criterion_key) == (queue, workspace, "safe")
    bad = client.post(url, {**data, "webhook_url": "http://169.254.169.254/latest"})
    assert bad.status_code == 422
    assert "metadata" in bad.content.decode()


def test_names_in_tables_are_escaped(client, workspace, author):
    queue = make_queue(workspace, name="Escapes")
    judge(queue, make_item(queue, "<b>v9</b>"), {"accuracy": 3, "harm": "none", "safe": True})
    client.force_login(author)
    body = client.get(_url("queue-results", workspace, queue)).content.decode()
    assert "<b>v9</b>" not in body
    assert "&lt;b&gt;v9&lt;/b&gt;" in body
