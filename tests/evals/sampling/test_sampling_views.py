import pytest

from evals.ingest.pipeline import ingest_lines
from evals.models import SamplingRule, SamplingRun
from tests.evals.conftest import log_line, numbered
from tests.factories import make_queue

BASE = "/w/patient-messages/sampling/"


@pytest.fixture
def queue(workspace, source):
    ingest_lines(source, numbered([log_line(n) for n in range(30)]))
    return make_queue(workspace)


def rule_form(target, **overrides) -> dict:
    data = {
        "name": "Negative feedback",
        "queue": target.pk,
        "strategy": "quota",
        "count": "2",
        "strata": "metadata.topic",
        "model_versions": "v1, v2",
        "metadata": "locale=en-GB",
        "schedule": "hourly",
        "seed": "5",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_an_author_creates_a_rule_and_it_is_scheduled(client, author, queue):
    client.force_login(author)
    response = client.post(BASE + "new/", rule_form(queue))
    rule = SamplingRule.objects.get()
    assert response.status_code == 302 and response.url == f"{BASE}{rule.pk}/"
    assert rule.filters == {"model_versions": ["v1", "v2"], "metadata": {"locale": "en-GB"}}
    assert rule.strata == ["metadata.topic"] and rule.next_run_at is not None


def test_a_quota_without_strata_is_refused(client, author, queue):
    client.force_login(author)
    response = client.post(BASE + "new/", rule_form(queue, strata=""))
    assert response.status_code == 422
    assert "Quotas need at least one stratum" in response.content.decode()
    assert not SamplingRule.objects.exists()


def test_the_preview_fragment_counts_by_stratum(client, author, queue):
    client.force_login(author)
    client.post(BASE + "new/", rule_form(queue))
    rule = SamplingRule.objects.get()
    response = client.get(f"{BASE}{rule.pk}/preview/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="sampling-preview"')
    assert 'id="preview-picked">6<' in html


def test_run_now_records_a_run_with_a_job(
    client, author, queue, django_capture_on_commit_callbacks
):
    client.force_login(author)
    client.post(BASE + "new/", rule_form(queue))
    rule = SamplingRule.objects.get()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"{BASE}{rule.pk}/run/", HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<section id="sampling-runs"')
    run = SamplingRun.objects.get()
    assert run.trigger == "manual" and run.job.created_by == author


def test_reviewers_and_other_workspaces_cannot_see_rules(client, reviewer, outsider, author, queue):
    client.force_login(author)
    client.post(BASE + "new/", rule_form(queue))
    rule = SamplingRule.objects.get()
    client.force_login(reviewer)
    assert client.get(BASE).status_code == 403
    client.force_login(outsider)
    assert client.get(f"{BASE}{rule.pk}/").status_code == 404
    assert client.get(f"/w/other-team/sampling/{rule.pk}/").status_code == 404
    assert client.post(f"/w/other-team/sampling/{rule.pk}/run/").status_code == 404


def test_a_rule_cannot_target_another_workspace_queue(client, author, queue, outsider):
    from annotate.models import Workspace

    other_queue = make_queue(Workspace.objects.get(slug="other-team"), name="Theirs")
    client.force_login(author)
    response = client.post(BASE + "new/", rule_form(queue, queue=other_queue.pk))
    assert response.status_code == 422
    assert not SamplingRule.objects.exists()
