"""Setup pages and fragments: who may see and change what, and which fragment comes back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate import invites, rubrics
from annotate.models import Criterion, Item, Queue, RubricVersion
from tests.factories import make_queue, published_rubric

SLUG = "patient-messages"


@pytest.fixture
def setup(workspace, clinicians, admin_user, author, engineer, reviewer, outsider):
    """A published v1 with a draft v2, a queue with items, an invitation."""
    v1 = published_rubric(workspace)
    queue = make_queue(workspace, cohorts=[clinicians], items=2, rubric_version=v1)
    v2 = rubrics.new_draft_version(v1.rubric)
    invitation, _ = invites.create_invitation(workspace, created_by=admin_user)
    member = reviewer.memberships.get()
    return {
        "rubric": v1.rubric,
        "v1": v1,
        "v2": v2,
        "criterion": v2.criteria.get(key="accuracy"),
        "queue": queue,
        "invitation": invitation,
        "member": member,
        "users": {
            "admin": admin_user,
            "author": author,
            "engineer": engineer,
            "reviewer": reviewer,
            "outsider": outsider,
        },
    }


def _urls(s) -> dict[str, tuple[str, str, dict]]:
    r, v2, c, q = s["rubric"].pk, s["v2"].number, s["criterion"].pk, s["queue"].pk
    return {
        "rubric-list": ("get", reverse("rubric-list", args=[SLUG]), {}),
        "rubric-version": ("get", reverse("rubric-version", args=[SLUG, r, 1]), {}),
        "rubric-preview": ("get", reverse("rubric-preview", args=[SLUG, r, v2]), {}),
        "rubric-diff": ("get", reverse("rubric-diff", args=[SLUG, r]), {}),
        "queue-detail": ("get", reverse("queue-detail", args=[SLUG, q]), {}),
        "queue-progress": ("get", reverse("queue-progress", args=[SLUG, q]), {}),
        "rubric-create": ("post", reverse("rubric-create", args=[SLUG]), {"name": "New"}),
        "rubric-details": (
            "post",
            reverse("rubric-details", args=[SLUG, r, v2]),
            {"name": "Renamed", "instructions": ""},
        ),
        "criterion-add": (
            "post",
            reverse("criterion-add", args=[SLUG, r, v2]),
            {"kind": "pass_fail"},
        ),
        "criterion-save": (
            "post",
            reverse("criterion-save", args=[SLUG, r, v2, c]),
            {"name": "Accuracy", "key": "accuracy", "kind": "pass_fail", "weight": "1"},
        ),
        "criterion-move": (
            "post",
            reverse("criterion-move", args=[SLUG, r, v2, c]),
            {"direction": "down"},
        ),
        "criterion-preview": (
            "post",
            reverse("criterion-preview", args=[SLUG, r, v2, c]),
            {"name": "Unsaved name", "key": "accuracy", "kind": "pass_fail"},
        ),
        "criterion-duplicate": ("post", reverse("criterion-duplicate", args=[SLUG, r, v2, c]), {}),
        "criterion-delete": ("post", reverse("criterion-delete", args=[SLUG, r, v2, c]), {}),
        "rubric-publish": ("post", reverse("rubric-publish", args=[SLUG, r, v2]), {}),
        "rubric-new-draft": ("post", reverse("rubric-new-draft", args=[SLUG, r]), {}),
        "rubric-discard": ("post", reverse("rubric-discard", args=[SLUG, r, v2]), {}),
        "rubric-clone": ("post", reverse("rubric-clone", args=[SLUG, r]), {}),
        "rubric-archive": ("post", reverse("rubric-archive", args=[SLUG, r]), {}),
        "queue-create-page": ("get", reverse("queue-create", args=[SLUG]), {}),
        "queue-edit-page": ("get", reverse("queue-edit", args=[SLUG, q]), {}),
        "queue-status": ("post", reverse("queue-status", args=[SLUG, q]), {"action": "pause"}),
        "queue-add-item": (
            "post",
            reverse("queue-add-item", args=[SLUG, q]),
            {"input_text": "Q?", "output": "A."},
        ),
        "instructions-preview": (
            "post",
            reverse("queue-instructions-preview", args=[SLUG]),
            {"instructions": "**Be kind**"},
        ),
        "people": ("get", reverse("people", args=[SLUG]), {}),
        "member-update": (
            "post",
            reverse("member-update", args=[SLUG, s["member"].pk]),
            {"role": "reviewer", "expertise": "GP"},
        ),
        "cohort-create": ("post", reverse("cohort-create", args=[SLUG]), {"name": "Nurses"}),
        "invitation-create": (
            "post",
            reverse("invitation-create", args=[SLUG]),
            {"role": "reviewer"},
        ),
        "invitation-revoke": (
            "post",
            reverse("invitation-revoke", args=[SLUG, s["invitation"].pk]),
            {},
        ),
    }


READ = {
    "rubric-list",
    "rubric-version",
    "rubric-preview",
    "rubric-diff",
    "queue-detail",
    "queue-progress",
}
ADMIN_ONLY = {"people", "member-update", "cohort-create", "invitation-create", "invitation-revoke"}


def _allowed(role: str, name: str) -> bool:
    if role == "admin":
        return True
    if role == "author":
        return name not in ADMIN_ONLY
    if role == "engineer":
        return name in READ
    return False


NAMES = sorted(
    [
        "rubric-list", "rubric-version", "rubric-preview", "rubric-diff", "queue-detail",
        "queue-progress", "rubric-create", "rubric-details", "criterion-add", "criterion-save",
        "criterion-preview", "criterion-move", "criterion-duplicate", "criterion-delete",
        "rubric-publish",
        "rubric-new-draft", "rubric-discard", "rubric-clone", "rubric-archive", "queue-create-page",
        "queue-edit-page", "queue-status", "queue-add-item", "instructions-preview", "people",
        "member-update", "cohort-create", "invitation-create", "invitation-revoke",
    ]
)  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ["admin", "author", "engineer", "reviewer", "outsider"])
def test_each_page_and_fragment_checks_the_role(client, setup, role, name):
    method, url, data = _urls(setup)[name]
    client.force_login(setup["users"][role])
    response = getattr(client, method)(url, data, HTTP_HX_REQUEST="true")
    if role == "outsider":
        assert response.status_code == 404
    elif _allowed(role, name):
        assert response.status_code in (200, 204, 302), response.content[:300]
    else:
        assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, setup):
    response = client.get(reverse("rubric-list", args=[SLUG]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_objects_of_another_workspace_are_not_found(client, setup, outsider):
    other = outsider.memberships.get().workspace
    theirs = published_rubric(other)
    their_queue = make_queue(other, rubric_version=theirs)
    client.force_login(outsider)
    own_slug_urls = [
        reverse("rubric-version", args=[other.slug, setup["rubric"].pk, 1]),
        reverse("queue-detail", args=[other.slug, setup["queue"].pk]),
        reverse("member-update", args=[other.slug, setup["member"].pk]),
    ]
    for url in own_slug_urls:
        method = client.post if "members" in url else client.get
        assert method(url).status_code == 404, url
    client.force_login(setup["users"]["admin"])
    assert client.get(reverse("queue-detail", args=[SLUG, their_queue.pk])).status_code == 404


# --- The editor fragments -----------------------------------------------------------------


def _save_url(s, criterion: Criterion) -> str:
    return reverse("criterion-save", args=[SLUG, s["rubric"].pk, s["v2"].number, criterion.pk])


def _likert_post(**extra) -> dict:
    data = {
        "name": "Agreement with consensus",
        "key": "accuracy",
        "kind": "likert",
        "help_text": "Compared with guidelines",
        "required": "on",
        "weight": "2",
        "level_value": ["1", "2", "3"],
        "level_label": ["Low", "Medium", "High"],
        "level_description": ["Contradicts", "Partly", "Agrees"],
    }
    data.update(extra)
    return data


def test_saving_a_criterion_returns_its_fragment_and_refreshes_the_preview(client, setup, author):
    client.force_login(author)
    criterion = setup["criterion"]
    response = client.post(_save_url(setup, criterion), _likert_post(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(
        f'<article class="criterion-card" id="criterion-{criterion.pk}"'
    )
    assert "Saved" in body
    assert response["HX-Trigger"] == "rubric-changed"
    criterion.refresh_from_db()
    assert criterion.weight == 2.0
    assert [lvl["description"] for lvl in criterion.levels] == ["Contradicts", "Partly", "Agrees"]


def test_an_invalid_criterion_rerenders_its_own_fragment_with_errors(client, setup, author):
    client.force_login(author)
    criterion = setup["criterion"]
    data = _likert_post(name="", key="harm", weight="0", level_value=["1"], level_label=["Only"],
                        level_description=[""])  # fmt: skip
    response = client.post(_save_url(setup, criterion), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith("<article")
    for message in (
        "Give the criterion a name.",
        "Another criterion already uses the key “harm”.",
        "The weight must be a positive number.",
        "A scale needs at least two levels.",
    ):
        assert message in body
    criterion.refresh_from_db()
    assert criterion.name == "Agreement with medical consensus"


def test_adding_a_level_rerenders_the_form_without_saving(client, setup, author):
    client.force_login(author)
    criterion = setup["criterion"]
    data = _likert_post(action="add_level")
    response = client.post(_save_url(setup, criterion), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().count('name="level_label"') == 4
    assert "Not saved yet" in response.content.decode()
    criterion.refresh_from_db()
    assert len(criterion.levels) == 5


def test_changing_the_type_shows_that_types_settings(client, setup, author):
    client.force_login(author)
    url = _save_url(setup, setup["criterion"]) + "?action=refresh"
    response = client.post(url, _likert_post(kind="numeric"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'name="min"' in body and 'name="level_label"' not in body


def test_add_duplicate_move_and_remove_fragments(client, setup, author):
    client.force_login(author)
    s, v2 = setup, setup["v2"]
    args = [SLUG, s["rubric"].pk, v2.number]
    response = client.post(
        reverse("criterion-add", args=args), {"kind": "categorical"}, HTTP_HX_REQUEST="true"
    )
    assert response.content.decode().lstrip().startswith("<article")
    added = v2.criteria.get(kind="categorical", key="categorical")
    assert [o["value"] for o in added.options] == ["yes", "no"]
    response = client.post(
        reverse("criterion-duplicate", args=[*args, added.pk]), HTTP_HX_REQUEST="true"
    )
    assert "(copy)" in response.content.decode()
    response = client.post(
        reverse("criterion-move", args=[*args, added.pk]),
        {"direction": "up"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    keys = list(v2.criteria.values_list("key", flat=True))
    assert keys.index("categorical") == keys.index("categorical_2") - 2
    response = client.post(
        reverse("criterion-delete", args=[*args, added.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response.content == b""
    assert not Criterion.objects.filter(pk=added.pk).exists()


def test_the_preview_shows_what_a_reviewer_sees(client, setup, engineer):
    client.force_login(engineer)
    url = reverse("rubric-preview", args=[SLUG, setup["rubric"].pk, setup["v2"].number])
    body = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert body.lstrip().startswith('<div id="preview"')
    assert "Fully agrees with consensus" in body  # level descriptions
    assert "<kbd>1</kbd>" in body and "Submit <kbd>Enter</kbd>" in body
    assert 'name="c-accuracy"' in body  # the same fields as the grading form


def test_published_versions_cannot_be_edited_through_the_editor(client, setup, author):
    client.force_login(author)
    v1 = setup["v1"]
    criterion = v1.criteria.first()
    url = reverse("criterion-save", args=[SLUG, setup["rubric"].pk, 1, criterion.pk])
    assert client.post(url, _likert_post()).status_code == 404
    body = client.get(
        reverse("rubric-version", args=[SLUG, setup["rubric"].pk, 1])
    ).content.decode()
    assert "criterion-form" not in body and "Open the draft" in body


def test_publishing_an_invalid_draft_shows_the_problems(client, setup, author):
    client.force_login(author)
    v2 = setup["v2"]
    Criterion.objects.filter(pk=setup["criterion"].pk).update(config={"levels": []})
    url = reverse("rubric-publish", args=[SLUG, setup["rubric"].pk, v2.number])
    response = client.post(url)
    # Back on the version page, so a reload does not post again; the problems are shown.
    assert response.status_code == 302 and response.url.endswith("/versions/2/?check=1")
    page = client.get(response.url).content.decode()
    assert "Not published:" in page
    assert "A scale needs at least two levels." in page
    v2.refresh_from_db()
    assert not v2.is_published


def test_publishing_a_draft_and_opening_the_next(client, setup, author):
    client.force_login(author)
    rubric, v2 = setup["rubric"], setup["v2"]
    response = client.post(reverse("rubric-publish", args=[SLUG, rubric.pk, 2]))
    assert response.status_code == 302
    v2.refresh_from_db()
    assert v2.is_published
    response = client.post(reverse("rubric-new-draft", args=[SLUG, rubric.pk]))
    assert response["Location"] == reverse("rubric-version", args=[SLUG, rubric.pk, 3])


def test_the_diff_page_lists_changes_per_criterion(client, setup, engineer):
    Criterion.objects.filter(pk=setup["criterion"].pk).update(name="Agreement (reworded)")
    setup["v2"].criteria.get(key="harm").delete()
    client.force_login(engineer)
    url = reverse("rubric-diff", args=[SLUG, setup["rubric"].pk])
    body = client.get(url, {"from": 1, "to": 2}).content.decode()
    assert 'class="badge tag-reworded"' in body and 'class="badge tag-removed"' in body
    assert client.get(url, {"from": 9}).status_code == 404


def test_creating_from_a_template(client, setup, author):
    client.force_login(author)
    response = client.post(reverse("rubric-create", args=[SLUG]), {"template": "support"})
    version = RubricVersion.objects.get(rubric__name="Customer support")
    assert response["Location"].endswith(f"/versions/{version.number}/")
    assert version.criteria.filter(key="policy").exists()


# --- Queues -------------------------------------------------------------------------------


def _queue_post(s, **extra) -> dict:
    data = {
        "name": "Clinician queue 2",
        "kind": "rubric",
        "rubric_version": s["v1"].pk,
        "cohorts": [s["queue"].cohorts.get().pk],
        "judgments_per_item": "2",
        "lease_minutes": "10",
        "instructions": "Be *thorough*.",
        "order": "oldest",
        "shuffle_sides": "on",
    }
    data.update(extra)
    return data


def test_an_author_creates_a_queue(client, setup, author):
    client.force_login(author)
    response = client.post(reverse("queue-create", args=[SLUG]), _queue_post(setup))
    queue = Queue.objects.get(name="Clinician queue 2")
    assert response["Location"] == reverse("queue-detail", args=[SLUG, queue.pk])
    assert (queue.judgments_per_item, queue.lease_seconds, queue.order) == (2, 600, "oldest")


def test_a_draft_rubric_version_is_not_offered_for_a_queue(client, setup, author):
    client.force_login(author)
    response = client.post(
        reverse("queue-create", args=[SLUG]), _queue_post(setup, rubric_version=setup["v2"].pk)
    )
    assert response.status_code == 422
    assert not Queue.objects.filter(name="Clinician queue 2").exists()


def test_editing_k_of_a_running_queue_updates_open_items(client, setup, author):
    client.force_login(author)
    queue = setup["queue"]
    url = reverse("queue-edit", args=[SLUG, queue.pk])
    response = client.post(url, _queue_post(setup, name=queue.name, judgments_per_item="3"))
    assert response.status_code == 302
    assert set(Item.objects.filter(queue=queue).values_list("judgments_needed", flat=True)) == {3}


def test_changing_the_rubric_version_of_a_queue_with_items_is_refused(client, setup, author):
    rubrics.publish(setup["v2"])
    client.force_login(author)
    queue = setup["queue"]
    url = reverse("queue-edit", args=[SLUG, queue.pk])
    response = client.post(url, _queue_post(setup, name=queue.name, rubric_version=setup["v2"].pk))
    assert response.status_code == 422
    assert "Make a new queue" in response.content.decode()
    queue.refresh_from_db()
    assert queue.rubric_version == setup["v1"]


def test_adding_an_item_by_hand_returns_the_fragment(client, setup, author):
    client.force_login(author)
    url = reverse("queue-add-item", args=[SLUG, setup["queue"].pk])
    response = client.post(
        url, {"input_text": "Can I fly?", "output": "Yes."}, HTTP_HX_REQUEST="true"
    )
    assert response.content.decode().lstrip().startswith('<section id="add-item"')
    assert response["HX-Trigger"] == "queue-changed"
    assert setup["queue"].items.count() == 3
    response = client.post(url, {"input_text": "", "output": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Paste the output to grade." in response.content.decode()


def test_the_queue_page_shows_progress(client, setup, engineer):
    client.force_login(engineer)
    body = client.get(reverse("queue-detail", args=[SLUG, setup["queue"].pk])).content.decode()
    assert 'id="progress-table"' in body and "Edit settings" not in body


def test_pausing_a_queue(client, setup, author):
    client.force_login(author)
    client.post(reverse("queue-status", args=[SLUG, setup["queue"].pk]), {"action": "pause"})
    setup["queue"].refresh_from_db()
    assert setup["queue"].status == Queue.Status.PAUSED


# --- People and invitations ---------------------------------------------------------------


def test_an_admin_updates_a_member_inline(client, setup, admin_user, clinicians):
    client.force_login(admin_user)
    member = setup["member"]
    url = reverse("member-update", args=[SLUG, member.pk])
    response = client.post(
        url, {"role": "author", "expertise": "cardiology, 12 years"}, HTTP_HX_REQUEST="true"
    )
    assert response.content.decode().lstrip().startswith(f'<tbody id="member-{member.pk}"')
    member.refresh_from_db()
    assert (member.role, member.expertise) == ("author", "cardiology, 12 years")
    assert not member.user.cohorts.exists()


def test_demoting_the_last_admin_is_refused_with_a_message(client, setup, admin_user):
    client.force_login(admin_user)
    own = admin_user.memberships.get()
    url = reverse("member-update", args=[SLUG, own.pk])
    response = client.post(url, {"role": "reviewer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "at least one admin" in response.content.decode()


def test_an_invitation_link_is_shown_once_and_lets_the_invitee_join(
    client, setup, admin_user, clinicians
):
    client.force_login(admin_user)
    response = client.post(
        reverse("invitation-create", args=[SLUG]),
        {"role": "reviewer", "cohorts": [clinicians.pk], "email": "", "days": "3"},
    )
    body = response.content.decode()
    start = body.index("/invite/")
    path = body[start : body.index('"', start)]
    client.logout()
    assert client.get(path).status_code == 200
    response = client.post(
        path,
        {"username": "nina", "full_name": "Nina Patel", "password": "a-long-enough-pass-42",
         "password2": "a-long-enough-pass-42", "expertise": "cardiology"},
    )  # fmt: skip
    assert response["Location"] == reverse("workspace", args=[SLUG])
    nina = clinicians.members.get(username="nina")
    assert nina.memberships.get().expertise == "cardiology"
    client.logout()
    assert client.get(path).status_code == 404


def test_mismatched_passwords_are_refused(client, setup):
    _, token = invites.create_invitation(setup["invitation"].workspace, created_by=None)
    response = client.post(
        reverse("invite-accept", args=[token]),
        {"username": "x", "password": "a-long-enough-pass-42", "password2": "different-pass-42"},
    )
    assert response.status_code == 422
    assert "The two passwords differ." in response.content.decode()


def test_the_preview_follows_unsaved_edits_as_the_author_types(client, setup, author):
    client.force_login(author)
    criterion = setup["criterion"]
    url = reverse(
        "criterion-preview", args=[SLUG, setup["rubric"].pk, setup["v2"].number, criterion.pk]
    )
    response = client.post(url, _likert_post(name="Typed, not saved"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="preview"')
    assert "Typed, not saved" in body and "Contradicts" in body
    assert "Possibility of harm" in body  # the other criteria are there too
    criterion.refresh_from_db()
    assert criterion.name == "Agreement with medical consensus"


def test_setup_changes_are_written_to_the_audit_log(client, setup, author, admin_user):
    from annotate.models import AuditEvent

    client.force_login(author)
    client.post(reverse("rubric-publish", args=[SLUG, setup["rubric"].pk, 2]))
    client.post(reverse("queue-status", args=[SLUG, setup["queue"].pk]), {"action": "pause"})
    client.force_login(admin_user)
    member = setup["member"]
    client.post(reverse("member-update", args=[SLUG, member.pk]), {"role": "author"})
    events = {e.action: e for e in AuditEvent.objects.all()}
    assert events["rubric.publish"].actor == author
    assert events["queue.status"].details == {"status": "paused"}
    assert events["member.update"].details["previous_role"] == "reviewer"
    assert events["member.update"].actor == admin_user


def test_the_audit_log_says_what_a_member_edit_changed(client, setup, clinicians, admin_user):
    from annotate.models import AuditEvent

    client.force_login(admin_user)
    url = reverse("member-update", args=[SLUG, setup["member"].pk])
    kept = {"role": "reviewer", "cohorts": [str(clinicians.pk)]}
    client.post(url, {**kept, "expertise": "GP"})
    client.post(url, {"role": "author", "expertise": "GP"})
    client.post(url, {"role": "author", "expertise": "GP"})
    summaries = list(
        AuditEvent.objects.filter(action="member.update")
        .order_by("id")
        .values_list("summary", flat=True)
    )
    name = setup["member"].user.username
    assert summaries == [
        f"{name}: expertise “” → “GP”",
        f"{name}: role reviewer → author; removed from {clinicians.name}",
        f"{name}: saved without changes",
    ]


def test_an_author_sets_pairwise_and_quality_settings_on_a_queue(client, workspace, author):
    from tests.factories import make_queue

    queue = make_queue(workspace)
    client.force_login(author)
    data = {
        "name": queue.name,
        "kind": "rubric",
        "rubric_version": queue.rubric_version_id,
        "judgments_per_item": "1",
        "lease_minutes": "15",
        "order": "random",
        "rationale_required": "on",
        "rationale_min_length": "20",
        "swap_check_percent": "10",
        "gold_percent": "5",
        "gold_min_accuracy_percent": "70",
        "calibration_required": "on",
    }
    response = client.post(f"/w/{workspace.slug}/queues/{queue.pk}/edit/", data)
    assert response.status_code == 302
    queue.refresh_from_db()
    assert (queue.rationale_required, queue.rationale_min_length) == (True, 20)
    assert (queue.swap_check_rate, queue.gold_rate) == (0.1, 0.05)
    assert queue.gold_min_accuracy == 0.7 and queue.calibration_required
    page = client.get(f"/w/{workspace.slug}/queues/{queue.pk}/edit/").content.decode()
    assert 'name="gold_percent" value="5.0"' in page
