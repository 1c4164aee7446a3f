"""Lookups that scope every object to a workspace the user belongs to.

Each helper raises ``Http404`` when the user has no membership in the owning
workspace, so another workspace's objects look exactly like missing ones, and
``PermissionDenied`` (403) when the user is a member without the needed role.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from annotate.models import Membership, Queue, Role

ANY_ROLE: tuple[str, ...] = tuple(Role.values)
SETUP_READERS: tuple[str, ...] = (Role.ADMIN, Role.AUTHOR, Role.ENGINEER)
AUTHORS: tuple[str, ...] = (Role.ADMIN, Role.AUTHOR)
ADMINS: tuple[str, ...] = (Role.ADMIN,)


def get_membership(
    user: AbstractBaseUser | AnonymousUser, slug: str, roles: Iterable[str] = ANY_ROLE
) -> Membership:
    """The user's membership in workspace ``slug``: 404 if none, 403 if the role is not allowed."""
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("workspace", "user")
        .filter(workspace__slug=slug, user=user)
        .first()
    )
    if membership is None:
        raise Http404
    if membership.role not in tuple(roles):
        raise PermissionDenied
    return membership


def queues_for_reviewer(membership: Membership) -> QuerySet[Queue]:
    """Queues this member may grade in: those open to one of their cohorts."""
    return (
        Queue.objects.filter(
            workspace_id=membership.workspace_id, cohorts__members=membership.user_id
        )
        .exclude(status=Queue.Status.CLOSED)
        .distinct()
    )


def get_queue_for_grading(membership: Membership, queue_id: int) -> Queue:
    """A queue the member may grade in; 404 for any other (including other workspaces')."""
    queue = (
        queues_for_reviewer(membership)
        .select_related("rubric_version", "rubric_version__rubric")
        .filter(pk=queue_id)
        .first()
    )
    if queue is None:
        raise Http404
    return queue


def get_queue(membership: Membership, queue_id: int) -> Queue:
    """Any queue of the member's workspace (for setup and results pages)."""
    queue = (
        Queue.objects.select_related("rubric_version", "rubric_version__rubric")
        .filter(workspace_id=membership.workspace_id, pk=queue_id)
        .first()
    )
    if queue is None:
        raise Http404
    return queue
