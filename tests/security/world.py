"""One workspace with an object of every kind, and the people who try to reach it.

The permission matrix test and the XSS test both build URLs from the resolver; this
module turns each URL keyword (``slug``, ``queue_id``, ...) into the id of a real
object of the world. A route with a keyword that has no resolver here fails the
tests with a message naming what to add to ``KWARG_RESOLVERS``.

``text(field)`` fills every free-text field: plain words for the permission test,
attack payloads for the XSS test.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from annotate import audit
from annotate.assignment import claim_next
from annotate.items import add_items
from annotate.judging import Outcome, submit_judgment
from annotate.models import (
    Cohort,
    CriterionKind,
    Judgment,
    Membership,
    Queue,
    Role,
    Workspace,
)
from annotate.rubrics import create_rubric, publish
from tests.factories import PASSWORD

User = get_user_model()

# The seven kinds of visitor of the written matrix, in the order of its columns.
ROLES = ("admin", "author", "engineer", "reviewer_in", "reviewer_out", "other", "anonymous")

TextFn = Callable[[str], str]


def plain(field_name: str) -> str:
    return f"plain {field_name}"


@dataclass
class World:
    text: TextFn
    workspace: Workspace = None  # type: ignore[assignment]
    other_workspace: Workspace = None  # type: ignore[assignment]
    users: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, make: Callable[[World], Any]) -> Any:
        """The world's object ``key``, made on first use."""
        if key not in self.objects:
            self.objects[key] = make(self)
        return self.objects[key]

    @property
    def queue(self) -> Queue:
        return self.objects["queue"]


def _user(world: World, role_key: str, username: str) -> Any:
    t = world.text
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        first_name=t(f"{role_key}.first_name")[:150],
        last_name=t(f"{role_key}.last_name")[:150],
        email=f"{username}@example.org",
    )
    world.users[role_key] = user
    return user


def criteria_spec(t: TextFn) -> list[dict[str, Any]]:
    levels = [
        {"value": v, "label": t(f"level{v}.label")[:200], "description": t(f"level{v}.description")}
        for v in range(1, 6)
    ]
    return [
        {
            "key": "accuracy",
            "name": t("criterion.name")[:200],
            "help_text": t("criterion.help_text"),
            "kind": CriterionKind.LIKERT,
            "config": {"levels": levels},
        },
        {
            "key": "harm",
            "name": t("criterion2.name")[:200],
            "help_text": t("criterion2.help_text"),
            "kind": CriterionKind.CATEGORICAL,
            "config": {
                "options": [
                    {"value": "none", "label": t("option1.label"), "description": t("option1.d")},
                    {"value": "severe", "label": t("option2.label"), "description": t("o2.d")},
                ]
            },
        },
        {"key": "safe", "name": t("criterion3.name")[:200], "kind": CriterionKind.PASS_FAIL},
        {
            "key": "comment",
            "name": t("criterion4.name")[:200],
            "kind": CriterionKind.FREE_TEXT,
            "required": False,
        },
    ]


def item_rows(t: TextFn, n: int) -> list[dict[str, Any]]:
    return [
        {
            "input_text": t(f"item{i}.input_text"),
            "input_messages": (
                [
                    {"role": t(f"item{i}.msg_role")[:40], "content": t(f"item{i}.msg_user")},
                    {"role": "assistant", "content": t(f"item{i}.msg_assistant")},
                ]
                if i % 2
                else []
            ),
            "output": t(f"item{i}.output"),
            "model_name": t(f"item{i}.model_name")[:200],
            "model_version": t(f"item{i}.model_version")[:200],
            "metadata": {"topic": t(f"item{i}.meta_topic"), t(f"item{i}.meta_key")[:60]: "x"},
        }
        for i in range(n)
    ]


