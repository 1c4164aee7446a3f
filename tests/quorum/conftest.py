"""The API-wide tests use the evals fixtures: a graded queue and a token with every scope."""

from tests.evals.conftest import api_token, auth, graded_queue  # noqa: F401
