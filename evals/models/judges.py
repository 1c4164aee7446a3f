"""LLM judge endpoints, judge runs and the judge's answers."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Workspace
from evals.models.ingest import Log
from evals.models.jobs import Job

DEFAULT_SYSTEM_TEMPLATE = """You are a careful expert reviewer grading the output of an AI \
assistant against a rubric, exactly as a trained human reviewer would.

{instructions}

Grade on these criteria:

{criteria}

Answer only with a JSON object that has one key per criterion, using exactly the values \
allowed above. Do not add commentary outside the JSON."""


DEFAULT_USER_TEMPLATE = """## Input

{input}

## Output to grade

{output}"""


DEFAULT_PAIRWISE_USER_TEMPLATE = """## Input

{input}

## Response A

{output_a}

## Response B

{output_b}"""


class JudgeEndpoint(models.Model):
    """An OpenAI-compatible chat completions endpoint used as an LLM judge.

    The API key is stored encrypted (``evals.judges.secretbox``) and never shown again.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="judge_endpoints"
    )
    name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=500, help_text="For example https://api.openai.com/v1")
    model = models.CharField(max_length=200)
    api_key_encrypted = models.TextField(blank=True, editable=False)
    temperature = models.FloatField(default=0.0)
    max_tokens = models.PositiveIntegerField(default=1024)
    timeout_seconds = models.FloatField(default=60.0)
    concurrency = models.PositiveIntegerField(default=4)
    requests_per_minute = models.PositiveIntegerField(default=60)
    price_input_per_mtok = models.DecimalField(
        max_digits=12, decimal_places=6, default=0, help_text="Price per million input tokens."
    )
    price_output_per_mtok = models.DecimalField(
        max_digits=12, decimal_places=6, default=0, help_text="Price per million output tokens."
    )
    invalid_answer_retries = models.PositiveIntegerField(
        default=2, help_text="How many times an invalid answer is asked again before it fails."
    )
    allow_private_network = models.BooleanField(default=False)
    system_template = models.TextField(default=DEFAULT_SYSTEM_TEMPLATE)
    user_template = models.TextField(default=DEFAULT_USER_TEMPLATE)
    pairwise_user_template = models.TextField(default=DEFAULT_PAIRWISE_USER_TEMPLATE)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="judge_endpoint_name"),
            models.CheckConstraint(condition=Q(concurrency__gte=1), name="judge_concurrency_min"),
            models.CheckConstraint(condition=Q(requests_per_minute__gte=1), name="judge_rpm_min"),
            models.CheckConstraint(condition=Q(timeout_seconds__gt=0), name="judge_timeout_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"

    def __repr__(self) -> str:
        return f"<JudgeEndpoint {self.pk} {self.name!r}>"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)


class JudgeRun(models.Model):
    """One judge run over a queue's items or a list of logs; its Job row tracks progress."""

    class StopReason(models.TextChoices):
        NONE = "", "Not stopped"
        BUDGET = "budget", "Budget reached"
        CANCELLED = "cancelled", "Cancelled"
        FATAL = "fatal", "Endpoint error"
        FAILURES = "failures", "Too many failures"

    class Inconsistency(models.TextChoices):
        TIE = "tie", "Record a tie"
        FAIL = "fail", "Record no answer"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="judge_runs")
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="judge_run")
    endpoint = models.ForeignKey(JudgeEndpoint, on_delete=models.PROTECT, related_name="runs")
    queue = models.ForeignKey(
        "annotate.Queue", null=True, blank=True, on_delete=models.CASCADE, related_name="judge_runs"
    )
    rubric_version = models.ForeignKey(
        "annotate.RubricVersion", on_delete=models.PROTECT, related_name="judge_runs"
    )
    log_ids = models.JSONField(default=list, blank=True, help_text="Logs to pre-screen.")
    pairwise = models.BooleanField(default=False)
    inconsistency = models.CharField(
        max_length=10, choices=Inconsistency.choices, default=Inconsistency.TIE
    )
    config_hash = models.CharField(max_length=64)
    budget = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    stop_after_failures = models.PositiveIntegerField(
        default=0, help_text="Stop after this many failures in a row (0: never)."
    )
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    requests = models.PositiveIntegerField(default=0)
    ok_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    inconsistent_count = models.PositiveIntegerField(default=0)
    cached_count = models.PositiveIntegerField(default=0)
    # Calls sent and not yet recorded; when a worker dies, the ones it had out are
    # counted as lost when the run resumes (their tokens and cost never arrive).
    calls_in_flight = models.PositiveIntegerField(default=0)
    lost_calls = models.PositiveIntegerField(default=0)
    stop_reason = models.CharField(
        max_length=20, choices=StopReason.choices, default=StopReason.NONE, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(queue__isnull=False) | ~Q(log_ids=[]), name="judge_run_has_subject"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="judge_run_ws_time")]

    def __str__(self) -> str:
        return f"judge run {self.pk}"

    @property
    def average_call_cost(self) -> Decimal:
        """What one recorded call of this run cost on average (0 before the first)."""
        recorded = self.ok_count + self.failed_count + self.inconsistent_count
        return self.cost / recorded if recorded else Decimal(0)

    @property
    def lost_cost_estimate(self) -> Decimal:
        """The lost calls at the run's average cost: not in ``cost``, which counts
        only what was recorded."""
        return self.lost_calls * self.average_call_cost


class JudgeResult(models.Model):
    """The judge's answer on one item (or log) under one judge configuration.

    Unique per (configuration hash, item): a re-run with the same configuration finds
    it and makes no request. Failed results carry the reason and the raw text, never
    a default score.
    """

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        INCONSISTENT = "inconsistent", "Inconsistent"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="judge_results")
    endpoint = models.ForeignKey(JudgeEndpoint, on_delete=models.CASCADE, related_name="results")
    run = models.ForeignKey(
        JudgeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="results"
    )
    rubric_version = models.ForeignKey(
        "annotate.RubricVersion", on_delete=models.CASCADE, related_name="judge_results"
    )
    config_hash = models.CharField(max_length=64)
    item = models.ForeignKey(
        "annotate.Item",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="judge_results",
    )
    log = models.ForeignKey(
        Log, null=True, blank=True, on_delete=models.CASCADE, related_name="judge_results"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    answers = models.JSONField(default=dict, blank=True)
    raw_text = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["config_hash", "item"],
                condition=Q(item__isnull=False),
                name="judge_result_once_per_item",
            ),
            models.UniqueConstraint(
                fields=["config_hash", "log"],
                condition=Q(log__isnull=False),
                name="judge_result_once_per_log",
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=False) | Q(log__isnull=False),
                name="judge_result_has_subject",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["ok", "failed", "inconsistent"]),
                name="judge_result_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "status"], name="judge_result_ws_status"),
            models.Index(fields=["run", "status"], name="judge_result_run_status"),
        ]

    def __str__(self) -> str:
        return f"judge result {self.pk} ({self.status})"
