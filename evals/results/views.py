"""Results pages: the workspace overview, a queue's results, the items behind a bar, alerts.

Admins, authors and engineers see results; reviewers get 403 (they must never see other
reviewers' answers) and non-members 404. The numbers come from ``evals.results.rubric``,
the charts and tables from ``evals.results.panels``; these views only wire them together.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from annotate import access, audit
from annotate.models import Membership, Queue
from evals.models import AlertRule
from evals.results import alerts, panels
from evals.results import rubric as results
from evals.results.forms import AlertRuleForm

RESULTS_TEMPLATE = "evals/results.html"


@require_GET
@login_required
def overview(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    workspace = membership.workspace
    queues = results.queue_overview(workspace.pk)
    events = alerts.open_events(workspace.pk)
    agreement = results.latest_agreement(queues)
    adjudications = results.open_adjudications(queues)
    alert_counts: dict[int, int] = {}
    for event in events:
        alert_counts[event.queue_id] = alert_counts.get(event.queue_id, 0) + 1
    rows = [
        {
            "queue": q,
            "agreement": agreement.get(q.pk),
            "adjudications": adjudications.get(q.pk),
            "alerts": alert_counts.get(q.pk, 0),
        }
        for q in queues
    ]
    return render(
        request,
        "evals/overview.html",
        {
            "membership": membership,
            "workspace": workspace,
            "rows": rows,
            "events": events,
            "agreement_ready": bool(agreement),
            "adjudications_ready": bool(adjudications),
        },
    )


def _results_context(request: HttpRequest, membership: Membership, queue: Queue) -> dict:
    filters = results.Filters.from_params(request.GET)
    criteria = results.criteria_of(queue)
    frame, trend_frame = results.load_frames(queue, filters, criteria)
    activity = results.reviewer_activity(queue, filters)
    items_url = reverse("result-items", args=[membership.workspace.slug, queue.pk])
    base = filters.as_params()

    def link(extra: dict) -> str:
        return items_url + "?" + urlencode({**base, **{k: str(v) for k, v in extra.items()}})

    sections = panels.build_sections(
        frame,
        trend_frame,
        criteria,
        activity,
        results.cohort_activity(queue, activity),
        filters.period,
        link,
    )
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "queue": queue,
        "filters": filters,
        "filter_query": urlencode(base),
        "choices": results.filter_choices(queue),
        "sections": sections,
        "total": int(frame["n"].sum()) if not frame.empty else 0,
        "items_url": items_url,
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def queue_results(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = access.get_queue(membership, queue_id)
    if queue.kind != Queue.Kind.RUBRIC:
        context = {"membership": membership, "workspace": membership.workspace, "queue": queue}
        return render(request, RESULTS_TEMPLATE, {**context, "not_rubric": True})
    context = _results_context(request, membership, queue)
    panel_id = request.GET.get("csv")
    if panel_id:
        panel = panels.find_panel(context["sections"], panel_id)
        if panel is None:
            raise Http404
        response = HttpResponse(panels.to_csv(panel), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="queue-{queue.pk}-{panel.id}.csv"'
        return response
    template = RESULTS_TEMPLATE + "#panels" if request.htmx else RESULTS_TEMPLATE
    return render(request, template, context)


@require_GET
@login_required
def result_items(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = access.get_queue(membership, queue_id)
    filters = results.Filters.from_params(request.GET)
    criteria = {c.key: c for c in results.criteria_of(queue)}
    criterion = criteria.get(request.GET.get("criterion", ""))
    value = request.GET.get("value", "")
    try:
        items = results.items_behind(queue, filters, criterion, value)
    except ValueError as exc:
        raise Http404 from exc
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    page_items = list(page.object_list.prefetch_related("judgments__reviewer"))
    query = {**filters.as_params()}
    if criterion:
        query.update(criterion=criterion.key, value=value)
    return render(
        request,
        "evals/result_items.html",
        {
            "membership": membership,
            "workspace": membership.workspace,
            "queue": queue,
            "filters": filters,
            "criterion": criterion,
            "value": value,
            "page": page,
            "items": page_items,
            "query": urlencode(query),
            "results_query": urlencode(filters.as_params()),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def queue_alerts(request: HttpRequest, slug: str, queue_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    queue = access.get_queue(membership, queue_id)
    form = AlertRuleForm(queue=queue)
    if request.method == "POST":
        if not membership.can_author:
            raise PermissionDenied
        form = AlertRuleForm(request.POST, queue=queue)
        if form.is_valid():
            rule = form.save(commit=False)
            rule.workspace = membership.workspace
            rule.queue = queue
            rule.created_by = request.user
            rule.save()
            audit.record(membership.workspace, request.user, "alert_rule.create", rule, str(rule))
            messages.success(request, "Alert rule added.")
            return redirect("queue-alerts", slug=slug, queue_id=queue.pk)
    rules = list(AlertRule.objects.filter(queue=queue).order_by("-created_at"))
    events = list(queue.alert_events.select_related("rule").order_by("-raised_at")[:50])
    return render(
        request,
        "evals/alerts.html",
        {
            "membership": membership,
            "workspace": membership.workspace,
            "queue": queue,
            "form": form,
            "rules": rules,
            "events": events,
        },
        status=422 if form.errors else 200,
    )


@require_POST
@login_required
def alert_rule_delete(request: HttpRequest, slug: str, queue_id: int, rule_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.AUTHORS)
    queue = access.get_queue(membership, queue_id)
    deleted, _ = AlertRule.objects.filter(pk=rule_id, queue=queue).delete()
    if not deleted:
        raise Http404
    audit.record(
        membership.workspace, request.user, "alert_rule.delete", None, f"alert rule {rule_id}"
    )
    messages.success(request, "Alert rule deleted.")
    return redirect("queue-alerts", slug=slug, queue_id=queue.pk)
