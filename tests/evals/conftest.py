# Judge fixtures (scripted OpenAI-compatible server, an endpoint pointed at it).
from .judge_fixtures import fast_backoff, judge_endpoint, judge_server  # noqa: F401
