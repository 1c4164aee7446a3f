"""Setup and reviewing forms parsed by hand (not Django forms): a name longer than its
column, text with a NUL or a lone surrogate, a number out of range. Each answers with
the error beside its field (the htmx fragment included), keeps what was typed, and
saves nothing; before, these were database errors (500) or silently accepted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate import invites, people, rubrics
from annotate.assignment import claim_next, release
from annotate.judging import validate_answers
from annotate.models import Assignment, Cohort, Criterion, Membership, Rubric
from annotate.pairwise import validate_pairwise
from annotate.queues import add_item_by_hand
from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.annotate.test_setup_views import SLUG, _likert_post, _save_url
from tests.factories import make_queue, published_rubric

LONG_NAME = "R" * 201
NUL = "bad\x00text"  # a form body cannot carry a lone surrogate (Django decodes with "replace")


@pytest.fixture
def setup(workspace, clinicians, admin_user, author, reviewer):
    """A published v1 with a draft v2, and a queue with items."""
    v1 = published_rubric(workspace)
    v2 = rubrics.new_draft_version(v1.rubric)
    return {
        "rubric": v1.rubric,
        "v2": v2,
        "criterion": v2.criteria.get(key="accuracy"),
        "queue": make_queue(workspace, cohorts=[clinicians], items=2, rubric_version=v1),
        "member": reviewer.memberships.get(),
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [(LONG_NAME, "Keep it to 200 characters (this is 201)."), (NUL, "contains a NUL character")],
)
@pytest.mark.parametrize("template", ["", "support"])
def test_creating_a_rubric_with_a_bad_name_shows_the_error_beside_the_name(
    client, workspace, author, name, message, template
):
    client.force_login(author)
    response = client.post(
        reverse("rubric-create", args=[SLUG]), {"name": name, "template": template}
    )
    assert response.status_code == 422
    body = response.content.decode()
    field = body[body.index('id="new-rubric-name"') :]
    assert 'aria-invalid="true"' in field[: field.index(">")]
    assert message in field[: field.index("</fieldset>")]
    assert f'value="{template}" checked' in body
    assert not Rubric.objects.filter(workspace=workspace).exists()


def test_rubric_details_refuse_overlong_names_and_nul_beside_each_field(client, setup, author):
    client.force_login(author)
    url = reverse("rubric-details", args=[SLUG, setup["rubric"].pk, setup["v2"].number])
    data = {"name": LONG_NAME, "description": NUL, "instructions": "x\x00"}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="details"')
    assert "Keep it to 200 characters" in body and "contains a NUL character" in body
    assert body.count('aria-invalid="true"') == 3
    assert 'value="' + LONG_NAME + '"' in body  # what the author typed stays
    setup["rubric"].refresh_from_db()
    assert setup["rubric"].name == "Clinician review"


def test_cloning_under_an_overlong_name_is_refused_with_a_message(client, setup, author):
    client.force_login(author)
    url = reverse("rubric-clone", args=[SLUG, setup["rubric"].pk])
    response = client.post(url, {"name": LONG_NAME}, follow=True)
    assert "Not cloned: Keep it to 200 characters" in response.content.decode()
    assert Rubric.objects.count() == 1


def test_the_default_clone_name_of_a_long_name_fits(workspace):
    version = rubrics.create_rubric(workspace, "N" * 200, [])
    copy = rubrics.clone_rubric(version.rubric)
    assert copy.rubric.name == ("Copy of " + "N" * 200)[:200]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", LONG_NAME, "Keep it to 200 characters (this is 201)."),
        ("name", NUL, "contains a NUL character"),
        ("help_text", NUL, "contains a NUL character"),
        ("weight", "1e308", "Keep the weight to 1000 or less."),
        ("weight", "1001", "Keep the weight to 1000 or less."),
        ("weight", "inf", "The weight must be a positive number."),
        ("weight", "nan", "The weight must be a positive number."),
        ("weight", "1e999", "The weight must be a positive number."),
        ("level_value", ["1", "2", "9" * 30], "Keep level values between"),
        ("level_value", ["1", "2", "inf"], "Every level needs a whole-number value."),
        ("level_label", ["Low", "Mid\x00", "High"], "A level&#x27;s label: contains a NUL"),
    ],
)
def test_an_invalid_criterion_comes_back_in_its_fragment_with_the_error_beside_the_field(
    client, setup, author, field, value, message
):
    client.force_login(author)
    criterion = setup["criterion"]
    response = client.post(
        _save_url(setup, criterion), _likert_post(**{field: value}), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422  # the htmx config swaps 422 into the page
    body = response.content.decode()
    assert body.lstrip().startswith(
        f'<article class="criterion-card has-error dirty" id="criterion-{criterion.pk}"'
    )
    assert "Not saved: fix the fields marked below" in body
    assert message in body
    before = Criterion.objects.get(pk=criterion.pk)
    assert (before.name, before.weight) == ("Agreement with medical consensus", 1.0)


@pytest.mark.parametrize(
    ("kind", "post", "message"),
    [
        ("numeric", {"min": "-1e300", "max": "10", "step": "1"}, "Keep it between"),
        ("numeric", {"min": "0", "max": "inf", "step": "1"}, "Enter a number."),
        ("free_text", {"max_length": "9" * 20}, "The length limit must be a whole number from 1"),
        (
            "categorical",
            {
                "option_value": ["a", "b"],
                "option_label": ["A", "B\x00"],
                "option_description": ["", ""],
            },
            "An option&#x27;s label",
        ),  # fmt: skip
    ],
)
def test_criterion_settings_out_of_range_are_refused(client, setup, author, kind, post, message):
    client.force_login(author)
    criterion = setup["v2"].criteria.create(key=f"k-{kind}", name="N", kind=kind, position=9,
                                            config=rubrics.default_config(kind))  # fmt: skip
    data = {"name": "N", "key": f"k-{kind}", "kind": kind, "weight": "1", **post}
    response = client.post(_save_url(setup, criterion), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert message in response.content.decode()


def test_a_cohort_with_an_overlong_name_shows_the_error_beside_it(client, setup, admin_user):
    client.force_login(admin_user)
    data = {"name": "C" * 101, "description": "D" * 301}
    response = client.post(reverse("cohort-create", args=[SLUG]), data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "Keep it to 100 characters (this is 101)." in body
    assert "Keep it to 300 characters (this is 301)." in body
    assert 'value="' + "C" * 101 + '"' in body
    assert not Cohort.objects.filter(name__startswith="CCC").exists()


def test_a_members_expertise_is_refused_not_cut_when_too_long(setup):
    member = setup["member"]
    with pytest.raises(people.PeopleError, match="Keep it to 200"):
        people.update_member(member, role=member.role, expertise="E" * 201, cohorts=[])
    member.refresh_from_db()
    assert member.expertise == ""


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "a@b.c" + "x" * 260}, "email"),
        ({"expertise": "E" * 201}, "expertise"),
        ({"expertise": NUL}, "expertise"),
    ],
)
def test_invitations_refuse_bad_fields(workspace, admin_user, fields, field):
    with pytest.raises(invites.InvitationError) as caught:
        invites.create_invitation(workspace, created_by=admin_user, **fields)
    assert field in caught.value.message_dict


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"username": NUL}, "username"),
        ({"username": "u" * 151}, "username"),
        ({"username": "has space"}, "username"),
        ({"full_name": NUL}, "full_name"),
        ({"expertise": "E" * 201}, "expertise"),
    ],
)
def test_accepting_an_invitation_refuses_bad_fields_beside_them(client, setup, values, field):
    _, token = invites.create_invitation(setup["rubric"].workspace, created_by=None)
    data = {"username": "newbie", "password": "a-long-passphrase-9", "full_name": "New Bie"}
    data.update(values)
    data["password2"] = data["password"]
    response = client.post(reverse("invite-accept", args=[token]), data)
    assert response.status_code == 422
    body = response.content.decode()
    assert body.count('class="error"') == 1
    assert not Membership.objects.filter(user__username="newbie").exists()
    assert f'name="{field}"' in body[: body.index('class="error"')]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"model_name": "m" * 201}, "model_name"),
        ({"model_version": NUL}, "model_version"),
        ({"output": NUL}, "output"),
        ({"input_text": "q\ud800"}, "input_text"),
    ],
)
def test_an_item_by_hand_with_bad_text_is_refused_by_field(workspace, values, field):
    queue = make_queue(workspace)
    fields = {"input_text": "Q", "output": "A", **values}
    with pytest.raises(rubrics.ValidationError) as caught:
        add_item_by_hand(queue, **fields)
    assert list(caught.value.message_dict) == [field]
    assert not queue.items.exists()


def test_the_add_item_fragment_shows_a_model_name_error(client, setup, author):
    client.force_login(author)
    url = reverse("queue-add-item", args=[SLUG, setup["queue"].pk])
    data = {"input_text": "Q", "output": "A", "model_name": "m" * 201}
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Keep it to 200 characters" in response.content.decode()


def test_a_free_text_answer_with_a_nul_is_an_answer_error(workspace):
    version = published_rubric(workspace)
    comment = version.criteria.get(key="comment")
    answers, errors = validate_answers([comment], {"comment": "fine\x00"})
    assert errors == {"comment": "This text contains a NUL character (\\u0000)."}


def test_a_rationale_with_a_lone_surrogate_is_an_answer_error(workspace):
    queue = make_pairwise_queue(workspace)
    _, errors = validate_pairwise(queue, True, [], {"choice": "left", "rationale": "x\ud800"})
    assert "lone surrogate" in errors["rationale"]


def test_a_skip_reason_with_a_nul_still_skips(workspace, reviewer, clinicians):
    queue = make_queue(workspace, cohorts=[clinicians], items=1)
    assignment = claim_next(queue, reviewer)
    assert release(assignment, reason="busy\x00now")
    assignment.refresh_from_db()
    assert (assignment.state, assignment.skip_reason) == (Assignment.State.SKIPPED, "busy\ufffdnow")
