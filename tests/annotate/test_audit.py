import pytest
from django.db import DatabaseError, transaction

from annotate import audit
from annotate.assignment import claim_next
from annotate.judging import edit_judgment, submit_judgment
from annotate.models import AuditEvent
from tests.factories import good_answers, make_queue, published_rubric


def test_publishing_a_rubric_is_audited(workspace, author):
    from annotate.rubrics import create_rubric, publish
    from tests.factories import standard_criteria

    version = create_rubric(workspace, "Lay review", standard_criteria())
    publish(version, actor=author)
    event = AuditEvent.objects.get(action="rubric.publish")
    assert (event.actor, event.target_type, event.target_id) == (
        author,
        "annotate.rubricversion",
        str(version.pk),
    )


def test_editing_a_judgment_is_audited_with_both_answers(workspace, clinicians, reviewer):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    criteria = list(queue.rubric_version.criteria.all())
    judgment = submit_judgment(
        queue, claim_next(queue, reviewer), criteria, good_answers()
    ).judgment
    edit_judgment(judgment, criteria, {**good_answers(), "accuracy": "1"})
    event = AuditEvent.objects.get(action="judgment.edit")
    assert event.details["previous"]["accuracy"] == 4
    assert event.details["current"]["accuracy"] == 1


def test_audit_events_cannot_be_changed_or_deleted(workspace, admin_user):
    published_rubric(workspace)
    event = audit.record(workspace, admin_user, "role.change", summary="made an author")
    event.summary = "nothing happened"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="rewritten")
    event.refresh_from_db()
    assert event.summary == "made an author"


def test_admins_read_the_audit_log(client, workspace, admin_user):
    audit.record(workspace, admin_user, "token.create", summary="<b>ci</b> token")
    client.force_login(admin_user)
    response = client.get(f"/w/{workspace.slug}/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "token.create" in body and "&lt;b&gt;ci&lt;/b&gt; token" in body


@pytest.mark.parametrize("who", ["author", "engineer", "reviewer"])
def test_only_admins_read_the_audit_log(client, workspace, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"/w/{workspace.slug}/audit/").status_code == 403


def test_other_workspaces_get_404_for_the_audit_log(client, workspace, outsider):
    client.force_login(outsider)
    assert client.get(f"/w/{workspace.slug}/audit/").status_code == 404
