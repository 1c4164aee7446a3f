"""Forms for judge endpoints, their prompt templates, and judge runs.

The API key field is write-only: it is never rendered back (not even masked), a blank
field keeps the stored key, and the key is encrypted before it reaches the model.
"""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from annotate.models import Queue
from evals.judges import secretbox
from evals.judges.judge import (
    PAIRWISE_FIELDS,
    SYSTEM_FIELDS,
    USER_FIELDS,
    TemplateError,
    check_template,
)
from evals.judges.urlcheck import UnsafeURL, check_outbound_url
from evals.models import JudgeEndpoint, JudgeRun


class JudgeEndpointForm(forms.ModelForm):
    base_url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Base URL",
        help_text="For example https://api.openai.com/v1 or http://vllm.internal:8000/v1",
    )
    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted and never shown again. Leave blank to keep it.",
    )
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored key")

    class Meta:
        model = JudgeEndpoint
        fields = [
            "name",
            "base_url",
            "model",
            "temperature",
            "max_tokens",
            "timeout_seconds",
            "concurrency",
            "requests_per_minute",
            "price_input_per_mtok",
            "price_output_per_mtok",
            "invalid_answer_retries",
            "allow_private_network",
        ]
        labels = {
            "base_url": "Base URL",
            "timeout_seconds": "Request timeout (seconds)",
            "price_input_per_mtok": "Price per million input tokens",
            "price_output_per_mtok": "Price per million output tokens",
            "allow_private_network": "Allow private network addresses",
        }

    # Sensible ranges of the numbers (the database would take far more, and fail on the rest).
    BOUNDS = {
        "temperature": (0, 2),
        "max_tokens": (1, 1_000_000),
        "timeout_seconds": (0, 3600),
        "concurrency": (1, 256),
        "requests_per_minute": (1, 1_000_000),
        "invalid_answer_retries": (0, 10),
    }

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace or self.instance.workspace
        for name, (low, high) in self.BOUNDS.items():
            field = self.fields[name]
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.widget.attrs.update(min=low, max=high)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = JudgeEndpoint.objects.filter(workspace=self.workspace, name=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another endpoint has this name.")
        return name

    def clean(self) -> dict:
        data = super().clean()
        url = data.get("base_url")
        if url:
            try:
                data["base_url"] = check_outbound_url(
                    url, allow_private=bool(data.get("allow_private_network"))
                )
            except UnsafeURL as exc:
                self.add_error("base_url", str(exc))
        return data

    def save(self, commit: bool = True) -> JudgeEndpoint:
        endpoint = super().save(commit=False)
        endpoint.workspace = self.workspace
        endpoint.updated_at = timezone.now()
        if self.cleaned_data.get("clear_api_key"):
            endpoint.api_key_encrypted = ""
        if self.cleaned_data.get("api_key"):
            endpoint.api_key_encrypted = secretbox.encrypt(self.cleaned_data["api_key"])
        if commit:
            endpoint.save()
        return endpoint


class PromptForm(forms.ModelForm):
    class Meta:
        model = JudgeEndpoint
        fields = ["system_template", "user_template", "pairwise_user_template"]
        widgets = {name: forms.Textarea(attrs={"rows": 10}) for name in fields}
        help_texts = {
            "system_template": "Fields: {instructions}, {criteria} (both from the rubric).",
            "user_template": "Fields: {input}, {output}, {model}.",
            "pairwise_user_template": "Fields: {input}, {output_a}, {output_b}.",
        }

    def _check(self, name: str, allowed: set[str]) -> str:
        try:
            return check_template(self.cleaned_data[name], allowed)
        except TemplateError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_system_template(self) -> str:
        return self._check("system_template", SYSTEM_FIELDS)

    def clean_user_template(self) -> str:
        return self._check("user_template", USER_FIELDS)

    def clean_pairwise_user_template(self) -> str:
        return self._check("pairwise_user_template", PAIRWISE_FIELDS)


class RunForm(forms.Form):
    endpoint = forms.ModelChoiceField(queryset=JudgeEndpoint.objects.none())
    queue = forms.ModelChoiceField(queryset=Queue.objects.none())
    budget = forms.DecimalField(
        required=False,
        min_value=0,
        max_value=1_000_000,
        decimal_places=6,
        help_text="Stop cleanly at this cost.",
    )
    stop_after_failures = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=1_000_000,
        initial=10,
        help_text="Stop after this many failures in a row.",
    )
    inconsistency = forms.ChoiceField(
        choices=JudgeRun.Inconsistency.choices,
        initial=JudgeRun.Inconsistency.TIE,
        label="Pairwise choice that flips with the order",
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].queryset = JudgeEndpoint.objects.filter(workspace=workspace)
        self.fields["queue"].queryset = Queue.objects.filter(workspace=workspace).select_related(
            "rubric_version__rubric"
        )
