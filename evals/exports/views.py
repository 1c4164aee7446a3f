"""The export page: choose a shape, format and filters; download directly or as a job.

Only admins and engineers export (403 for other members, 404 for non-members).
Small exports stream back at once as a zip of the data file, ``manifest.json`` and
``README.md``; large ones become a job whose page shows progress and then the
download links, which check the same roles on every download.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from datetime import UTC
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from annotate import access, audit
from annotate.models import Cohort, Membership, Queue, Role
from evals.exports.jobs import (
    DIRECT_LIMIT,
    download_response,
    expired_message,
    export_jobs,
    file_path,
    is_expired,
    job_files,
    retention_days,
    start_export,
)
from evals.exports.pipeline import count_rows, write_export
from evals.exports.spec import SHAPE_FORMATS, SHAPES, ExportError, ExportSpec, parse_spec
from evals.exports.writers import FORMATS
from evals.models import Job

EXPORTERS = (Role.ADMIN, Role.ENGINEER)
TEMPLATE = "evals/exports.html"


def _spec_from_post(request: HttpRequest, membership: Membership) -> ExportSpec:
    post = request.POST
    filters = {
        "queue_ids": post.getlist("queue_ids"),
        "cohort_ids": post.getlist("cohort_ids"),
        "since": post.get("since", ""),
        "until": post.get("until", ""),
        "model_versions": post.get("model_versions", ""),
        "min_agreement": post.get("min_agreement", ""),
        "adjudicated_only": post.get("adjudicated_only", ""),
        "exclude_gold": post.get("exclude_gold", ""),
    }
    names = post.get("reviewer_names") == "on"
    if names and membership.role != Role.ADMIN:
        raise ExportError("Only an admin may export reviewer names.")
    return parse_spec(
        membership.workspace,
        shape=post.get("shape", "judgments"),
        format=post.get("format", "csv"),
        snapshot_at=timezone.now(),
        filters=filters,
        sft_threshold=post.get("sft_threshold") or None,
        reviewer_names=names,
        keep_ties=post.get("keep_ties") == "on",
    )


def zip_export(membership: Membership, spec: ExportSpec) -> FileResponse:
    """Write the export to a temporary folder, zip it to a temporary file, stream that."""
    folder = Path(tempfile.mkdtemp(prefix="quorum-export-"))
    try:
        write_export(membership.workspace, spec, folder)
        bundle = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response)
        stamp = spec.snapshot_at.astimezone(UTC).timetuple()[:6]
        with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in (spec.file_name, "manifest.json", "README.md"):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                with (folder / name).open("rb") as source, archive.open(info, "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    bundle.seek(0)
    stamp_text = spec.snapshot_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"{membership.workspace.slug}-{spec.shape}-{spec.format}-{stamp_text}.zip"
    response = FileResponse(
        bundle, as_attachment=True, filename=filename, content_type="application/zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def exports_page(request: HttpRequest, slug: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, EXPORTERS)
    workspace = membership.workspace
    error = ""
    chosen: dict = {}
    if request.method == "POST":
        try:
            spec = _spec_from_post(request, membership)
        except ExportError as exc:
            error = str(exc)
            chosen = _chosen(request.POST)
        else:
            if count_rows(workspace, spec) <= DIRECT_LIMIT and request.POST.get("as_job") != "on":
                audit.record(
                    workspace, request.user, "export.download", None, f"{spec.shape} (zip)"
                )
                return zip_export(membership, spec)
            job = start_export(workspace, spec, user=request.user)
            return redirect("export-detail", slug=slug, job_id=job.pk)
    context = {
        "workspace": workspace,
        "membership": membership,
        "queues": Queue.objects.filter(workspace=workspace).order_by("name"),
        "cohorts": Cohort.objects.filter(workspace=workspace).order_by("name"),
        "shapes": SHAPES,
        "formats": FORMATS,
        "shape_formats": SHAPE_FORMATS,
        "jobs": export_jobs(workspace).order_by("-created_at")[:20],
        "error": error,
        "chosen": chosen,
        "direct_limit": DIRECT_LIMIT,
        "retention_days": retention_days(),
    }
    return render(request, TEMPLATE, context, status=400 if error else 200)


def _chosen(post) -> dict:
    """What the refused form said, to show it again as it was."""
    checks = ("keep_ties", "adjudicated_only", "exclude_gold", "reviewer_names", "as_job")
    fields = (
        "shape",
        "format",
        "sft_threshold",
        "since",
        "until",
        "model_versions",
        "min_agreement",
    )
    return {
        **{name: post.get(name, "") for name in fields},
        **{name: post.get(name) == "on" for name in checks},
        **{
            name: {int(v) for v in post.getlist(name) if v.isdecimal()}
            for name in ("queue_ids", "cohort_ids")
        },
    }


def _get_job(membership: Membership, job_id: int) -> Job:
    job = export_jobs(membership.workspace).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job


@require_GET
@login_required
def export_detail(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    membership = access.get_membership(request.user, slug, EXPORTERS)
    job = _get_job(membership, job_id)
    template = TEMPLATE.replace(".html", "_job.html")
    if request.htmx:
        template += "#status"
    context = {
        "workspace": membership.workspace,
        "job": job,
        "files": job_files(job),
        "expired": expired_message(job) if is_expired(job) else "",
    }
    return render(request, template, context)


@require_GET
@login_required
def export_download(request: HttpRequest, slug: str, job_id: int, name: str) -> HttpResponse:
    membership = access.get_membership(request.user, slug, EXPORTERS)
    job = _get_job(membership, job_id)
    if is_expired(job):
        return HttpResponse(expired_message(job), status=410, content_type="text/plain")
    path = file_path(job, name)
    if path is None:
        raise Http404
    audit.record(membership.workspace, request.user, "export.download", job, name)
    return download_response(path)
