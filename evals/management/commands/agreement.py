"""``manage.py agreement ratings.csv``: every agreement coefficient of a CSV, as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evals.stats import agreement
from evals.stats import ratings_csv as agreement_csv


class Command(BaseCommand):
    help = (
        "Measure inter-rater agreement of ratings collected elsewhere. Reads a long-format CSV "
        "(columns item, rater, value; optional criterion and level) and prints Krippendorff's "
        "alpha, Fleiss' kappa, Cohen's kappa per pair, Gwet's AC1 and percent agreement, each "
        "with a bootstrap 95% interval, as JSON. Bad rows are reported by line and skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", help="path to the CSV file, or - for standard input")
        parser.add_argument(
            "--level",
            default="nominal",
            choices=agreement.LEVELS,
            help="level of measurement for rows without a level column (default nominal)",
        )
        parser.add_argument("--resamples", type=int, default=agreement.DEFAULT_BOOTSTRAP)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--strict", action="store_true", help="fail if any row is bad")
        parser.add_argument("--indent", type=int, default=2)

    def handle(self, *args, **options) -> None:
        path = options["csv"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        try:
            result = agreement_csv.analyse(
                text, options["level"], resamples=options["resamples"], seed=options["seed"]
            )
        except (agreement_csv.CsvError, agreement.AgreementError) as exc:
            raise CommandError(str(exc)) from None
        for error in result["errors"]:
            self.stderr.write(f"line {error['line']}: {error['error']}")
        if result["errors"] and options["strict"]:
            raise CommandError(f"{len(result['errors'])} bad row(s); nothing computed (--strict).")
        if not result["criteria"]:
            raise CommandError("No valid ratings to analyse.")
        self.stdout.write(json.dumps(result, indent=options["indent"] or None))
