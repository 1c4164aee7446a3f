"""The sampling rule form: filters, strategy and schedule, validated by evals.sampling.rules."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms

from annotate.models import Queue, Workspace
from evals.models import SamplingRule, Source
from evals.sampling import rules as sampling

MAX_CHARS = 100_000_000  # a length filter beyond this matches nothing a log can hold


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class SamplingRuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    queue = forms.ModelChoiceField(queryset=Queue.objects.none())
    source = forms.ModelChoiceField(
        queryset=Source.objects.none(), required=False, empty_label="Every source"
    )
    model_names = forms.CharField(required=False, help_text="Comma-separated; empty for any.")
    model_versions = forms.CharField(required=False, help_text="Comma-separated; empty for any.")
    since = forms.DateTimeField(required=False, help_text="Logs from (YYYY-MM-DD HH:MM).")
    until = forms.DateTimeField(required=False, help_text="Logs before.")
    last_hours = forms.IntegerField(
        required=False, min_value=1, max_value=24 * 366 * 10, help_text="Only the last N hours."
    )
    metadata = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="key=value, one a line."
    )
    feedback_negative = forms.BooleanField(required=False, label="Only negative user feedback")
    text_contains = forms.CharField(required=False, max_length=200)
    min_length = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_CHARS, help_text="Output characters."
    )
    max_length = forms.IntegerField(required=False, min_value=0, max_value=MAX_CHARS)
    strategy = forms.ChoiceField(choices=SamplingRule.Strategy.choices)
    judge_criterion = forms.CharField(
        required=False, max_length=60, help_text="Judge priority: the criterion key, e.g. accuracy."
    )
    judge_below = forms.FloatField(
        required=False,
        min_value=-1e6,
        max_value=1e6,
        help_text="Judge priority: logs the judge scored below this come first.",
    )
    rate_percent = forms.FloatField(
        required=False, min_value=0.001, max_value=100, label="Rate (%)"
    )
    count = forms.IntegerField(
        required=False, min_value=1, max_value=100_000, help_text="Per run, or per stratum."
    )
    strata = forms.CharField(
        required=False, help_text="Comma-separated: model_version, metadata.topic, ..."
    )
    pair_version_a = forms.CharField(
        required=False,
        max_length=200,
        label="Pair: version A",
        help_text="Pairwise queues: the model version (or prompt variant) shown as one side.",
    )
    pair_version_b = forms.CharField(
        required=False,
        max_length=200,
        label="Pair: version B",
        help_text="The version it is compared with, on the same normalized input.",
    )
    seed = forms.IntegerField(
        required=False, min_value=-(2**63), max_value=2**63 - 1, help_text="Same seed, same picks."
    )
    schedule = forms.ChoiceField(choices=SamplingRule.Schedule.choices)
    every_minutes = forms.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60)
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["queue"].queryset = Queue.objects.filter(workspace=workspace).order_by("name")
        self.fields["source"].queryset = Source.objects.filter(workspace=workspace).order_by("name")

    @classmethod
    def initial_for(cls, rule: SamplingRule) -> dict[str, Any]:
        f = rule.filters or {}
        return {
            "name": rule.name,
            "queue": rule.queue_id,
            "source": rule.source_id,
            "model_names": ", ".join(f.get("model_names", [])),
            "model_versions": ", ".join(f.get("model_versions", [])),
            "since": f.get("since"),
            "until": f.get("until"),
            "last_hours": f.get("last_hours"),
            "metadata": "\n".join(f"{k}={v}" for k, v in (f.get("metadata") or {}).items()),
            "feedback_negative": f.get("feedback_negative", False),
            "text_contains": f.get("text_contains", ""),
            "min_length": f.get("min_length"),
            "max_length": f.get("max_length"),
            "strategy": rule.strategy,
            "judge_criterion": f.get("judge_criterion", ""),
            "judge_below": f.get("judge_below"),
            "rate_percent": rule.rate * 100 if rule.rate else None,
            "count": rule.count,
            "strata": ", ".join(rule.strata or []),
            "pair_version_a": rule.pair_version_a,
            "pair_version_b": rule.pair_version_b,
            "seed": rule.seed,
            "schedule": rule.schedule,
            "every_minutes": rule.every_minutes,
            "active": rule.active,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        metadata = {}
        for line in (data.get("metadata") or "").splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep:
                self.add_error("metadata", f"{line!r} is not key=value.")
                continue
            metadata[key.strip()] = value.strip()
        raw = {
            "model_names": _split(data.get("model_names", "")),
            "model_versions": _split(data.get("model_versions", "")),
            "since": data.get("since").isoformat() if data.get("since") else None,
            "until": data.get("until").isoformat() if data.get("until") else None,
            "last_hours": data.get("last_hours"),
            "metadata": metadata,
            "feedback_negative": data.get("feedback_negative"),
            "text_contains": data.get("text_contains"),
            "min_length": data.get("min_length"),
            "max_length": data.get("max_length"),
            "judge_criterion": data.get("judge_criterion"),
            "judge_below": data.get("judge_below"),
        }
        try:
            data["filters"] = sampling.validate_filters(raw)
        except sampling.RuleError as exc:
            self.add_error(None, str(exc))
        try:
            data["strata_list"] = sampling.validate_strata(_split(data.get("strata", "")))
        except sampling.RuleError as exc:
            self.add_error("strata", str(exc))
        strategy = data.get("strategy")
        if strategy == SamplingRule.Strategy.RATE and not data.get("rate_percent"):
            self.add_error("rate_percent", "A rate needs a percentage.")
        if strategy != SamplingRule.Strategy.RATE and not data.get("count"):
            self.add_error("count", "This strategy needs a number.")
        if strategy == SamplingRule.Strategy.JUDGE_LOW_FIRST and not data.get("judge_criterion"):
            self.add_error("judge_criterion", "Which criterion of the judge's scores?")
        if strategy == SamplingRule.Strategy.QUOTA and not data.get("strata_list"):
            self.add_error("strata", "Quotas need at least one stratum key.")
        self._clean_pairing(data)
        if data.get("schedule") == SamplingRule.Schedule.EVERY_N_MINUTES and not data.get(
            "every_minutes"
        ):
            self.add_error("every_minutes", "How many minutes between runs?")
        return data

    def _clean_pairing(self, data: dict[str, Any]) -> None:
        """A pairwise queue is filled by pairing two versions; a rubric queue never is."""
        first = (data.get("pair_version_a") or "").strip()
        second = (data.get("pair_version_b") or "").strip()
        data["pair_version_a"], data["pair_version_b"] = first, second
        queue = data.get("queue")
        if queue is None:
            return
        if queue.kind != Queue.Kind.PAIRWISE:
            if first or second:
                self.add_error("pair_version_a", "Only a pairwise queue takes pairs of versions.")
            return
        if not first:
            self.add_error("pair_version_a", "A pairwise queue needs the version shown as A.")
        if not second:
            self.add_error("pair_version_b", "A pairwise queue needs the version to compare with.")
        if first and first == second:
            self.add_error("pair_version_b", "Choose two different versions.")

    def save(self, rule: SamplingRule | None = None, user=None) -> SamplingRule:
        data = self.cleaned_data
        rule = rule or SamplingRule(workspace=self.workspace, created_by=user)
        rule.name = data["name"]
        rule.queue = data["queue"]
        rule.source = data.get("source")
        rule.filters = data["filters"]
        rule.strategy = data["strategy"]
        is_rate = rule.strategy == SamplingRule.Strategy.RATE
        rule.rate = data["rate_percent"] / 100 if is_rate else None
        rule.count = None if is_rate else data["count"]
        rule.strata = data["strata_list"]
        rule.pair_version_a = data["pair_version_a"]
        rule.pair_version_b = data["pair_version_b"]
        rule.seed = data["seed"] if data.get("seed") is not None else secrets.randbits(31)
        rule.schedule = data["schedule"]
        rule.every_minutes = data.get("every_minutes")
        rule.active = data.get("active", False)
        sampling.schedule_next(rule)
        rule.save()
        return rule
