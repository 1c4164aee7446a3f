"""schemathesis against the API's OpenAPI schema, in-process on the WSGI app.

A handful of generated requests per operation with a valid token: no 5xx, and every
response (status code, content type, body) matches the schema.
"""

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from quorum.wsgi import application

EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.django_db(transaction=True)
def test_the_api_conforms_to_its_openapi_schema(graded_queue, api_token, settings_overrides):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    headers = {"Authorization": f"Bearer {api_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,  # the same examples on every run: CI must not flake
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            cache.clear()
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()


@pytest.fixture
def settings_overrides(settings, tmp_path, monkeypatch):
    monkeypatch.setattr("evals.jobs.dispatch", lambda job: None)  # no broker messages
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.QUORUM_API_RATE_LIMIT = 100_000
