"""Pages for LLM judges: endpoints (admins), prompt preview, runs, results, judge vs humans.

Admins configure endpoints and prompts; admins, authors and engineers start runs and
read results; reviewers get 403 and non-members 404, like every setup page.
"""

from __future__ import annotations

import csv
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate import access, audit
from annotate.models import Item, Membership, Queue
from evals.judges import compare as judge_compare
from evals.judges import compare_data as judge_compare_data
from evals.judges.forms import JudgeEndpointForm, PromptForm, RunForm
from evals.judges.judge import Subject, build_messages
from evals.judges.pairwise import build_pair_messages
from evals.judges.runs import RunRefused, cancel_run, endpoint_config, item_subject, start_run
from evals.judges.urlcheck import UnsafeURL
from evals.models import JudgeEndpoint, JudgeResult, JudgeRun

RESULTS_PER_PAGE = 50
SAMPLE_SUBJECT = Subject(
    input="(No item yet: add items to a queue to preview with real data.)",
    output="(The model's output appears here.)",
    output_b="(The second output of a pair appears here.)",
)


def _get_endpoint(membership: Membership, endpoint_id: int) -> JudgeEndpoint:
    endpoint = JudgeEndpoint.objects.filter(pk=endpoint_id, workspace=membership.workspace).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _get_run(membership: Membership, run_id: int) -> JudgeRun:
    run = (
        JudgeRun.objects.select_related("job", "endpoint", "queue", "rubric_version__rubric")
        .filter(pk=run_id, workspace=membership.workspace)
        .first()
    )
    if run is None:
        raise Http404
    return run


