import csv

from django.apps import AppConfig

# A CSV field may be as long as any text Quorum stores (outputs of several hundred
# thousand characters); the csv module's default stops at 131,072 and refused whole files.
CSV_FIELD_LIMIT = 16 * 1024 * 1024


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Annotation"

    def ready(self) -> None:
        csv.field_size_limit(CSV_FIELD_LIMIT)
