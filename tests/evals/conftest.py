# Judge fixtures (scripted OpenAI-compatible server, an endpoint pointed at it).
from .judge_fixtures import (  # noqa: F401
    fast_backoff_fixture,
    judge_endpoint_fixture,
    judge_server_fixture,
)
