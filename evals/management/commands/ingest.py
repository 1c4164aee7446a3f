"""Backfill logs from files on disk, through the same chunked path as browser uploads."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Workspace
from evals.ingest.pipeline import guess_mapping, validate_mapping
from evals.ingest.uploads import ingest_file, read_csv_header
from evals.models import Source


class Command(BaseCommand):
    help = "Ingest JSONL or CSV log files into a workspace's source (duplicates are skipped)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--source", default="backfill", help="Source name (created if new).")
        parser.add_argument("--format", default="", choices=["", "jsonl", "csv"])
        parser.add_argument(
            "--mapping", default="", help='CSV column mapping as JSON: {"column": "field"}.'
        )

    def handle(self, *args, **options) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']!r}.")
        source, _ = Source.objects.get_or_create(workspace=workspace, name=options["source"])
        failed = False
        for path in options["paths"]:
            if not path.is_file():
                raise CommandError(f"No file {path}.")
            mapping = None
            if options["format"] == "csv" or path.name.lower().removesuffix(".gz").endswith(".csv"):
                header = read_csv_header(path)
                mapping = (
                    json.loads(options["mapping"]) if options["mapping"] else guess_mapping(header)
                )
                problems = validate_mapping(header, mapping)
                if problems:
                    raise CommandError("; ".join(problems))
            job = ingest_file(workspace, source, path, options["format"], mapping)
            r = job.result
            if job.status != "succeeded":
                failed = True
                self.stderr.write(f"{path}: {job.status}: {job.error}")
                continue
            self.stdout.write(
                f"{path}: {r['lines_read']} lines read, {r['accepted']} accepted, "
                f"{r['duplicate']} duplicate, {r['rejected']} rejected"
            )
            for line, reason, message in r["errors"][:50]:
                self.stdout.write(f"  line {line}: {reason}: {message}")
        if failed:
            raise CommandError("Some files failed.")
