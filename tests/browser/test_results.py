"""The results page in a real browser: plots draw, a filter swaps them via htmx, tables follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from annotate.models import Cohort
from evals.models import AlertEvent, AlertRule, Log, Source
from tests.conftest import login
from tests.evals.results.results_data import judge, make_item
from tests.factories import UserFactory, make_queue

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def _chart(panel: str) -> str:
    return f"Chart.getChart(document.querySelector('[data-chart=chart-{panel}]'))"


def _errors(page) -> list[str]:
    return [e for e in page.js_errors if "404" not in e]  # the favicon


def _wait(page, expression: str, timeout_ms: int = 15_000) -> None:
    """Poll a JS expression with page.evaluate (the CSP forbids wait_for_function's eval)."""
    waited = 0
    while not page.evaluate(expression):
        if waited >= timeout_ms:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(100)
        waited += 100


def _seed(workspace, reviewer, second_reviewer):
    queue = make_queue(workspace, k=2, name="Clinician review")
    lay = Cohort.objects.create(workspace=workspace, name="Lay reviewers")
    lay_people = [UserFactory(username=f"lay-{n}") for n in range(2)]
    lay.members.add(*lay_people)
    source = Source.objects.create(workspace=workspace, name="patient-app")
    people = [reviewer, second_reviewer, *lay_people]
    for n in range(48):
        version = "v1" if n % 2 else "v2"
        log = Log.objects.create(
            workspace=workspace,
            source=source,
            external_id=f"log-{n}",
            timestamp=workspace.created_at,
            output="answer",
            model_version=version,
            feedback_negative=n % 5 == 0,
        )
        item = make_item(
            queue,
            version,
            source_log=log,
            metadata={"topic": ["dosage", "side effects"][n % 2 * (n % 3 == 0)], "locale": "en-GB"},
        )
        good = version == "v2"
        for r in range(2):
            judge(
                queue,
                item,
                {
                    "accuracy": 1 + (n + r + (2 if good else 0)) % 5,
                    "harm": ["none", "mild", "severe"][(n + r) % (2 if good else 3)],
                    "safe": good or (n + r) % 3 != 0,
                    "minutes": (n * 3 + r) % 20,
                },
                reviewer=people[(n + r) % len(people)],
                day=n % 12,
                ms=20_000 + 1_000 * (n % 30),
            )
    return queue


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_results_page_draws_plots_and_a_filter_updates_plot_and_table(
    page, live_server, workspace, author, reviewer, second_reviewer
):
    queue = _seed(workspace, reviewer, second_reviewer)
    rule = AlertRule.objects.create(workspace=workspace, queue=queue, kind="weighted_score_below")
    AlertEvent.objects.create(
        rule=rule,
        workspace=workspace,
        queue=queue,
        subject="v1",
        value=0.52,
        threshold=0.6,
        message="Clinician review: weighted score of v1 is 52% over the last 100 judgments "
        "(alert below 60%).",
    )
    login(page, author.username)
    page.goto(reverse("queue-results", args=[workspace.slug, queue.pk]))
    _wait(
        page,
        "window.Chart && Chart.getChart(document.querySelector('[data-chart=chart-weighted]'))",
    )
    labels = page.evaluate(
        "Chart.getChart(document.querySelector('[data-chart=chart-weighted]')).data.labels"
    )
    assert labels == ["v1", "v2"]
    assert page.locator("#judgment-total").inner_text() == "96"
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "results.png"), full_page=False)

    toggle = page.locator('[data-toggle="table-weighted"]')
    toggle.click()
    table = page.locator("#table-weighted")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == 2

    page.select_option("#f-model-version", "v2")
    _wait(page, "document.querySelector('#judgment-total').textContent === '48'")
    _wait(
        page,
        f"{_chart('weighted')} && {_chart('weighted')}.data.labels.length === 1",
    )
    labels = page.evaluate(
        "Chart.getChart(document.querySelector('[data-chart=chart-weighted]')).data.labels"
    )
    assert labels == ["v2"]
    assert "model_version=v2" in page.url  # the filters are in the address, shareable
    page.locator('[data-toggle="table-weighted"]').click()
    rows = page.locator("#table-weighted tbody tr")
    assert rows.count() == 1 and rows.first.locator("td").first.inner_text() == "v2"
    page.locator('[data-toggle="table-dist-accuracy"]').click()
    page.locator("#table-dist-accuracy tbody tr a").first.click()
    page.wait_for_selector("#result-items")
    assert "model_version=v2" in page.url and "criterion=accuracy" in page.url
    assert _errors(page) == []  # CSP violations would show here

    page.goto(reverse("overview", args=[workspace.slug]))
    assert "weighted score of v1 is 52%" in page.locator("#alerts").inner_text()
    page.screenshot(path=str(DOCS_IMG / "overview.png"), full_page=True)
    page.goto(reverse("queue-results", args=[workspace.slug, queue.pk]) + "?period=week")
    _wait(
        page,
        f"window.Chart && {_chart('trend-weighted')}",
    )
    page.locator("#panel-trend-weighted").scroll_into_view_if_needed()
    page.locator('[data-toggle="table-trend-weighted"]').click()
    page.locator("#panel-trend-weighted").screenshot(path=str(DOCS_IMG / "results-trend.png"))
    assert _errors(page) == []