def build_world(text: TextFn = plain, items: int = 6, prefix: str = "sec") -> World:
    """The workspace, its people, a published rubric, a queue with items and a live lease."""
    w = World(text=text)
    t = text
    w.workspace = Workspace.objects.create(name=t("workspace.name")[:200], slug=f"{prefix}-ws")
    w.other_workspace = Workspace.objects.create(name=t("other.name")[:200], slug=f"{prefix}-other")
    roles = {
        "admin": Role.ADMIN,
        "author": Role.AUTHOR,
        "engineer": Role.ENGINEER,
        "reviewer_in": Role.REVIEWER,
        "reviewer_out": Role.REVIEWER,
    }
    for key, role in roles.items():
        user = _user(w, key, f"{prefix}-{key.replace('_', '-')}")
        Membership.objects.create(workspace=w.workspace, user=user, role=role)
    other = _user(w, "other", f"{prefix}-other")
    Membership.objects.create(workspace=w.other_workspace, user=other, role=Role.ADMIN)
    cohort = Cohort.objects.create(
        workspace=w.workspace, name=t("cohort.name")[:100], description=t("cohort.d")[:300]
    )
    cohort.members.add(w.users["reviewer_in"])
    w.objects["cohort"] = cohort
    version = create_rubric(
        w.workspace,
        t("rubric.name")[:200],
        criteria_spec(t),
        description=t("rubric.description"),
        instructions=t("rubric.instructions"),
    )
    publish(version, actor=w.users["author"])
    w.objects["rubric_version"] = version
    w.objects["rubric"] = version.rubric
    queue = Queue.objects.create(
        workspace=w.workspace,
        name=t("queue.name")[:200],
        rubric_version=version,
        judgments_per_item=2,
        instructions=t("queue.instructions"),
    )
    queue.cohorts.set([cohort])
    add_items(queue, item_rows(t, items))
    w.objects["queue"] = queue
    _judge_one(w, queue)
    w.objects["assignment"] = claim_next(queue, w.users["reviewer_in"])
    audit.record(w.workspace, w.users["admin"], "security.test", queue, t("audit.summary"))
    # The other workspace has a queue too, so cross-workspace ids exist.
    other_version = publish(create_rubric(w.other_workspace, "Other rubric", criteria_spec(plain)))
    other_queue = Queue.objects.create(
        workspace=w.other_workspace, name="Other queue", rubric_version=other_version
    )
    add_items(other_queue, item_rows(plain, 2))
    w.objects["other_queue"] = other_queue
    return w


def _judge_one(w: World, queue: Queue) -> None:
    """A submitted judgment with free-text answers, so results pages have comments to show."""
    reviewer = w.users["reviewer_in"]
    lease = claim_next(queue, reviewer)
    criteria = list(queue.rubric_version.criteria.all())
    answers = {"accuracy": "4", "harm": "none", "safe": "pass", "comment": w.text("comment")[:2000]}
    result = submit_judgment(queue, lease, criteria, answers)
    assert result.outcome == Outcome.SAVED, result
    w.objects["judgment"] = Judgment.objects.get(item_id=lease.item_id, reviewer=reviewer)


# --- URL keyword resolvers ----------------------------------------------------------------
# Key: the keyword, or "url-name:keyword" when one route needs a different object.
# Value: a function of the world returning the value to put in the URL.


def _job(w: World) -> int:
    from evals.models import Job

    return Job.objects.create(
        workspace=w.workspace,
        kind="other",
        task_name="evals.tasks.noop",
        status=Job.Status.FAILED,
        error=w.text("job.error"),
        params={"name": w.text("job.param")},
        created_by=w.users["engineer"],
    ).pk


def _draft(w: World):
    """A draft rubric version (its editing routes refuse published versions)."""
    return create_rubric(
        w.workspace,
        w.text("draft.name")[:200],
        criteria_spec(w.text),
        description=w.text("draft.description"),
        instructions=w.text("draft.instructions"),
    )


def _source(w: World):
    from evals.models import Log, Source

    source = Source.objects.create(workspace=w.workspace, name="api")
    for n in range(2):
        Log.objects.create(
            workspace=w.workspace,
            source=source,
            external_id=f"ext-{n}",
            timestamp=timezone.now(),
            model_name=w.text("log.model_name")[:200],
            model_version=w.text("log.model_version")[:200],
            input_text=w.text("log.input_text"),
            output=w.text("log.output"),
            metadata={"topic": w.text("log.topic"), w.text("log.meta_key")[:60]: "x"},
            feedback={"comment": w.text("log.feedback")},
            feedback_negative=True,
            trace_id=w.text("log.trace_id")[:200],
        )
    return source


def _ingest_job(w: World) -> int:
    from evals.ingest.uploads import create_upload_job

    header = ",".join('"' + w.text(f"csv.col{n}")[:80].replace('"', "'") + '"' for n in range(3))
    row = ",".join('"' + w.text(f"csv.cell{n}")[:200].replace('"', "'") + '"' for n in range(3))
    upload = io.BytesIO(f"{header}\n{row}\n".encode())
    filename = w.text("upload.filename")[:150].replace("/", "").replace("\n", " ") + ".csv"
    source = w.get("source", _source)
    return create_upload_job(
        w.workspace, source, upload, filename, "csv", user=w.users["engineer"]
    ).pk


