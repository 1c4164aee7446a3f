"""A sampling rule's candidate logs are pre-screened by an LLM judge from the rule's page."""

import pytest

from evals.models import JudgeRun
from tests.evals.sampling.test_sampling import logs, make_rule  # noqa: F401 - the logs fixture
from tests.factories import make_queue

pytestmark = pytest.mark.usefixtures("logs")


def test_an_engineer_prescreens_a_rules_candidates_with_a_judge(
    client, workspace, engineer, judge_endpoint
):
    queue = make_queue(workspace)
    rule = make_rule(workspace, queue, strategy="judge_low_first", count=5)
    client.force_login(engineer)
    page = client.get(f"/w/{workspace.slug}/sampling/{rule.pk}/").content.decode()
    assert 'id="prescreen-form"' in page
    response = client.post(
        f"/w/{workspace.slug}/sampling/{rule.pk}/prescreen/", {"endpoint": judge_endpoint.pk}
    )
    run = JudgeRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{run.pk}/")
    assert run.queue is None and run.rubric_version_id == queue.rubric_version_id
    assert run.job.total == 120  # every candidate log of the rule


def test_another_workspaces_endpoint_is_refused(client, workspace, engineer, outsider):  # noqa: F811
    from evals.models import JudgeEndpoint

    other = JudgeEndpoint.objects.create(
        workspace=outsider.memberships.get().workspace,
        name="x",
        base_url="https://x.org",
        model="m",
    )
    rule = make_rule(workspace, make_queue(workspace), strategy="fixed", count=5)
    client.force_login(engineer)
    url = f"/w/{workspace.slug}/sampling/{rule.pk}/prescreen/"
    response = client.post(url, {"endpoint": other.pk})
    assert response.status_code == 422
    assert "Choose a judge endpoint of this workspace." in response.content.decode()
    assert not JudgeRun.objects.exists()
