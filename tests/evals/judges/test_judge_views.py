"""Judge pages: permissions, endpoint form with a write-only key, prompt preview, runs,
results, judge vs humans, and the key never appearing in a page, a log line or an export."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from annotate.models import Assignment, Judgment
from evals.judges import secretbox
from evals.judges.runs import start_run
from evals.judges.tasks import run_judge
from evals.models import Job, JudgeEndpoint, JudgeResult, JudgeRun
from tests.evals.judges.judge_fixtures import API_KEY
from tests.factories import PASSWORD, make_queue

GOOD = {"accuracy": 4, "harm": "none", "safe": "pass", "minutes": None, "comment": "ok"}
NEW_KEY = "sk-brand-NEW-k3y-never-shown-0123"


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def queue(workspace):
    return make_queue(workspace, items=3)


@pytest.fixture
def finished_run(judge_endpoint, queue, judge_server):
    judge_server.default = {"answers": GOOD}
    run = start_run(judge_endpoint, queue=queue)
    run_judge(run.job_id)
    run.refresh_from_db()
    return run


def _urls(workspace, endpoint, run) -> dict[str, str]:
    slug = workspace.slug
    return {
        "judges": reverse("judges", args=[slug]),
        "run": reverse("judge-run", args=[slug, run.pk]),
        "csv": reverse("judge-run-csv", args=[slug, run.pk]),
        "compare": reverse("judge-compare", args=[slug, run.pk]),
        "compare_csv": reverse("judge-compare", args=[slug, run.pk]) + "?format=csv",
        "edit": reverse("judge-endpoint-edit", args=[slug, endpoint.pk]),
        "prompt": reverse("judge-endpoint-prompt", args=[slug, endpoint.pk]),
        "new": reverse("judge-endpoint-new", args=[slug]),
    }


# --- Permissions ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "author", "engineer"])
def test_setup_readers_see_runs_results_and_comparison(request, client, who, finished_run):
    _login(client, request.getfixturevalue(who))
    urls = _urls(finished_run.workspace, finished_run.endpoint, finished_run)
    for name in ("judges", "run", "csv", "compare", "compare_csv"):
        assert client.get(urls[name]).status_code == 200, name


@pytest.mark.parametrize("who", ["author", "engineer"])
def test_only_admins_configure_endpoints(request, client, who, finished_run):
    _login(client, request.getfixturevalue(who))
    urls = _urls(finished_run.workspace, finished_run.endpoint, finished_run)
    for name in ("edit", "prompt", "new"):
        assert client.get(urls[name]).status_code == 403, name


def test_reviewers_get_403_and_outsiders_404(client, reviewer, outsider, finished_run):
    urls = _urls(finished_run.workspace, finished_run.endpoint, finished_run)
    _login(client, reviewer)
    for name, url in urls.items():
        assert client.get(url).status_code == 403, name
    client.logout()
    _login(client, outsider)
    for name, url in urls.items():
        assert client.get(url).status_code == 404, name
    start = reverse("judge-run-start", args=[finished_run.workspace.slug])
    assert client.post(start, {"endpoint": finished_run.endpoint_id}).status_code == 404


# --- Endpoints and the key --------------------------------------------------------------


def test_an_admin_adds_an_endpoint_and_the_key_is_stored_encrypted(
    client, admin_user, workspace, judge_server
):
    _login(client, admin_user)
    response = client.post(
        reverse("judge-endpoint-new", args=[workspace.slug]),
        {
            "name": "Local vLLM",
            "base_url": judge_server.base_url,
            "model": "llama",
            "api_key": NEW_KEY,
            "temperature": "0",
            "max_tokens": "512",
            "timeout_seconds": "30",
            "concurrency": "2",
            "requests_per_minute": "120",
            "price_input_per_mtok": "0.5",
            "price_output_per_mtok": "1.5",
            "invalid_answer_retries": "2",
            "allow_private_network": "on",
        },
    )
    assert response.status_code == 302
    endpoint = JudgeEndpoint.objects.get(name="Local vLLM")
    assert NEW_KEY not in endpoint.api_key_encrypted
    assert secretbox.decrypt(endpoint.api_key_encrypted) == NEW_KEY
    page = client.get(reverse("judge-endpoint-edit", args=[workspace.slug, endpoint.pk]))
    assert NEW_KEY not in page.content.decode()
    assert endpoint.api_key_encrypted not in page.content.decode()


def _form_data(endpoint: JudgeEndpoint, **changes) -> dict:
    data = {
        "name": endpoint.name,
        "base_url": endpoint.base_url,
        "model": endpoint.model,
        "temperature": endpoint.temperature,
        "max_tokens": endpoint.max_tokens,
        "timeout_seconds": endpoint.timeout_seconds,
        "concurrency": endpoint.concurrency,
        "requests_per_minute": endpoint.requests_per_minute,
        "price_input_per_mtok": endpoint.price_input_per_mtok,
        "price_output_per_mtok": endpoint.price_output_per_mtok,
        "invalid_answer_retries": endpoint.invalid_answer_retries,
        "allow_private_network": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_blank_key_field_keeps_the_stored_key(client, admin_user, judge_endpoint):
    _login(client, admin_user)
    url = reverse("judge-endpoint-edit", args=[judge_endpoint.workspace.slug, judge_endpoint.pk])
    response = client.post(url, _form_data(judge_endpoint, model="judge-2", api_key=""))
    assert response.status_code == 302
    judge_endpoint.refresh_from_db()
    assert judge_endpoint.model == "judge-2"
    assert secretbox.decrypt(judge_endpoint.api_key_encrypted) == API_KEY


@pytest.mark.parametrize(
    ("url", "private", "message"),
    [
        ("http://169.254.169.254/v1", "on", "a cloud metadata address, never allowed"),
        ("http://127.0.0.1:8000/v1", None, "private address"),
        ("ftp://example.org/v1", "on", "Only http:// and https://"),
    ],
)
def test_unsafe_base_urls_are_refused_with_the_reason(
    client, admin_user, judge_endpoint, url, private, message
):
    _login(client, admin_user)
    edit = reverse("judge-endpoint-edit", args=[judge_endpoint.workspace.slug, judge_endpoint.pk])
    data = _form_data(judge_endpoint, base_url=url, allow_private_network=private, api_key=NEW_KEY)
    response = client.post(edit, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert NEW_KEY not in response.content.decode()  # a re-rendered form drops the key
    judge_endpoint.refresh_from_db()
    assert judge_endpoint.base_url != url


def test_the_key_never_appears_in_pages_logs_exports_or_job_rows(
    client, admin_user, judge_endpoint, queue, judge_server, caplog
):
    """The key travels only in the Authorization header to the endpoint."""
    caplog.set_level(logging.DEBUG)
    judge_server.script(
        {"status": 401, "error": f"Incorrect API key provided: {API_KEY}"},
    )
    judge_server.default = {"answers": GOOD}
    failed = start_run(judge_endpoint, queue=queue)
    run_judge(failed.job_id)
    assert JudgeResult.objects.filter(reason__contains="rejected the API key").exists()
    seen = [str(row) for row in JudgeResult.objects.values()]
    ok = start_run(judge_endpoint, queue=queue)
    run_judge(ok.job_id)
    assert judge_server.requests[0]["headers"]["authorization"] == f"Bearer {API_KEY}"
    _login(client, admin_user)
    for run in (failed, ok):
        for url in _urls(run.workspace, judge_endpoint, run).values():
            seen.append(client.get(url).content.decode())
    seen.append(
        client.get(f"/admin/evals/judgeendpoint/{judge_endpoint.pk}/change/").content.decode()
    )
    seen.append(caplog.text)
    seen.extend(str(row) for row in Job.objects.values())
    seen.extend(str(row) for row in JudgeRun.objects.values())
    seen.extend(str(row) for row in JudgeResult.objects.values())
    seen.append(repr(judge_endpoint))
    for text in seen:
        assert API_KEY not in text
        assert API_KEY[3:15] not in text


# --- Prompt preview ---------------------------------------------------------------------


def test_the_prompt_page_previews_the_exact_messages_for_a_sample_item(
    client, admin_user, judge_endpoint, queue
):
    _login(client, admin_user)
    url = reverse("judge-endpoint-prompt", args=[judge_endpoint.workspace.slug, judge_endpoint.pk])
    page = client.get(url, {"queue": queue.pk}).content.decode()
    first = queue.items.order_by("id").first()
    assert "Agreement with medical consensus" in page
    assert "Fully agrees with consensus" in page
    assert first.input_text in page
    response = client.post(
        url,
        {
            "queue": queue.pk,
            "action": "preview",
            "system_template": "Rubric:\n{criteria}",
            "user_template": "OUTPUT>> {output}",
            "pairwise_user_template": "{input} {output_a} {output_b}",
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="preview"')
    assert "OUTPUT&gt;&gt; Answer 0: **usually**, with food." in body
    judge_endpoint.refresh_from_db()
    assert "OUTPUT>>" not in judge_endpoint.user_template


def test_saving_a_template_with_an_unknown_field_is_refused(client, admin_user, judge_endpoint):
    _login(client, admin_user)
    url = reverse("judge-endpoint-prompt", args=[judge_endpoint.workspace.slug, judge_endpoint.pk])
    response = client.post(
        url,
        {
            "action": "save",
            "system_template": "{criteria}",
            "user_template": "{output} {secret}",
            "pairwise_user_template": "{output_a}",
        },
    )
    assert "Unknown fields: {secret}" in response.content.decode()
    judge_endpoint.refresh_from_db()
    assert "{secret}" not in judge_endpoint.user_template


# --- Runs -------------------------------------------------------------------------------


def test_starting_a_run_queues_a_job_and_shows_its_progress(
    client, engineer, judge_endpoint, queue, django_capture_on_commit_callbacks
):
    _login(client, engineer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("judge-run-start", args=[queue.workspace.slug]),
            {
                "endpoint": judge_endpoint.pk,
                "queue": queue.pk,
                "budget": "1.5",
                "inconsistency": "tie",
                "stop_after_failures": "5",
            },
        )
    run = JudgeRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("judge-run", args=[queue.workspace.slug, run.pk])
    assert len(callbacks) == 1
    assert run.job.status == Job.Status.QUEUED and run.job.total == 3
    assert str(run.budget) == "1.500000"
    progress = client.get(response.url + "?part=progress", headers={"HX-Request": "true"})
    assert progress.content.decode().lstrip().startswith('<div id="judge-progress"')
    assert "every 1s" in progress.content.decode()


def test_cancel_from_the_page(client, author, judge_endpoint, queue):
    run = start_run(judge_endpoint, queue=queue)
    _login(client, author)
    client.post(reverse("judge-run-cancel", args=[queue.workspace.slug, run.pk]))
    run.job.refresh_from_db()
    assert run.job.status == Job.Status.CANCELLED


def test_the_results_page_shows_failures_with_reason_and_escaped_raw_text(
    client, engineer, judge_endpoint, queue, judge_server
):
    judge_server.script(*[{"content": "<script>alert(1)</script>"}] * 2)
    judge_server.default = {"answers": GOOD}
    run = start_run(judge_endpoint, queue=queue)
    run_judge(run.job_id)
    _login(client, engineer)
    url = reverse("judge-run", args=[queue.workspace.slug, run.pk])
    body = client.get(url, {"status": "failed"}, headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<section id="judge-results"')
    assert "not valid JSON" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert" not in body
    assert body.count('class="result-failed"') == 1
    assert 'class="result-ok"' not in body


def test_the_comparison_page_shows_agreement_confusion_matrix_and_charts(
    client, engineer, workspace, reviewer, second_reviewer, judge_endpoint, queue, judge_server
):
    judge_server.default = {"answers": GOOD}
    run = start_run(judge_endpoint, queue=queue)
    run_judge(run.job_id)
    for item in queue.items.all():
        for user, accuracy in ((reviewer, 4), (second_reviewer, 5)):
            assignment = Assignment.objects.create(
                item=item, queue=queue, reviewer=user, expires_at=item.created_at
            )
            Judgment.objects.create(
                item=item,
                queue=queue,
                reviewer=user,
                assignment=assignment,
                rubric_version=queue.rubric_version,
                answers={"accuracy": accuracy, "harm": "none", "safe": True},
            )
    queue.cohorts.add(reviewer.cohorts.first())
    _login(client, engineer)
    url = reverse("judge-compare", args=[workspace.slug, run.pk])
    body = client.get(url).content.decode()
    assert 'id="criterion-accuracy"' in body
    assert "Clinicians" in body
    assert 'data-chart="drift-0"' in body and 'id="drift-0"' in body
    assert "chart.umd.min.js" in body
    csv_body = client.get(url, {"format": "csv"}).content.decode()
    assert "accuracy,consensus,3," in csv_body
    assert "accuracy,Clinicians,3," in csv_body
