"""The judgment import page: upload a file in the judgments export's shape into a queue.

Only admins and engineers import (403 for other members, 404 for non-members). Files
up to ``import_jobs.DIRECT_BYTES`` are imported during the request and the page shows
the report at once; larger ones become a job whose page shows progress, then the same
report: counts (created, duplicate, refused), and each refused row with its number
and reason. Rubric and pairwise queues both take judgments.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotate import access
from annotate.models import Membership, Queue, Role
from evals.exports import import_jobs
from evals.exports.imports import ImportFileError, ImportResult, import_judgments
from evals.ingest.uploads import FileTooLarge, copy_limited, upload_limit
from evals.models import Job

IMPORTERS = (Role.ADMIN, Role.ENGINEER)
TEMPLATE = "evals/imports.html"


def _queues(membership: Membership):
    return (
        Queue.objects.filter(workspace=membership.workspace)
        .select_related("rubric_version__rubric")
        .order_by("name")
    )


def _import_now(queue: Queue, upload, fmt: str) -> ImportResult:
    """Import a small upload during the request, from a temporary copy of it."""
    with tempfile.TemporaryDirectory(prefix="quorum-import-") as folder:
        path = Path(folder) / f"upload.{fmt}"
        copy_limited(upload, path, upload_limit())
        return import_judgments(queue, path, fmt)


@require_http_methods(["GET", "POST"])
@login_required
def import_page(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, IMPORTERS)
    queues = _queues(membership)
    error, report, filename = "", None, ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        queue_id = request.POST.get("queue", "")
        valid = queue_id.isdigit() and len(queue_id) < 19
        queue = queues.filter(pk=int(queue_id)).first() if valid else None
        filename = upload.name if upload else ""
        fmt = import_jobs.detect_format(filename, request.POST.get("format", ""))
        if upload is None:
            error = "Choose a file."
        elif queue is None:
            error = "Choose a queue of this workspace."
        elif not fmt:
            error = "Choose the file's format: CSV, JSONL or Parquet."
        elif upload.size > upload_limit():
            error = f"The file is over the upload limit of {upload_limit()} bytes."
        elif upload.size > import_jobs.DIRECT_BYTES or request.POST.get("as_job") == "on":
            try:
                job = import_jobs.start_import(queue, upload, filename, fmt, request.user)
            except (FileTooLarge, OSError, EOFError) as exc:
                error = str(exc) or "The file could not be read."
            else:
                return redirect("judgment-import-job", slug=slug, job_id=job.pk)
        else:
            try:
                result = _import_now(queue, upload, fmt)
            except (ImportFileError, FileTooLarge) as exc:
                error = str(exc)
            except (OSError, EOFError):
                error = "The file could not be read (a broken gzip file?)."
            else:
                import_jobs.record_import(queue, request.user, filename, fmt, result)
                report = result.as_dict()
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "queues": queues,
        "error": error,
        "report": report,
        "filename": filename,
        "limit_mb": upload_limit() // (1024 * 1024),
        "direct_mb": import_jobs.DIRECT_BYTES / (1024 * 1024),
        "recent": import_jobs.import_jobs(membership.workspace).order_by("-created_at")[:10],
    }
    return render(request, TEMPLATE, context, status=422 if error else 200)


@require_GET
@login_required
def import_job(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, IMPORTERS)
    job = import_jobs.import_jobs(membership.workspace).filter(pk=job_id).first()
    if job is None:
        raise Http404
    report = job.result if job.is_finished and "rows" in (job.result or {}) else None
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "job": job,
        "queue": Queue.objects.filter(
            pk=job.params.get("queue_id"), workspace=membership.workspace
        ).first(),
        "report": report,
        "filename": job.params.get("filename", ""),
        "partial": job.status != Job.Status.SUCCEEDED,
    }
    template = "evals/imports_job.html#status" if request.htmx else "evals/imports_job.html"
    return render(request, template, context)
