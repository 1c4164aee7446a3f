"""The API against its own OpenAPI schema: schemathesis 4 with every check and every phase.

What runs is what ``st run --checks all --phases examples,coverage,fuzzing,stateful
--mode all`` runs, through schemathesis' engine in this process, against a live server
of this test's database (so the PostgreSQL pass of ``.ci/run`` runs it on PostgreSQL):

- phases: examples; coverage (boundary values, each parameter missing or of the wrong
  type, unknown fields, unexpected HTTP methods); fuzzing; stateful (requests chained
  through the schema's links, e.g. an export started, then polled);
- data: positive (schema-valid) and negative (schema-violating) requests, NUL
  characters in strings allowed (schemathesis' default);
- checks: every built-in one: ``not_a_server_error``, ``status_code_conformance``,
  ``content_type_conformance``, ``response_schema_conformance``,
  ``response_headers_conformance``, ``positive_data_acceptance``,
  ``negative_data_rejection``, ``use_after_free``, ``ensure_resource_availability``,
  ``missing_required_header``, ``ignored_auth``, ``unsupported_method``,
  ``allow_header_conformance``, ``object_level_authorization`` (two workspaces' tokens,
  each with every scope, as peers that must not see each other's objects) and
  ``max_response_time`` (a generous 10 s: a request that hangs is a failure).

One configuration choice, and why: ``positive_data_acceptance`` also accepts 400. The API
answers 400 with a code when a schema-valid request breaks a rule the schema cannot
state (``bad_cursor``: a cursor this server did not sign; ``bad_filter``: a queue id of
another workspace; ``not_pairwise``: a rubric queue's leaderboard; ``bad_file``: a file
that is not in the judgments shape). 422 stays reserved for requests the schema itself
refuses, so a schema-valid request answered 422 is still a failure.

The run is deterministic (a fixed seed, derandomized generation, ids reset, no example
database or run cache) and takes about a minute on two cores. Any failure is listed with
the check, the operation and a curl command that reproduces it; the test also asserts
that every check above took part.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.cache import cache
from django.db import connection
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.factories import WorkspaceFactory, make_queue, make_token

EXAMPLES = 10  # per operation and phase
STATEFUL_STEPS = 10
SEED = 20261101
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "use_after_free",
    "ensure_resource_availability",
    "missing_required_header",
    "ignored_auth",
    "object_level_authorization",
    "unsupported_method",
    "allow_header_conformance",
    "max_response_time",
)


def _config(wfc_path: str, base_url: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},  # no state carried from one run to the next
            "workers": 1,
            "base-url": base_url,
            "auth": {"wfc": {"path": wfc_path, "peers": ["team", "other-team"]}},
            "checks": {
                "enabled": True,
                "max_response_time": 10.0,
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
                },
            },
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"enabled": True, "stateful": {"max-steps": STATEFUL_STEPS}},
        }
    )


def _failures(stream) -> tuple[list[str], set[str]]:
    """Each distinct failure as text; and which checks ran at all."""
    found: dict[tuple, str] = {}
    ran: set[str] = set()
    for event in stream:
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    ran.add(node.name)
                    if node.failure_info is None:
                        continue
                    failure = node.failure_info.failure
                    key = (node.name, failure.operation, failure.title)
                    found.setdefault(
                        key,
                        f"{node.name} on {failure.operation}: {failure.title}\n"
                        f"{failure.message}\n{node.failure_info.code_sample}",
                    )
        elif isinstance(event, events.NonFatalError):
            found.setdefault(("error", event.label), f"error in {event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            found.setdefault(("fatal",), f"fatal: {event.exception!r}")
    return list(found.values()), ran


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the same ids on every run
def test_the_api_conforms_to_its_openapi_schema_under_every_check(
    graded_queue, workspace, live_server, tmp_path, settings, monkeypatch
):
    monkeypatch.setattr("evals.jobs.dispatch", lambda job: None)  # no broker messages
    # The live server's request threads close their connections, so PostgreSQL's test
    # database can be dropped at the end (schemathesis keeps its HTTP connections open).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.QUORUM_API_RATE_LIMIT = 10_000_000
    cache.clear()
    make_pairwise_queue(workspace, pairs=2)  # a leaderboard to read
    other = WorkspaceFactory(name="Other team", slug="other-team-api")
    make_queue(other, items=2, name="Their queue")
    users = [("team", make_token(workspace, "schema")[1]), ("other-team", make_token(other)[1])]
    wfc = tmp_path / "auth.json"
    wfc.write_text(
        json.dumps(
            {
                "auth": [
                    {
                        "name": name,
                        "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {t}"}],
                    }
                    for name, t in users
                ]
            }
        )
    )
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/v1/openapi.json",
        config=_config(str(wfc), live_server.url),
    )
    assert len(list(schema.get_all_operations())) >= 14
    failures, ran = _failures(from_schema(schema).execute())
    assert not failures, f"{len(failures)} schemathesis failures:\n\n" + "\n\n".join(failures)
    assert set(CHECKS) <= ran, f"checks that never ran: {sorted(set(CHECKS) - ran)}"