EXPORT_FILE = "judgments.csv"


def _export_job(w: World) -> int:
    """A finished export job with one file on disk (made directly: the export writer reads
    on a second connection, which cannot see this world's uncommitted rows)."""
    from evals.exports.jobs import KIND, export_dir
    from evals.models import Job

    job = Job.objects.create(
        workspace=w.workspace,
        kind=KIND,
        task_name="evals.tasks.run_export",
        status=Job.Status.SUCCEEDED,
        params={"shape": "judgments", "format": "csv", "filters": {}},
        result={"files": [{"name": EXPORT_FILE, "bytes": 10, "sha256": "0" * 64}]},
        created_by=w.users["engineer"],
        finished_at=timezone.now(),
    )
    folder = export_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EXPORT_FILE).write_text("id,comment\n1," + w.text("export.cell")[:500] + "\n")
    return job.pk


def _import_job(w: World) -> int:
    """A finished background import whose file name and refused-row reason are free text."""
    from evals.exports.import_jobs import KIND, TASK
    from evals.models import Job

    return Job.objects.create(
        workspace=w.workspace,
        kind=KIND,
        task_name=TASK,
        status=Job.Status.SUCCEEDED,
        params={"queue_id": w.queue.pk, "format": "csv", "filename": w.text("import.filename")},
        result={
            "rows": 2,
            "created": 1,
            "items_created": 1,
            "reviewers_created": 1,
            "refused": 1,
            "errors": [{"row": 2, "message": w.text("import.error")}],
        },
        created_by=w.users["engineer"],
        finished_at=timezone.now(),
    ).pk


def _sampling_rule(w: World) -> int:
    from evals.models import SamplingRule

    return SamplingRule.objects.create(
        workspace=w.workspace,
        name=w.text("sampling.name")[:200],
        queue=w.queue,
        source=w.get("source", _source),
        filters={"text_contains": w.text("sampling.filter")[:100]},
        rate=0.5,
    ).pk


def _alert_rule(w: World) -> int:
    from evals.models import AlertRule

    return AlertRule.objects.create(
        workspace=w.workspace, queue=w.queue, kind=AlertRule.Kind.values[0]
    ).pk


def _invitation(w: World) -> tuple[int, str]:
    from annotate.invites import create_invitation

    invitation, token = create_invitation(
        w.workspace,
        created_by=w.users["admin"],
        email="invitee@example.org",
        expertise=w.text("invitation.expertise")[:200],
    )
    return invitation.pk, token


def _api_token(w: World) -> int:
    from annotate.tokens import create_token

    token, _ = create_token(
        # Token names are one line (no control characters): the payloads, newlines as spaces.
        w.workspace,
        " ".join(w.text("token.name").split())[:100],
        w.users["admin"],
        scopes=["read"],
    )
    return token.pk


def _judge_endpoint(w: World):
    from evals.models import JudgeEndpoint

    return JudgeEndpoint.objects.create(
        workspace=w.workspace,
        name=w.text("judge.name")[:100],
        base_url="http://127.0.0.1:9/v1",
        allow_private_network=True,
        model=w.text("judge.model")[:200],
        # What the prompt form accepts: payloads with literal braces doubled, plus the fields.
        system_template=w.text("judge.system_template").replace("{", "{{").replace("}", "}}")
        + "\n{instructions}\n{criteria}",
    )


def _judge_run(w: World) -> int:
    from evals.judges.runs import start_run

    return start_run(w.get("judge_endpoint", _judge_endpoint), queue=w.queue).pk


def _pairwise_queue(w: World) -> Queue:
    from annotate.pairs import create_pair_items

    t = w.text
    version = publish(
        create_rubric(
            w.workspace,
            t("pairwise_rubric.name")[:200],
            [
                {
                    "key": "better",
                    "name": t("pairwise.criterion")[:200],
                    "kind": CriterionKind.PASS_FAIL,
                    "pairwise_preference": True,
                    "required": False,
                },
                {"key": "note", "name": "Note", "kind": CriterionKind.FREE_TEXT, "required": False},
            ],
        )
    )
    queue = Queue.objects.create(
        workspace=w.workspace,
        name=t("pairwise_queue.name")[:200],
        kind=Queue.Kind.PAIRWISE,
        rubric_version=version,
        judgments_per_item=2,
        instructions=t("pairwise_queue.instructions"),
    )
    queue.cohorts.set([w.objects["cohort"]])
    rows = [
        {
            "input": t(f"pair{n}.input"),
            "output_a": t(f"pair{n}.output_a"),
            "output_b": t(f"pair{n}.output_b"),
            "model_a": t(f"pair{n}.model_a")[:200],
            "version_a": "v1",
            "model_b": t(f"pair{n}.model_b")[:200],
            "version_b": "v2",
        }
        for n in range(3)
    ]
    result = create_pair_items(queue, rows)
    assert result.ok, result.errors
    return queue


