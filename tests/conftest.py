"""Shared fixtures: named users, service switches, a real Celery worker, a real browser.

``QUORUM_REQUIRE_SERVICES=1`` (set by CI) turns every "service missing" into a
failure instead of a skip. Tests marked ``postgres`` are deselected, with a note in
the summary, when the run's database is SQLite: the PostgreSQL pass runs them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from annotate.models import Cohort, Role, Workspace
from quorum.supervise import NO_PEERS, start_worker, stop_worker, worker_argv
from tests.factories import PASSWORD, MembershipFactory, UserFactory, WorkspaceFactory

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("QUORUM_REQUIRE_SERVICES", "") in {"1", "true", "yes"}
CHROMIUM = os.environ.get("QUORUM_CHROMIUM", "/usr/bin/chromium")


def _using_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def service_missing(what: str) -> None:
    """Fail when CI says services are there; otherwise skip with the reason shown."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (QUORUM_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available; set QUORUM_REQUIRE_SERVICES=1 to make this a failure")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _using_postgres():
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        config._quorum_pg_deselected = len(dropped)  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    dropped = getattr(config, "_quorum_pg_deselected", 0)
    if dropped:
        terminalreporter.write_line(
            f"{dropped} PostgreSQL-only tests deselected: this run's database is SQLite; "
            "run with DATABASE_URL=postgres://... to include them."
        )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many users; real PBKDF2 costs seconds on a busy machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Named users ------------------------------------------------------------------------


@pytest.fixture
def workspace(db) -> Workspace:
    return WorkspaceFactory(name="Patient messages", slug="patient-messages")


@pytest.fixture
def clinicians(workspace) -> Cohort:
    return Cohort.objects.create(workspace=workspace, name="Clinicians")


def _member(workspace: Workspace, username: str, role: str):
    user = UserFactory(username=username)
    MembershipFactory(workspace=workspace, user=user, role=role)
    return user


@pytest.fixture
def admin_user(workspace):
    return _member(workspace, "alice-admin", Role.ADMIN)


@pytest.fixture
def author(workspace):
    return _member(workspace, "paula-author", Role.AUTHOR)


@pytest.fixture
def engineer(workspace):
    return _member(workspace, "eric-engineer", Role.ENGINEER)


@pytest.fixture
def reviewer(workspace, clinicians):
    user = _member(workspace, "carla-clinician", Role.REVIEWER)
    clinicians.members.add(user)
    return user


@pytest.fixture
def second_reviewer(workspace, clinicians):
    user = _member(workspace, "chen-clinician", Role.REVIEWER)
    clinicians.members.add(user)
    return user


@pytest.fixture
def outsider(db):
    """A reviewer and admin of another workspace, with no membership in ``workspace``."""
    other = WorkspaceFactory(name="Other team", slug="other-team")
    return _member(other, "oscar-outsider", Role.ADMIN)


@pytest.fixture
def password() -> str:
    return PASSWORD


# --- Services ---------------------------------------------------------------------------


def redis_url() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        broker = os.environ.get("QUORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return own_database(broker)


def own_database(url: str) -> str:
    """The Redis URL for this pytest-xdist worker: gw0 keeps the URL's database, gwN takes
    the Nth after it. Two workers' tests each start a real Celery worker and flush its
    queue; on one database they flushed and took each other's tasks (a job then waited
    on a worker reading another test database)."""
    number = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    if not number.isdigit() or number == "0":
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database + int(number)) % 16}"))


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(redis_url(), socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        service_missing(f"Redis at {redis_url()}")
    yield client
    client.close()


@pytest.fixture
def postgres() -> None:
    if not _using_postgres():
        service_missing("PostgreSQL (DATABASE_URL=postgres://...)")


def test_database_url() -> str:
    """A DATABASE_URL that points another process at this test run's database."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


@contextmanager
def celery_app_on(broker_url: str):
    """Point this process's Celery app (what ``jobs.dispatch`` sends with) at ``broker_url``."""
    from quorum.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    # Celery prefers the CELERY_BROKER_URL environment variable over its config (CI sets it).
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        app.conf.broker_url, app.conf.broker_transport_options = saved
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path, redis_client) -> Iterator[dict]:
    """A real ``celery worker`` process on Redis, reading this test run's database.

    Yields the environment it runs with, so a test can send tasks to the same broker.
    """
    broker = redis_url()
    redis_client.flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "",
        "QUORUM_VAR_DIR": str(tmp_path),
        # The same keys as this process, so the worker can read what the tests wrote.
        "SECRET_KEY": settings.SECRET_KEY,
        "QUORUM_ENCRYPTION_KEY": settings.QUORUM_ENCRYPTION_KEY,
    }
    log = tmp_path / "worker.log"
    argv = worker_argv(pool="solo", hostname=f"test-{os.getpid()}@%h", extra=NO_PEERS)
    proc = start_worker(argv, env, log)
    # Senders in this process use the worker's broker (Celery reads CELERY_BROKER_URL first).
    with celery_app_on(broker):
        yield {"env": env, "broker": broker, "log": log, "process": proc}
    stop_worker(proc)


# --- Browser ----------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        service_missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(page_at):
    """A desktop-sized page."""
    return page_at(1280, 900)


@pytest.fixture
def page_at(browser, live_server) -> Iterator:
    """``page_at(width, height)``: a new page (its own context, so its own login) with a
    viewport of that size, collecting its script errors in ``js_errors``."""
    contexts = []

    def make(width: int, height: int):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        pg.js_errors = errors  # type: ignore[attr-defined]
        return pg

    yield make
    for context in contexts:
        context.close()


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
