"""Workspaces, people, rubrics, queues, items, assignments and judgments.

Rules that must never break live in the database as constraints: one judgment per
reviewer per item, one assignment per reviewer per item, never more judgments on an
item than it needs, published rubric versions never change (enforced in ``save``
and ``delete`` of ``rubrics`` and by the only code path that writes criteria).

Every model is re-exported here: import them as ``from annotate.models import Queue``.
"""

from annotate.models.pairwise import Preference, SwapCheck, new_ticket
from annotate.models.quality import Adjudication, ImportedReviewer, PracticeAnswer, ReviewerPause
from annotate.models.queues import (
    Assignment,
    Item,
    Judgment,
    JudgmentRevision,
    Queue,
    _random_sort_key,  # the default of Item.sort_key, named by migration 0001
)
from annotate.models.rubrics import (
    Criterion,
    CriterionKind,
    PublishedVersionError,
    Rubric,
    RubricVersion,
)
from annotate.models.tokens import SCOPES_PATTERN, ApiToken, TokenScope
from annotate.models.workspaces import (
    AuditEvent,
    Cohort,
    Invitation,
    Membership,
    Role,
    Workspace,
)

__all__ = [
    "Adjudication",
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "Cohort",
    "Criterion",
    "CriterionKind",
    "ImportedReviewer",
    "Invitation",
    "Item",
    "Judgment",
    "JudgmentRevision",
    "Membership",
    "PracticeAnswer",
    "Preference",
    "PublishedVersionError",
    "Queue",
    "Role",
    "Rubric",
    "RubricVersion",
    "ReviewerPause",
    "SCOPES_PATTERN",
    "SwapCheck",
    "TokenScope",
    "Workspace",
    "new_ticket",
    "_random_sort_key",
]
