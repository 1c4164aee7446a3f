"""Invitation links and member management (plain functions)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotate import invites, people
from annotate.models import Cohort, Invitation, Membership, Role


def test_the_token_is_stored_only_as_a_hash(workspace, admin_user):
    invitation, token = invites.create_invitation(workspace, created_by=admin_user)
    assert token not in invitation.token_hash
    assert invitation.token_hash == invites.hash_token(token)
    assert invites.find_invitation(token) == invitation
    assert invites.find_invitation(token + "x") is None


def test_accepting_creates_the_user_membership_and_cohorts(workspace, admin_user, clinicians):
    lay = Cohort.objects.create(workspace=workspace, name="Lay reviewers")
    invitation, token = invites.create_invitation(
        workspace, created_by=admin_user, cohorts=[clinicians, lay], expertise="GP"
    )
    membership = invites.accept_invitation(
        invitation, username="nina", password="a-long-enough-pass-42", full_name="Nina Patel",
        expertise="cardiology, 12 years",
    )  # fmt: skip
    assert membership.role == Role.REVIEWER
    assert membership.expertise == "cardiology, 12 years"
    assert membership.user.check_password("a-long-enough-pass-42")
    assert set(membership.user.cohorts.all()) == {clinicians, lay}
    assert membership.user.get_full_name() == "Nina Patel"


def test_a_link_works_once(workspace, admin_user):
    invitation, token = invites.create_invitation(workspace, created_by=admin_user)
    invites.accept_invitation(invitation, username="one", password="a-long-enough-pass-42")
    assert invites.find_invitation(token) is None
    with pytest.raises(ValidationError, match="already been used"):
        invites.accept_invitation(invitation, username="two", password="a-long-enough-pass-42")
    assert not Membership.objects.filter(user__username="two").exists()


def test_an_expired_or_revoked_link_does_not_work(workspace, admin_user):
    old = timezone.now() - timedelta(days=8)
    _, expired = invites.create_invitation(workspace, created_by=admin_user, now=old)
    assert invites.find_invitation(expired) is None
    invitation, token = invites.create_invitation(workspace, created_by=admin_user)
    assert invites.revoke_invitation(invitation)
    assert invites.find_invitation(token) is None
    assert Invitation.objects.get(pk=invitation.pk).state() == "revoked"


def test_weak_passwords_and_taken_usernames_are_refused(workspace, admin_user, author):
    invitation, _ = invites.create_invitation(workspace, created_by=admin_user)
    with pytest.raises(ValidationError) as exc:
        invites.accept_invitation(invitation, username=author.username, password="123")
    assert set(exc.value.message_dict) == {"username", "password"}
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_the_link_is_emailed_when_email_is_configured(workspace, admin_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    invitation, token = invites.create_invitation(
        workspace, created_by=admin_user, email="nina@example.org"
    )
    assert invites.send_invitation_email(invitation, f"https://q.example/invite/{token}/")
    assert mail.outbox[0].to == ["nina@example.org"]
    assert token in mail.outbox[0].body
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert not invites.send_invitation_email(invitation, "https://q.example/")


def test_an_admin_sets_role_expertise_and_several_cohorts(
    workspace, admin_user, reviewer, clinicians
):
    lay = Cohort.objects.create(workspace=workspace, name="Lay reviewers")
    membership = reviewer.memberships.get()
    people.update_member(
        membership, role=Role.AUTHOR, expertise="nephrology", cohorts=[lay, clinicians]
    )
    membership.refresh_from_db()
    assert (membership.role, membership.expertise) == (Role.AUTHOR, "nephrology")
    people.update_member(membership, role=Role.REVIEWER, expertise="", cohorts=[lay])
    assert list(reviewer.cohorts.all()) == [lay]


def test_the_last_admin_cannot_be_demoted_or_removed(workspace, admin_user):
    membership = admin_user.memberships.get()
    with pytest.raises(ValidationError, match="at least one admin"):
        people.update_member(membership, role=Role.REVIEWER, expertise="", cohorts=[])
    with pytest.raises(ValidationError, match="at least one admin"):
        people.remove_member(membership)


def test_cohort_names_are_unique_per_workspace(workspace, clinicians):
    with pytest.raises(ValidationError, match="already a cohort"):
        people.create_cohort(workspace, "clinicians")
    assert people.create_cohort(workspace, "Cardiologists").name == "Cardiologists"
