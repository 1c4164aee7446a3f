"""Engineers' pages for logs coming in: upload (with a CSV column mapping), the upload's
progress and report, and each source's redaction settings with a preview."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from annotate import access
from annotate.models import Membership, Role
from annotate.text import text_problem
from evals.ingest import redaction
from evals.ingest.pipeline import (
    CSV_TARGETS,
    IGNORE,
    METADATA_PREFIX,
    Format,
    guess_mapping,
    validate_mapping,
)
from evals.ingest.uploads import (
    JOB_KIND,
    FileTooLarge,
    create_upload_job,
    job_report,
    preview_csv,
    start_csv_job,
    upload_limit,
)
from evals.models import Job, Source

INGESTERS = (Role.ADMIN, Role.ENGINEER)


def _get_upload_job(membership: Membership, job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id, workspace=membership.workspace, kind=JOB_KIND).first()
    if job is None:
        raise Http404
    return job


def _get_source(membership: Membership, source_id: int) -> Source:
    source = Source.objects.filter(pk=source_id, workspace=membership.workspace).first()
    if source is None:
        raise Http404
    return source


@require_http_methods(["GET", "POST"])
@login_required
def upload(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, INGESTERS)
    workspace = membership.workspace
    sources = list(Source.objects.filter(workspace=workspace).order_by("name"))
    error = ""
    if request.method == "POST":
        file = request.FILES.get("file")
        name = (request.POST.get("source") or "").strip()[:100]
        fmt = request.POST.get("format", "")
        if file is None or not name:
            error = "Choose a file and a source."
        elif problem := text_problem(name):
            error = f"The source name {problem}."
        else:
            source, _ = Source.objects.get_or_create(workspace=workspace, name=name)
            try:
                job = create_upload_job(workspace, source, file, file.name, fmt, request.user)
            except FileTooLarge as exc:
                error = f"file_too_large: {exc}"
            except (OSError, EOFError):
                error = "The file could not be read (a broken gzip file?)."
            else:
                if job.params["format"] == Format.CSV:
                    return redirect("ingest-mapping", slug=slug, job_id=job.pk)
                return redirect("ingest-job", slug=slug, job_id=job.pk)
    recent = Job.objects.filter(workspace=workspace, kind=JOB_KIND).order_by("-created_at")[:10]
    return render(
        request,
        "evals/upload.html",
        {
            "workspace": workspace,
            "membership": membership,
            "sources": sources,
            "error": error,
            "limit_mb": upload_limit() // (1024 * 1024),
            "recent": recent,
        },
        status=422 if error else 200,
    )


def _targets() -> list[str]:
    return [IGNORE, *CSV_TARGETS]


@require_http_methods(["GET", "POST"])
@login_required
def mapping(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, INGESTERS)
    job = _get_upload_job(membership, job_id)
    if job.params.get("format") != Format.CSV or job.params.get("mapping"):
        return redirect("ingest-job", slug=slug, job_id=job.pk)
    header: list[str] = job.params.get("header") or []
    chosen = guess_mapping(header)
    problems: list[str] = []
    if request.method == "POST":
        chosen = {}
        for n, column in enumerate(header):
            target = request.POST.get(f"col-{n}", IGNORE)
            if target == "metadata":
                target = METADATA_PREFIX + (column.strip().lower().replace(" ", "_") or str(n))
            chosen[column] = target
        problems = validate_mapping(header, chosen)
        if not problems:
            start_csv_job(job, chosen)
            return redirect("ingest-job", slug=slug, job_id=job.pk)
    columns = [
        {"index": n, "name": column, "target": chosen.get(column, IGNORE)}
        for n, column in enumerate(header)
    ]
    return render(
        request,
        "evals/upload_mapping.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "job": job,
            "columns": columns,
            "targets": _targets(),
            "preview": preview_csv(Path(job.params["path"])),
            "problems": problems,
        },
        status=422 if problems else 200,
    )


@require_http_methods(["GET"])
@login_required
def upload_job(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, INGESTERS)
    job = _get_upload_job(membership, job_id)
    report = job.result if job.status == Job.Status.SUCCEEDED else None
    if report is None and job.is_finished:
        report = job_report(job).as_dict()
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "job": job,
        "report": report,
    }
    template = "evals/upload_job.html#status" if request.htmx else "evals/upload_job.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
def source_redaction(request: HttpRequest, slug: str, source_id: int) -> HttpResponse:
    """Edit a source's redaction settings; the preview fragment shows what they would mask."""
    membership = access.get_membership(request.user, slug, INGESTERS)
    source = _get_source(membership, source_id)
    config = source.redaction or {}
    error = ""
    sample = request.POST.get("sample", "")
    if request.method == "POST":
        posted = {
            "enabled": True,
            "emails": bool(request.POST.get("emails")),
            "phones": bool(request.POST.get("phones")),
            "dates_of_birth": bool(request.POST.get("dates_of_birth")),
            "record_patterns": [
                p.strip() for p in request.POST.get("record_patterns", "").splitlines() if p.strip()
            ],
        }
        try:
            config = redaction.validate_config(posted)
        except redaction.RedactionConfigError as exc:
            error, config = str(exc), posted
        else:
            if request.POST.get("action") == "save":
                source.redaction = config
                source.save(update_fields=["redaction"])
    segments = []
    if sample and not error:
        segments = redaction.segments(sample, config)
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "source": source,
        "config": config,
        "patterns": "\n".join(config.get("record_patterns") or []),
        "sample": sample,
        "segments": segments,
        "masked": sum(1 for kind, _ in segments if kind),
        "error": error,
        "saved": request.method == "POST" and request.POST.get("action") == "save" and not error,
    }
    template = "evals/redaction.html#preview" if request.htmx else "evals/redaction.html"
    return render(request, template, context, status=422 if error else 200)


@require_http_methods(["GET"])
@login_required
def sources(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, INGESTERS)
    rows = Source.objects.filter(workspace=membership.workspace).order_by("name")
    return render(
        request,
        "evals/sources.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "sources": rows,
        },
    )