@require_GET
@login_required
def judges(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    workspace = membership.workspace
    runs = (
        JudgeRun.objects.filter(workspace=workspace)
        .select_related("job", "endpoint", "queue")
        .order_by("-created_at")[:50]
    )
    return render(
        request,
        "evals/judges.html",
        {
            "membership": membership,
            "workspace": workspace,
            "endpoints": JudgeEndpoint.objects.filter(workspace=workspace).order_by("name"),
            "runs": runs,
            "form": RunForm(workspace=workspace),
            "is_admin": membership.role == "admin",
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def endpoint_edit(request: HttpRequest, slug: str, endpoint_id: int | None = None) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.ADMINS)
    endpoint = _get_endpoint(membership, endpoint_id) if endpoint_id else None
    form = JudgeEndpointForm(
        request.POST or None, instance=endpoint, workspace=membership.workspace
    )
    if request.method == "POST" and form.is_valid():
        changed = sorted(form.changed_data)  # field names only: never the key itself
        saved = form.save()
        action = "judge_endpoint.update" if endpoint else "judge_endpoint.create"
        audit.record(membership.workspace, request.user, action, saved, saved.name, fields=changed)
        messages.success(request, f"Saved judge endpoint {saved.name}.")
        return redirect("judges", slug=slug)
    return render(
        request,
        "evals/judge_endpoint.html",
        {"workspace": membership.workspace, "form": form, "endpoint": endpoint},
        status=422 if request.method == "POST" else 200,
    )


def _preview_subject(membership: Membership, queue: Queue | None) -> tuple[Subject, Item | None]:
    item = queue.items.order_by("id").first() if queue else None
    return (item_subject(item) if item else SAMPLE_SUBJECT), item


@require_http_methods(["GET", "POST"])
@login_required
def endpoint_prompt(request: HttpRequest, slug: str, endpoint_id: int) -> HttpResponse:
    """Edit the prompt templates, with the exact messages sent for a sample item."""
    membership = access.get_membership(request.user, slug, access.ADMINS)
    endpoint = _get_endpoint(membership, endpoint_id)
    queues = Queue.objects.filter(workspace=membership.workspace).order_by("name")
    queue_id = request.POST.get("queue") or request.GET.get("queue")
    queue = queues.filter(pk=queue_id).first() if queue_id and queue_id.isdigit() else None
    queue = queue or queues.first()
    form = PromptForm(request.POST or None, instance=endpoint)
    preview, error = None, ""
    if request.method == "POST" and request.POST.get("action") == "save" and form.is_valid():
        changed = sorted(form.changed_data)
        form.save()
        audit.record(
            membership.workspace, request.user, "judge_endpoint.prompt", endpoint, endpoint.name,
            fields=changed,
        )  # fmt: skip
        messages.success(request, "Saved the prompt templates.")
        return redirect("judge-endpoint-prompt", slug=slug, endpoint_id=endpoint.pk)
    if request.method == "GET" or form.is_valid():
        draft = form.instance if request.method == "POST" else endpoint
        if queue is not None:
            subject, _ = _preview_subject(membership, queue)
            criteria = list(queue.rubric_version.criteria.all())
            build = build_pair_messages if queue.kind == Queue.Kind.PAIRWISE else build_messages
            preview = build(
                endpoint_config(draft), queue.rubric_version.instructions, criteria, subject
            )
        else:
            error = "Create a queue to preview the prompt for one of its items."
    context = {
        "workspace": membership.workspace,
        "endpoint": endpoint,
        "form": form,
        "queues": queues,
        "queue": queue,
        "preview": preview,
        "preview_json": json.dumps(preview, indent=2, ensure_ascii=False) if preview else "",
        "error": error,
    }
    if request.htmx:
        return render(request, "evals/judge_prompt.html#preview", context)
    return render(request, "evals/judge_prompt.html", context)


@require_POST
@login_required
def run_start(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    form = RunForm(request.POST, workspace=membership.workspace)
    if not form.is_valid():
        messages.error(request, "Choose an endpoint and a queue.")
        return redirect("judges", slug=slug)
    data = form.cleaned_data
    try:
        run = start_run(
            data["endpoint"],
            queue=data["queue"],
            user=request.user,
            budget=data.get("budget"),
            inconsistency=data["inconsistency"],
            stop_after_failures=data.get("stop_after_failures") or 0,
        )
    except (RunRefused, UnsafeURL) as exc:
        messages.error(request, str(exc))
        return redirect("judges", slug=slug)
    audit.record(membership.workspace, request.user, "judge_run.start", run, str(run))
    return redirect("judge-run", slug=slug, run_id=run.pk)


@require_POST
@login_required
def run_cancel(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    run = _get_run(membership, run_id)
    if cancel_run(run):
        audit.record(membership.workspace, request.user, "judge_run.cancel", run, str(run))
        messages.success(request, "Cancelled: the calls already in flight are still recorded.")
    return redirect("judge-run", slug=slug, run_id=run.pk)


def _run_context(membership: Membership, run: JudgeRun, request: HttpRequest) -> dict:
    status = request.GET.get("status", "")
    results = (
        JudgeResult.objects.filter(config_hash=run.config_hash, workspace=membership.workspace)
        .select_related("item", "log")
        .order_by("item_id", "log_id")
    )
    if run.queue_id:
        results = results.filter(item__queue_id=run.queue_id)
    else:
        results = results.filter(log_id__in=run.log_ids)
    if status in JudgeResult.Status.values:
        results = results.filter(status=status)
    page = Paginator(results, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "workspace": membership.workspace,
        "run": run,
        "job": run.job,
        "page": page,
        "status": status,
        "statuses": JudgeResult.Status.choices,
    }


@require_GET
@login_required
def run_detail(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    run = _get_run(membership, run_id)
    context = _run_context(membership, run, request)
    if request.htmx and request.GET.get("part") == "progress":
        return render(request, "evals/judge_run.html#progress", context)
    if request.htmx:
        return render(request, "evals/judge_run.html#results", context)
    return render(request, "evals/judge_run.html", context)


@require_GET
@login_required
def run_results_csv(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    run = _get_run(membership, run_id)
    results = JudgeResult.objects.filter(
        config_hash=run.config_hash, workspace=membership.workspace
    ).order_by("item_id", "log_id")
    if run.queue_id:
        results = results.filter(item__queue_id=run.queue_id)
    else:
        results = results.filter(log_id__in=run.log_ids)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="judge-run-{run.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["item", "log", "status", "answers", "reason", "raw_text", "tokens_in", "tokens_out"]
        + ["cost", "attempts"]
    )
    for r in results:
        writer.writerow(
            [r.item_id or "", r.log_id or "", r.status, json.dumps(r.answers), r.reason]
            + [r.raw_text, r.tokens_in, r.tokens_out, r.cost, r.attempts]
        )
    return response


def _comparison_rows(results: list[judge_compare.CriterionComparison]) -> list[dict]:
    rows = []
    for n, result in enumerate(results):
        labels = [judge_compare_data.label(result.spec, v) for v in result.spec.categories]
        rows.append(
            {
                "result": result,
                "labels": labels,
                "confusion": list(zip(labels, result.confusion, strict=True)),
                "cohorts": [("All humans (consensus)", result.consensus), *result.cohorts.items()],
                "drift_id": f"drift-{n}",
                "drift_chart": judge_compare_data.drift_chart(result),
                "cohort_id": f"cohorts-{n}",
                "cohort_chart": judge_compare_data.cohort_chart(result),
            }
        )
    return rows


@require_GET
@login_required
def compare(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    """The run's endpoint on the run's rubric version, as a rater against the humans."""
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    run = _get_run(membership, run_id)
    human, judge = judge_compare_data.frames(run.endpoint, run.rubric_version)
    specs = judge_compare_data.specs(run.rubric_version, pairwise=run.pairwise)
    results = judge_compare.compare(human, judge, specs, bootstrap=settings.QUORUM_JUDGE_BOOTSTRAP)
    if request.GET.get("format") == "csv":
        return _compare_csv(run, results)
    return render(
        request,
        "evals/judge_compare.html",
        {"workspace": membership.workspace, "run": run, "rows": _comparison_rows(results)},
    )


def _compare_csv(run: JudgeRun, results: list[judge_compare.CriterionComparison]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="judge-vs-humans-{run.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["criterion", "against", "n_items", "kappa", "kappa_low", "kappa_high", "alpha"]
        + ["alpha_low", "alpha_high", "exact"]
    )
    for result in results:
        for name, a in [("consensus", result.consensus), *result.cohorts.items()]:
            writer.writerow(
                [result.spec.key, name, a.n_items, a.kappa, *a.kappa_ci, a.alpha, *a.alpha_ci]
                + [a.exact]
            )
    writer.writerow([])
    writer.writerow(["criterion", "period", "n_items", "kappa", "alpha", "exact"])
    for result in results:
        for row in result.drift:
            writer.writerow(
                [result.spec.key, row["period"], row["n_items"], row["kappa"], row["alpha"]]
                + [row["exact"]]
            )
    return response
