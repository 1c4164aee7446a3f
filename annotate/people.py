"""Members, roles, expertise and cohorts of a workspace (what the admins' People page does)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from annotate.models import Cohort, ImportedReviewer, Membership, Role, Workspace
from annotate.text import check_fields


class PeopleError(ValidationError):
    """A membership change broke a rule; ``message_dict`` names the field when it can."""


def _other_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def update_member(
    membership: Membership, *, role: str, expertise: str, cohorts: Iterable[Cohort]
) -> Membership:
    """Set a member's role, expertise and cohorts (a reviewer may be in several)."""
    cohorts = list(cohorts)
    if role not in Role.values:
        raise PeopleError({"role": "Choose a role."})
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _other_admins(membership):
        raise PeopleError({"role": "A workspace needs at least one admin."})
    if any(c.workspace_id != membership.workspace_id for c in cohorts):
        raise PeopleError({"cohorts": "Choose cohorts of this workspace."})
    errors = check_fields(Membership, expertise=expertise.strip())
    if errors:
        raise PeopleError(errors)
    with transaction.atomic():
        membership.role = role
        membership.expertise = expertise.strip()
        membership.save(update_fields=["role", "expertise"])
        workspace_cohorts = Cohort.objects.filter(workspace_id=membership.workspace_id)
        wanted = {c.pk for c in cohorts}
        for cohort in workspace_cohorts:
            if cohort.pk in wanted:
                cohort.members.add(membership.user_id)
            else:
                cohort.members.remove(membership.user_id)
    return membership


def remove_member(membership: Membership) -> None:
    """Take someone out of the workspace and its cohorts. Their judgments stay."""
    if membership.role == Role.ADMIN and not _other_admins(membership):
        raise PeopleError("A workspace needs at least one admin.")
    with transaction.atomic():
        for cohort in Cohort.objects.filter(workspace_id=membership.workspace_id):
            cohort.members.remove(membership.user_id)
        membership.delete()


def create_cohort(workspace: Workspace, name: str, description: str = "") -> Cohort:
    name, description = name.strip(), description.strip()
    errors = check_fields(Cohort, name=name, description=description)
    if not name:
        errors["name"] = "Give the cohort a name."
    if errors:
        raise PeopleError(errors)
    if Cohort.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise PeopleError({"name": f"There is already a cohort called “{name}”."})
    return Cohort.objects.create(workspace=workspace, name=name, description=description)


def cohort_ids_by_user(workspace: Workspace) -> dict[int, set[int]]:
    """{user id: {cohort ids}} for every cohort of the workspace, in one query."""
    through = Cohort.members.through
    result: dict[int, set[int]] = {}
    for user_id, cohort_id in through.objects.filter(cohort__workspace=workspace).values_list(
        "user_id", "cohort_id"
    ):
        result.setdefault(user_id, set()).add(cohort_id)
    return result


# --- Reviewers as exports and the API show them ------------------------------------


def pseudonym(workspace_id: int, user_id: int) -> str:
    """A stable reviewer id that does not reveal who the reviewer is."""
    message = f"quorum-reviewer:{workspace_id}:{user_id}".encode()
    return "r-" + hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:12]


@dataclass
class Reviewer:
    label: str
    cohorts: str


def reviewer_map(
    workspace: Workspace, user_ids: Iterable[int], names: bool = False
) -> dict[int, Reviewer]:
    """Label and cohorts (``;``-joined names) per user id: an imported reviewer's label, the
    username when ``names``, else the pseudonym."""
    ids = set(user_ids)
    imported = dict(
        ImportedReviewer.objects.filter(workspace=workspace, user_id__in=ids).values_list(
            "user_id", "label"
        )
    )
    cohorts: dict[int, list[str]] = {}
    for user_id, name in Cohort.members.through.objects.filter(
        cohort__workspace=workspace, user_id__in=ids
    ).values_list("user_id", "cohort__name"):
        cohorts.setdefault(user_id, []).append(name)
    usernames: dict[int, str] = {}
    if names:
        usernames = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    result = {}
    for user_id in ids:
        label = imported.get(user_id) or usernames.get(user_id) or pseudonym(workspace.pk, user_id)
        result[user_id] = Reviewer(label, ";".join(sorted(cohorts.get(user_id, []))))
    return result
