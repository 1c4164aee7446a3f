"""Authors' and engineers' pages for sampling rules: list, edit, preview, run now, runs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import access, audit
from annotate.models import Membership
from evals.judges.runs import RunRefused, start_run
from evals.judges.urlcheck import UnsafeURL
from evals.models import JudgeEndpoint, SamplingRule
from evals.sampling import rules as sampling
from evals.sampling.forms import SamplingRuleForm

PRESCREEN_LIMIT = 5000

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
                audit.record(
                    membership.workspace,
                    request.user,
                    "sampling_rule.update" if rule else "sampling_rule.create",
                    saved,
                    saved.name,
                )
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
        "judge_endpoints": JudgeEndpoint.objects.filter(workspace=membership.workspace).order_by(
            "name"
        ),
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
    audit.record(membership.workspace, request.user, "sampling_rule.run", rule, rule.name)
    if request.htmx:
        return render(request, TEMPLATE + "#runs", _rule_context(membership, rule))
    return redirect("sampling-rule", slug=slug, rule_id=rule.pk)


@require_POST
@login_required
def prescreen(request: HttpRequest, slug: str, rule_id: int) -> HttpResponse:
    """Judge the rule's candidate logs (matching, not yet in its queue) with an LLM judge.

    The judge's scores then feed the "judge low first" strategy. At most PRESCREEN_LIMIT
    logs per run, in the rule's seeded order, so a pre-screen is as reproducible as a run.
    """
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    rule = _get_rule(membership, rule_id)
    endpoint = JudgeEndpoint.objects.filter(
        pk=request.POST.get("endpoint") or 0, workspace=membership.workspace
    ).first()
    if endpoint is None:
        context = _rule_context(
            membership, rule, prescreen_error="Choose a judge endpoint of this workspace."
        )
        return render(request, TEMPLATE, context, status=422)
    logs = (
        sampling.filtered_logs(rule)
        .filter(~sampling.in_queue(rule.queue_id))
        .annotate(sample_hash=sampling.SampleHash(rule.seed))
        .order_by("sample_hash", "id")[:PRESCREEN_LIMIT]
    )
    try:
        run = start_run(
            endpoint, logs=list(logs), rubric_version=rule.queue.rubric_version, user=request.user
        )
    except (RunRefused, UnsafeURL) as exc:
        context = _rule_context(membership, rule, prescreen_error=str(exc))
        return render(request, TEMPLATE, context, status=422)
    audit.record(
        membership.workspace, request.user, "judge_run.prescreen", rule, rule.name, run=run.pk
    )
    return redirect("judge-run", slug=slug, run_id=run.pk)
