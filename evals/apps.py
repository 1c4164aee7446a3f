from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import pre_save

from annotate.signals import pairwise_judgment_saved


class EvalsConfig(AppConfig):
    name = "evals"
    verbose_name = "Evaluation"

    def ready(self) -> None:
        # Inside ready(): these modules import models, which load only after the app registry.
        from evals.results import hooks  # noqa: PLC0415
        from evals.sampling import filters, pairing  # noqa: PLC0415

        connection_created.connect(
            filters.register_sqlite_functions, dispatch_uid="quorum_sample_hash"
        )
        pre_save.connect(
            pairing.fill_input_key, sender="evals.Log", dispatch_uid="quorum_input_key"
        )
        pairwise_judgment_saved.connect(
            hooks.schedule_leaderboard_refresh, dispatch_uid="quorum_leaderboard_every_n"
        )
