"""Pairwise answers and the swap checks that test a reviewer's consistency."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models.queues import Item, Judgment, Queue


def new_ticket() -> str:
    return secrets.token_urlsafe(18)


class Preference(models.TextChoices):
    """A pairwise answer, always in terms of the item's outputs, never of screen sides."""

    A = "a", "A is better"
    B = "b", "B is better"
    TIE = "tie", "Tie"
    BOTH_BAD = "both_bad", "Both bad"


class SwapCheck(models.Model):
    """A pair shown again to a reviewer who judged it, with the sides swapped.

    It is served from the claim logic of pairwise queues at the queue's
    ``swap_check_rate`` and looks like any other pair on the page. It never takes one of
    the item's k slots and never changes the original judgment.
    """

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="swap_checks")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="swap_checks")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swap_checks"
    )
    original = models.ForeignKey(Judgment, on_delete=models.CASCADE, related_name="swap_checks")
    a_on_left = models.BooleanField()
    ticket = models.CharField(max_length=32, unique=True, default=new_ticket)
    state = models.CharField(max_length=20, choices=State.choices, default=State.LEASED)
    preference = models.CharField(max_length=20, choices=Preference.choices, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="swap_check_once_per_item"),
            models.CheckConstraint(
                condition=Q(state="submitted", preference__in=Preference.values)
                | ~Q(state="submitted"),
                name="swap_check_submitted_has_answer",
            ),
        ]
        indexes = [
            models.Index(
                fields=["queue", "reviewer"], condition=Q(state="leased"), name="swap_check_live"
            ),
        ]

    def __str__(self) -> str:
        return f"swap check {self.pk} on item {self.item_id} ({self.state})"
