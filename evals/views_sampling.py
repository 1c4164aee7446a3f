"""Authors' and engineers' pages for sampling rules: list, edit, preview, run now, runs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import access
from annotate.models import Membership

from . import sampling
from .forms_sampling import SamplingRuleForm
from .models import SamplingRule

TEMPLATE = "evals/sampling_rule.html"


def _get_rule(membership: Membership, rule_id: int) -> SamplingRule:
    rule = (
        SamplingRule.objects.select_related("queue", "source", "workspace")
        .filter(pk=rule_id, workspace=membership.workspace)
        .first()
    )
    if rule is None:
        raise Http404
    return rule


@require_GET
@login_required
def rules(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rows = (
        SamplingRule.objects.filter(workspace=membership.workspace)
        .select_related("queue")
        .order_by("name")
    )
    return render(
        request,
        "evals/sampling_rules.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "rules": rows,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def edit_rule(request: HttpRequest, slug: str, rule_id: int | None = None) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rule = _get_rule(membership, rule_id) if rule_id else None
    initial = SamplingRuleForm.initial_for(rule) if rule else {"active": True, "strategy": "rate"}
    form = SamplingRuleForm(request.POST or None, workspace=membership.workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                saved = form.save(rule, user=request.user)
        except IntegrityError:
            form.add_error("name", "Another rule has this name.")
        else:
            return redirect("sampling-rule", slug=slug, rule_id=saved.pk)
    return render(
        request,
        "evals/sampling_form.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "form": form,
            "rule": rule,
        },
        status=422 if form.errors else 200,
    )


def _rule_context(membership: Membership, rule: SamplingRule, **extra) -> dict:
    return {
        "workspace": membership.workspace,
        "membership": membership,
        "rule": rule,
        "runs": rule.runs.select_related("job").order_by("-created_at")[:50],
        **extra,
    }


@require_GET
@login_required
def rule_page(request: HttpRequest, slug: str, rule_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rule = _get_rule(membership, rule_id)
    template = TEMPLATE + "#runs" if request.htmx else TEMPLATE
    return render(request, template, _rule_context(membership, rule))


@require_GET
@login_required
def rule_preview(request: HttpRequest, slug: str, rule_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rule = _get_rule(membership, rule_id)
    context = _rule_context(membership, rule, preview=sampling.preview(rule))
    return render(request, TEMPLATE + "#preview" if request.htmx else TEMPLATE, context)


@require_POST
@login_required
def run_rule(request: HttpRequest, slug: str, rule_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rule = _get_rule(membership, rule_id)
    sampling.start_run(rule, trigger="manual", user=request.user)
    if request.htmx:
        return render(request, TEMPLATE + "#runs", _rule_context(membership, rule))
    return redirect("sampling-rule", slug=slug, rule_id=rule.pk)
