"""Forms of the evals pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from annotate.models import Queue
from evals.judges.urlcheck import UnsafeURL, check_outbound_url
from evals.models import AlertRule


class AlertRuleForm(forms.ModelForm):
    webhook_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Webhook URL"
    )

    class Meta:
        model = AlertRule
        fields = [
            "kind",
            "threshold",
            "window",
            "min_judgments",
            "model_version",
            "criterion_key",
            "starved_days",
            "emails",
            "webhook_url",
        ]

    def __init__(self, *args, queue: Queue, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queue = queue
        keys = queue.rubric_version.criteria.filter(kind="pass_fail").values_list("key", "name")
        self.fields["criterion_key"] = forms.ChoiceField(
            choices=[("", "—"), *keys],
            required=False,
            label="Pass/fail criterion",
            help_text="For pass rate alerts.",
        )
        self.fields["threshold"].widget.attrs.update(min=0, max=1, step=0.01)

    def clean_threshold(self) -> float:
        value = self.cleaned_data["threshold"]
        if not 0 <= value <= 1:
            raise ValidationError("Give a value between 0 and 1 (e.g. 0.7 for 70%).")
        return value

    def clean_emails(self) -> str:
        addresses = [a.strip() for a in self.cleaned_data["emails"].split(",") if a.strip()]
        for address in addresses:
            validate_email(address)
        return ", ".join(addresses)

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"]
        if not url:
            return url
        try:
            return check_outbound_url(url, allow_private=settings.QUORUM_WEBHOOK_ALLOW_PRIVATE)
        except UnsafeURL as exc:
            raise ValidationError(str(exc)) from exc

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == AlertRule.Kind.PASS_RATE_BELOW and not data.get("criterion_key"):
            self.add_error("criterion_key", "Choose the pass/fail criterion to watch.")
        return data
