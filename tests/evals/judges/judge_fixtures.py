"""Fixtures for judge tests: the scripted server and an endpoint pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evals.judges import secretbox
from evals.models import JudgeEndpoint
from tests.evals.judges.judge_server import ScriptedServer

API_KEY = "sk-test-SECRET-d0n0tl3ak-9f8e7d"


@pytest.fixture(name="judge_server")
def judge_server_fixture() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


@pytest.fixture(name="fast_backoff")
def fast_backoff_fixture(settings):
    settings.QUORUM_JUDGE_BACKOFF_BASE = 0.001
    settings.QUORUM_JUDGE_BACKOFF_MAX = 0.01
    settings.QUORUM_JUDGE_TRANSPORT_RETRIES = 2
    return settings


@pytest.fixture(name="judge_endpoint")
def judge_endpoint_fixture(workspace, judge_server, fast_backoff) -> JudgeEndpoint:
    return JudgeEndpoint.objects.create(
        workspace=workspace,
        name="Test judge",
        base_url=judge_server.base_url,
        model="judge-test",
        api_key_encrypted=secretbox.encrypt(API_KEY),
        timeout_seconds=5,
        concurrency=1,
        requests_per_minute=60000,
        price_input_per_mtok=1000,
        price_output_per_mtok=5000,
        invalid_answer_retries=1,
        allow_private_network=True,
    )
