"""The audited actions leave an event in the workspace's append-only log, naming who did it.

Each test performs the action the way the product does (the feature's own function or
view) and reads the log back. Actions of features that are not on main yet get their
test when they land.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from annotate.assignment import claim_next
from annotate.judging import edit_judgment, submit_judgment
from annotate.models import AuditEvent
from annotate.rubrics import create_rubric, publish
from annotate.tokens import create_token, revoke_token
from evals.exports.jobs import KIND, export_dir, run_export_job, start_export
from evals.exports.spec import parse_spec
from evals.models import Job
from tests.factories import good_answers, make_queue, make_token, standard_criteria


def events(workspace, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(workspace=workspace, action=action).order_by("id"))


def test_a_rubric_publish_is_audited_with_its_author(workspace, author):
    version = publish(create_rubric(workspace, "Lay review", standard_criteria()), actor=author)
    [event] = events(workspace, "rubric.publish")
    assert (event.actor, event.target_id) == (author, str(version.pk))


def test_a_judgment_edit_is_audited_with_the_answers_before_and_after(
    workspace, clinicians, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    criteria = list(queue.rubric_version.criteria.all())
    judgment = submit_judgment(queue, claim_next(queue, reviewer), criteria, good_answers())
    edit_judgment(judgment.judgment, criteria, {**good_answers(), "harm": "mild"})
    [event] = events(workspace, "judgment.edit")
    assert event.actor == reviewer
    assert (event.details["previous"]["harm"], event.details["current"]["harm"]) == (
        "none",
        "mild",
    )


def test_api_token_creation_and_revocation_are_audited_once(workspace, admin_user, engineer):
    token, plain = create_token(workspace, "ci pipeline", engineer, scopes=["read"])
    [created] = events(workspace, "token.create")
    assert (created.actor, created.target_id) == (engineer, str(token.pk))
    assert plain not in created.summary and plain not in str(created.details)
    revoke_token(token, actor=admin_user)
    revoke_token(token, actor=admin_user)  # a second revoke changes nothing and logs nothing
    [revoked] = events(workspace, "token.revoke")
    assert revoked.actor == admin_user


@pytest.mark.parametrize("action", ["rubric.publish", "token.create"])
def test_the_audit_log_page_shows_the_event_to_admins(client, workspace, admin_user, action):
    if action == "rubric.publish":
        publish(create_rubric(workspace, "R", standard_criteria()), actor=admin_user)
    else:
        create_token(workspace, "t", admin_user, scopes=["read"])
    client.force_login(admin_user)
    body = client.get(f"/w/{workspace.slug}/audit/").content.decode()
    assert action in body


# --- Through the pages, as people do it -------------------------------------------------------


def test_queue_status_and_settings_changes_are_audited(client, workspace, author, clinicians):
    queue = make_queue(workspace, cohorts=[clinicians], items=2)
    client.force_login(author)
    client.post(f"/w/{workspace.slug}/queues/{queue.pk}/status/", {"action": "pause"})
    [event] = events(workspace, "queue.status")
    assert (event.actor, event.details["status"]) == (author, "paused")


def test_a_role_change_is_audited_with_the_role_before_and_after(
    client, workspace, admin_user, reviewer
):
    member = reviewer.memberships.get(workspace=workspace)
    client.force_login(admin_user)
    client.post(f"/w/{workspace.slug}/people/members/{member.pk}/", {"role": "author"})
    [event] = events(workspace, "member.update")
    assert event.actor == admin_user
    assert (event.details["previous_role"], event.details["role"]) == ("reviewer", "author")


def test_sampling_rule_changes_and_runs_are_audited(client, workspace, author, clinicians):
    from tests.evals.sampling.test_sampling_views import rule_form

    queue = make_queue(workspace, cohorts=[clinicians])
    client.force_login(author)
    client.post(f"/w/{workspace.slug}/sampling/new/", rule_form(queue))
    [created] = events(workspace, "sampling_rule.create")
    client.post(
        f"/w/{workspace.slug}/sampling/{created.target_id}/edit/", rule_form(queue, count="3")
    )
    client.post(f"/w/{workspace.slug}/sampling/{created.target_id}/run/")
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="sampling_rule.")] == [
        "sampling_rule.create",
        "sampling_rule.update",
        "sampling_rule.run",
    ]


def test_alert_rule_deletion_is_audited(client, workspace, author, clinicians):
    from evals.models import AlertRule

    queue = make_queue(workspace, cohorts=[clinicians])
    rule = AlertRule.objects.create(workspace=workspace, queue=queue, kind="queue_starved")
    client.force_login(author)
    client.post(f"/w/{workspace.slug}/queues/{queue.pk}/alerts/{rule.pk}/delete/")
    [event] = events(workspace, "alert_rule.delete")
    assert event.actor == author


def test_export_jobs_and_downloads_are_audited(client, workspace, engineer, clinicians):

    queue = make_queue(workspace, cohorts=[clinicians], items=2)
    spec = parse_spec(workspace, shape="judgments", format="csv", snapshot_at=timezone.now())
    job = start_export(workspace, spec, user=engineer)
    [started] = events(workspace, "export.start")
    assert (started.actor, started.target_id) == (engineer, str(job.pk))
    run_export_job(job.pk)
    client.force_login(engineer)
    response = client.get(f"/w/{workspace.slug}/exports/{job.pk}/files/judgments.csv")
    assert response.status_code == 200
    [downloaded] = events(workspace, "export.download")
    assert (downloaded.actor, downloaded.summary) == (engineer, "judgments.csv")
    assert queue.pk


def test_a_judgment_import_is_audited_with_its_counts(client, workspace, engineer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    queue = make_queue(workspace, k=2)
    body = (
        b"output,reviewer,answer_accuracy,answer_harm,answer_safe\n"
        b"A,dr-a,4,none,pass\nA,dr-b,9,x,y\n"
    )
    client.force_login(engineer)
    response = client.post(
        f"/w/{workspace.slug}/exports/import/",
        {"queue": queue.pk, "file": SimpleUploadedFile("labels.csv", body)},
    )
    assert response.status_code == 200
    [event] = events(workspace, "judgments.import")
    assert (event.actor, event.target_id) == (engineer, str(queue.pk))
    assert (event.details["created"], event.details["refused"]) == (1, 1)


def test_an_adjudication_is_audited_with_the_final_answers(workspace, admin_user, clinicians):
    from annotate import adjudication

    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    item = queue.items.get()
    criteria = list(queue.rubric_version.criteria.all())
    saved, errors = adjudication.record(queue, item, admin_user, criteria, good_answers(), "ok")
    assert not errors
    adjudication.record(queue, item, admin_user, criteria, {**good_answers(), "harm": "mild"})
    created, updated = (
        events(workspace, "adjudication.create"),
        events(workspace, "adjudication.update"),
    )
    assert [e.actor for e in created + updated] == [admin_user, admin_user]
    assert updated[0].details["answers"]["harm"] == "mild"


def test_a_queue_settings_change_is_audited_with_the_fields_changed(
    client, workspace, author, clinicians
):
    queue = make_queue(workspace, cohorts=[clinicians], items=2, k=1)
    client.force_login(author)
    response = client.post(
        f"/w/{workspace.slug}/queues/{queue.pk}/edit/",
        {
            "name": queue.name,
            "kind": "rubric",
            "rubric_version": queue.rubric_version_id,
            "cohorts": [clinicians.pk],
            "judgments_per_item": "3",
            "lease_minutes": "15",
            "instructions": queue.instructions,
            "order": queue.order,
        },
    )
    assert response.status_code == 302
    [event] = events(workspace, "queue.update")
    assert event.actor == author and "judgments_per_item" in event.details["fields"]


def test_removing_a_member_is_audited(client, workspace, admin_user, reviewer):
    member = reviewer.memberships.get(workspace=workspace)
    client.force_login(admin_user)
    client.post(f"/w/{workspace.slug}/people/members/{member.pk}/remove/")
    [event] = events(workspace, "member.remove")
    assert (event.actor, event.summary) == (admin_user, reviewer.username)


def test_an_alert_rule_creation_is_audited(client, workspace, author, clinicians):
    queue = make_queue(workspace, cohorts=[clinicians])
    client.force_login(author)
    response = client.post(
        f"/w/{workspace.slug}/queues/{queue.pk}/alerts/",
        {
            "kind": "queue_starved",
            "starved_days": "3",
            "threshold": "0.5",
            "window": "50",
            "min_judgments": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    [event] = events(workspace, "alert_rule.create")
    assert event.actor == author


def test_an_export_started_through_the_api_names_the_token(workspace, clinicians):
    make_queue(workspace, cohorts=[clinicians], items=2)
    token, plain = make_token(workspace, "pipeline", scopes=["exports"])
    response = Client().post(
        "/api/v1/exports",
        {"shape": "judgments", "format": "csv"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plain}",
    )
    assert response.status_code == 202
    [event] = events(workspace, "export.start")
    assert (event.actor, event.api_token, event.target_id) == (
        None,
        token,
        str(response.json()["id"]),
    )
    assert event.who == f"API token 'pipeline' ({token.prefix})"


def test_an_export_downloaded_through_the_api_names_the_token(
    client, workspace, admin_user, clinicians, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    job = Job.objects.create(
        workspace=workspace,
        kind=KIND,
        task_name="evals.tasks.run_export",
        status=Job.Status.SUCCEEDED,
        params={"shape": "judgments", "format": "csv", "filters": {}},
        result={"files": [{"name": "judgments.csv", "bytes": 4, "sha256": "0" * 64}]},
    )
    export_dir(job).mkdir(parents=True)
    (export_dir(job) / "judgments.csv").write_text("id\n")
    token, plain = make_token(workspace, "ingest-bot", scopes=["exports"])
    url = f"/api/v1/exports/{job.pk}/files/judgments.csv"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 200
    [event] = events(workspace, "export.download")
    assert (event.actor, event.api_token) == (None, token)
    client.force_login(admin_user)
    page = client.get(f"/w/{workspace.slug}/audit/?action=export.").content.decode()
    assert f"API token &#x27;ingest-bot&#x27; ({token.prefix})" in page


# --- LLM judges: endpoints, prompts and runs ------------------------------------------------

JUDGE_KEY = "sk-audit-SECRET-n3ver-in-the-log-77"


@pytest.fixture
def judge_endpoint(workspace):
    from evals.judges import secretbox
    from evals.models import JudgeEndpoint

    return JudgeEndpoint.objects.create(
        workspace=workspace,
        name="Local judge",
        base_url="http://127.0.0.1:9/v1",
        model="judge-test",
        api_key_encrypted=secretbox.encrypt(JUDGE_KEY),
        allow_private_network=True,
    )


def test_judge_endpoint_changes_and_prompt_saves_are_audited_without_the_key(
    client, workspace, admin_user
):
    from evals.models import JudgeEndpoint
    from tests.evals.judges.test_judge_views import _form_data

    slug = workspace.slug
    client.force_login(admin_user)
    created = client.post(
        f"/w/{slug}/judges/endpoints/new/",
        {
            "name": "Local vLLM", "base_url": "http://127.0.0.1:9/v1", "model": "llama",
            "api_key": JUDGE_KEY, "temperature": "0", "max_tokens": "512",
            "timeout_seconds": "30", "concurrency": "1", "requests_per_minute": "60",
            "price_input_per_mtok": "0", "price_output_per_mtok": "0",
            "invalid_answer_retries": "1", "allow_private_network": "on",
        },
    )  # fmt: skip
    assert created.status_code == 302
    endpoint = JudgeEndpoint.objects.get(name="Local vLLM")
    edit = f"/w/{slug}/judges/endpoints/{endpoint.pk}/"
    assert client.post(edit, _form_data(endpoint, model="llama-2", api_key="")).status_code == 302
    prompt = {
        "action": "save",
        "system_template": "Be strict.\n{instructions}\n{criteria}",
        "user_template": endpoint.user_template,
        "pairwise_user_template": endpoint.pairwise_user_template,
    }
    assert client.post(edit + "prompt/", prompt).status_code == 302
    [create] = events(workspace, "judge_endpoint.create")
    [update] = events(workspace, "judge_endpoint.update")
    [saved] = events(workspace, "judge_endpoint.prompt")
    assert {e.actor for e in (create, update, saved)} == {admin_user}
    assert {e.target_id for e in (create, update, saved)} == {str(endpoint.pk)}
    assert update.details["fields"] == ["model"]
    assert saved.details["fields"] == ["system_template"]
    endpoint.refresh_from_db()
    for event in AuditEvent.objects.filter(workspace=workspace):
        text = f"{event.summary} {event.details}"
        assert JUDGE_KEY not in text and endpoint.api_key_encrypted not in text


def test_judge_run_start_and_cancel_are_audited_once(
    client, workspace, engineer, author, clinicians, judge_endpoint
):
    from evals.models import JudgeRun

    queue = make_queue(workspace, cohorts=[clinicians], items=2)
    client.force_login(engineer)
    client.post(
        f"/w/{workspace.slug}/judges/runs/",
        {"endpoint": judge_endpoint.pk, "queue": queue.pk, "inconsistency": "tie"},
    )
    run = JudgeRun.objects.get()
    [started] = events(workspace, "judge_run.start")
    assert (started.actor, started.target_id) == (engineer, str(run.pk))
    client.force_login(author)
    cancel = f"/w/{workspace.slug}/judges/runs/{run.pk}/cancel/"
    client.post(cancel)
    client.post(cancel)  # already cancelled: nothing changes, nothing is logged
    [cancelled] = events(workspace, "judge_run.cancel")
    assert (cancelled.actor, cancelled.target_id) == (author, str(run.pk))


def test_a_judge_prescreen_of_a_sampling_rule_is_audited_with_its_run(
    client, workspace, engineer, judge_endpoint
):
    from evals.ingest.pipeline import ingest_lines
    from evals.models import JudgeRun, Source
    from tests.evals.conftest import log_line, numbered
    from tests.evals.sampling.test_sampling import make_rule

    source = Source.objects.create(workspace=workspace, name="patient-app")
    ingest_lines(source, numbered([log_line(n) for n in range(10)]))
    rule = make_rule(workspace, make_queue(workspace), strategy="judge_low_first", count=5)
    client.force_login(engineer)
    client.post(
        f"/w/{workspace.slug}/sampling/{rule.pk}/prescreen/", {"endpoint": judge_endpoint.pk}
    )
    run = JudgeRun.objects.get()
    [event] = events(workspace, "judge_run.prescreen")
    assert (event.actor, event.target_id) == (engineer, str(rule.pk))
    assert event.details == {"run": run.pk}


def test_logs_sent_through_the_api_are_audited_with_the_token_and_counts(client, workspace):
    token, plain = make_token(workspace, "ingest-bot", scopes=["logs:write"])
    body = '{"external_id": "a1", "input": "Q", "output": "A"}\n{"external_id": 2}\n'
    response = client.post(
        "/api/v1/logs?source=portal",
        body,
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {plain}",
    )
    assert response.status_code == 200, response.content
    [event] = events(workspace, "logs.ingest")
    assert (event.actor, event.api_token) == (None, token)
    assert event.details == {"accepted": 1, "duplicate": 0, "rejected": 1}
    assert event.who == f"API token 'ingest-bot' ({token.prefix})"


def test_items_added_through_the_api_are_audited_with_the_token(client, workspace, clinicians):
    queue = make_queue(workspace, cohorts=[clinicians], items=0)
    token, plain = make_token(workspace, "loader", scopes=["items:write"])
    response = client.post(
        f"/api/v1/queues/{queue.pk}/items",
        {"items": [{"input": "Q", "output": "A"}, {"input": "Q2", "output": "B"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plain}",
    )
    assert response.status_code == 201, response.content
    [event] = events(workspace, "items.add")
    assert (event.actor, event.api_token, event.target_id) == (None, token, str(queue.pk))
    assert event.details == {"created": 2}
