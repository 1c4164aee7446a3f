"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine here).

The commands they run must exist in this code base: manage.py commands, the Celery app,
the gunicorn config, the health check module.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from quorum.celery import app as celery_app
from quorum.healthcheck import allowed_host

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = {"migrate", "web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """The Dockerfile's instructions, one string per instruction (continuations joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def command_of(service: dict) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else shlex.split(command)


def check_command(argv: list[str]) -> None:
    """Fail unless ``argv`` runs something this code base has."""
    if argv[:2] == ["python", "manage.py"]:
        assert argv[2] in get_commands(), f"no manage.py command {argv[2]!r}"
    elif argv[0] == "celery":
        assert argv[1:3] == ["-A", "quorum"]
        assert celery_app.main == "quorum"
        assert argv[3] in {"worker", "beat", "inspect"}
    elif argv[0] == "gunicorn":
        config = argv[argv.index("-c") + 1]
        assert (ROOT / config).is_file(), config
    elif argv[:2] == ["python", "-m"]:
        importlib.import_module(argv[2])
    else:
        pytest.fail(f"unexpected command {argv}")


def test_compose_has_web_worker_beat_postgres_redis_and_a_migrate_step(compose):
    services = compose["services"]
    assert set(services) == APP_SERVICES | {"db", "redis"}
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in APP_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["image"] == "quorum:latest"


def test_every_command_compose_runs_exists(compose):
    services = compose["services"]
    assert command_of(services["migrate"])[:3] == ["python", "manage.py", "migrate"]
    assert command_of(services["web"])[0] == "gunicorn"
    assert command_of(services["worker"])[3] == "worker"
    assert command_of(services["beat"])[3] == "beat"
    for name in APP_SERVICES:
        check_command(command_of(services[name]))


def test_app_services_share_settings_and_point_at_the_db_and_redis_services(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["QUORUM_ENV"] == "production"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "required, no default"
        assert "@db:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert "quorum-var:/app/var" in services[name]["volumes"]
    assert set(compose["volumes"]) >= {"pgdata", "redisdata", "quorum-var"}


def test_long_running_services_have_healthchecks_and_start_after_migrations(compose):
    services = compose["services"]
    for name in ["db", "redis", "web", "worker", "beat"]:
        assert services[name]["healthcheck"]["test"], name
    for name in ["web", "worker", "beat"]:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    web_check = services["web"]["healthcheck"]["test"]
    assert web_check[0] == "CMD"
    check_command(web_check[1:])
    worker_check = shlex.split(services["worker"]["healthcheck"]["test"][1])
    check_command(worker_check)


def test_dockerfile_builds_a_non_root_gunicorn_image_with_static_files(dockerfile):
    assert dockerfile[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert any("pip install -r requirements.txt" in line for line in dockerfile)
    collect = next(line for line in dockerfile if "collectstatic --noinput" in line)
    assert collect.startswith("RUN ") and "QUORUM_ENV=production" in collect
    # The build-time key lives only in that RUN line, never in the image's environment.
    env_lines = " ".join(line for line in dockerfile if line.startswith("ENV "))
    assert "SECRET_KEY" not in env_lines
    healthcheck = next(line for line in dockerfile if line.startswith("HEALTHCHECK "))
    assert '"quorum.healthcheck"' in healthcheck
    importlib.import_module("quorum.healthcheck")
    cmd = next(line for line in dockerfile if line.startswith("CMD "))
    check_command(json.loads(cmd[4:]))


def test_healthcheck_sends_a_host_that_allowed_hosts_accepts():
    assert allowed_host("quorum.example.org, localhost") == "quorum.example.org"
    assert allowed_host("*, .example.org") == "example.org"
    assert allowed_host("") == "localhost"


def settings_env_vars() -> set[str]:
    text = (ROOT / "quorum" / "settings.py").read_text()
    pattern = r'(?:env_str|env_bool|env_int|env_list|os\.environ\.get)\(\s*"([A-Z_]+)"'
    return set(re.findall(pattern, text))


def test_the_readme_documents_every_environment_variable_in_settings():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    names = settings_env_vars()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= names
    missing = sorted(name for name in names if f"| `{name}` |" not in table)
    assert missing == []