def _ticket(w: World) -> str:
    from annotate.pairwise import claim_pair

    return claim_pair(w.get("pairwise_queue", _pairwise_queue), w.users["reviewer_in"]).ticket


PAIRWISE_ROUTES = (
    "pairs",
    "pairwise-submit",
    "pairwise-skip",
    "leaderboard",
    "leaderboard-csv",
    "leaderboard-recompute",
)


def _practice_item(w: World) -> int:
    from annotate.models import Item

    return Item.objects.create(
        queue=w.queue,
        is_practice=True,
        input_text=w.text("practice.input"),
        output=w.text("practice.output"),
        judgments_needed=w.queue.judgments_per_item,
        gold_answers={"accuracy": 4},
    ).pk


KWARG_RESOLVERS: dict[str, Callable[[World], Any]] = {
    "slug": lambda w: w.workspace.slug,
    "queue_id": lambda w: w.queue.pk,
    "assignment_id": lambda w: w.objects["assignment"].pk,
    "job_id": lambda w: w.get("job", _job),
    "ingest-job:job_id": lambda w: w.get("ingest_job", _ingest_job),
    "ingest-mapping:job_id": lambda w: w.get("ingest_job", _ingest_job),
    "export-detail:job_id": lambda w: w.get("export_job", _export_job),
    "export-download:job_id": lambda w: w.get("export_job", _export_job),
    "judgment-import-job:job_id": lambda w: w.get("import_job", _import_job),
    "name": lambda w: EXPORT_FILE,
    "export_id": lambda w: w.get("export_job", _export_job),
    "rubric_id": lambda w: w.get("draft", _draft).rubric_id,
    "number": lambda w: w.get("draft", _draft).number,
    "criterion_id": lambda w: w.get("draft", _draft).criteria.order_by("position").first().pk,
    "member_id": lambda w: (
        Membership.objects.get(workspace=w.workspace, user=w.users["reviewer_out"]).pk
    ),
    "invitation_id": lambda w: w.get("invitation", _invitation)[0],
    "token": lambda w: w.get("invitation", _invitation)[1],
    "rule_id": lambda w: w.get("sampling_rule", _sampling_rule),
    "alert-rule-delete:rule_id": lambda w: w.get("alert_rule", _alert_rule),
    "source_id": lambda w: w.get("source", _source).pk,
    **{
        f"{name}:queue_id": (lambda w: w.get("pairwise_queue", _pairwise_queue).pk)
        for name in PAIRWISE_ROUTES
    },
    "ticket": lambda w: w.get("ticket", _ticket),
    "item_id": lambda w: w.objects["judgment"].item_id,
    "practice-submit:item_id": lambda w: w.get("practice_item", _practice_item),
    "user_id": lambda w: w.users["reviewer_in"].pk,
    "endpoint_id": lambda w: w.get("judge_endpoint", _judge_endpoint).pk,
    "run_id": lambda w: w.get("judge_run", _judge_run),
    "external_id": lambda w: (w.get("source", _source), "ext-0")[1],
    "token_id": lambda w: w.get("api_token", _api_token),
}


class MissingResolver(LookupError):
    pass


def resolve_kwargs(world: World, url_name: str, keywords: list[str]) -> dict[str, Any]:
    values = {}
    for kw in keywords:
        resolver = KWARG_RESOLVERS.get(f"{url_name}:{kw}") or KWARG_RESOLVERS.get(kw)
        if resolver is None:
            raise MissingResolver(
                f"URL keyword {kw!r} of route {url_name!r} has no resolver: add "
                f'"{kw}" (or "{url_name}:{kw}") to KWARG_RESOLVERS in tests/security/world.py, '
                "returning the id of a real object of the world's workspace."
            )
        values[kw] = resolver(world)
    return values
