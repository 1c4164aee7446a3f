"""Production logs and their sources, background jobs, sampling, judges and stored results.

Every model is re-exported here: import them as ``from evals.models import Log``.
"""

from evals.models.ingest import IngestChunk, Log, Source
from evals.models.jobs import Job
from evals.models.judges import (
    DEFAULT_PAIRWISE_USER_TEMPLATE,
    DEFAULT_SYSTEM_TEMPLATE,
    DEFAULT_USER_TEMPLATE,
    JudgeEndpoint,
    JudgeResult,
    JudgeRun,
)
from evals.models.results import AgreementSnapshot, AlertEvent, AlertRule, LeaderboardSnapshot
from evals.models.sampling import QueuedLog, SamplingRule, SamplingRun

__all__ = [
    "DEFAULT_PAIRWISE_USER_TEMPLATE",
    "DEFAULT_SYSTEM_TEMPLATE",
    "DEFAULT_USER_TEMPLATE",
    "AgreementSnapshot",
    "AlertEvent",
    "AlertRule",
    "IngestChunk",
    "Job",
    "JudgeEndpoint",
    "JudgeResult",
    "JudgeRun",
    "LeaderboardSnapshot",
    "Log",
    "QueuedLog",
    "SamplingRule",
    "SamplingRun",
    "Source",
]
