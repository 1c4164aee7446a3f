"""Pages for background jobs: the progress fragment that long jobs' pages poll."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate import access
from evals.models import Job


@require_GET
@login_required
def job_progress(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, access.SETUP_READERS)
    job = Job.objects.filter(pk=job_id, workspace=membership.workspace).first()
    if job is None:
        raise Http404
    template = "evals/job.html#progress" if request.htmx else "evals/job.html"
    return render(request, template, {"job": job, "workspace": membership.workspace})
