from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "evals"
    verbose_name = "Evaluation"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .sampling import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="quorum_sample_hash")
