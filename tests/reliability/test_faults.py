"""Faults injected while people work: a worker SIGKILLed mid-job, Redis stopped, PostgreSQL
dropping every connection. Nothing is lost, nothing is done twice, nothing hangs.
"""

from __future__ import annotations

import http.cookies
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from annotate.models import Assignment, Cohort, Item, Judgment, Membership
from evals import jobs
from evals.models import Job, Source
from tests.conftest import ROOT, celery_app_on, test_database_url
from tests.factories import UserFactory, good_answers, make_queue
from tests.processes import base_env, free_port, wait_for_http
from tests.reliability.http import Reviewer, Tally

FIGURES: dict = {}


def wait_for(condition, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


# --- A worker killed mid-job --------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_sigkilled_is_requeued_and_finishes_exactly_once(
    own_redis, workers, workspace, tmp_path
):
    gate = tmp_path / "gate"
    params = {"chunks": 20, "block_at": 7, "gate": str(gate)}
    with celery_app_on(own_redis.url):
        job = jobs.create_job(workspace, "test", "tests.reliability.jobtask.chunks", params)
        first = workers()
        wait_for(lambda: (tmp_path / "blocked-1").exists(), "the job to reach chunk 7")
        first.kill()
        job.refresh_from_db()
        assert (job.status, job.progress, job.attempts) == ("running", 8, 1)
        assert jobs.requeue_stale_jobs() == 0, "a fresh heartbeat is not stale"
        # Time passes: the dead worker's heartbeat goes stale.
        Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - jobs.STALE_AFTER * 2)
        gate.touch()
        second = workers()
        assert jobs.requeue_stale_jobs() == 1
        wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, "the requeued job to finish")
        second.stop()
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert (job.attempts, job.progress, job.result["finished_on_attempt"]) == (2, 20, 2)
    names = Counter(Source.objects.filter(workspace=workspace).values_list("name", flat=True))
    assert len(names) == 20 and set(names.values()) == {1}
    assert jobs.start(job.pk) is None, "a late duplicate delivery does nothing"
    assert not Job.objects.filter(status="running").exists()
    FIGURES["sigkill"] = {"workers_killed": 1, "chunks": 20, "lost": 0, "doubled": 0}


# --- Redis stopped --------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_grading_goes_on_while_redis_is_down_and_jobs_are_sent_when_it_is_back(
    own_redis, workspace, clinicians, reviewer
):
    queue = make_queue(workspace, cohorts=[clinicians], items=10, k=1)
    url = f"/w/{workspace.slug}/queues/{queue.pk}/grade/"
    tally = Tally()
    outcome: dict = {}
    with celery_app_on(own_redis.url):
        browser = Reviewer(reviewer, url, tally)
        assert browser.open()
        browser.submit()
        own_redis.stop()

        def grade_while_down() -> None:
            for _ in range(5):
                browser.submit()
            outcome["job"] = jobs.create_job(workspace, "test", "tests.reliability.jobtask.chunks")

        worker = threading.Thread(target=grade_while_down)
        worker.start()
        worker.join(timeout=120)
        assert not worker.is_alive(), "grading hung while Redis was down"
        assert tally.server_errors == []
        assert Judgment.objects.filter(queue=queue).count() == 6
        job = outcome["job"]
        assert Job.objects.get(pk=job.pk).status == "queued", "the job waits, nothing failed"

        own_redis.start()
        later = timezone.now() + jobs.STALE_AFTER + timedelta(seconds=1)
        assert jobs.requeue_stale_jobs(now=later) == 1
        messages = own_redis.client().lrange("celery", 0, -1)
        assert any(f"[{job.pk}]".encode() in m or str(job.pk).encode() in m for m in messages)
    FIGURES["redis"] = {"submits_while_down": 5, "errors": 0, "jobs_resent": 1}


# --- PostgreSQL drops every connection --------------------------------------------------------


class Browser:
    """A reviewer's browser against a real server: cookies, CSRF token, htmx headers."""

    def __init__(self, base: str, session: str) -> None:
        self.base = base
        self.cookies = {"sessionid": session}
        self.token = ""

    def request(
        self, method: str, path: str, data: dict | None = None, htmx: bool = True
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "X-CSRFToken": self.token,
            "Referer": self.base + "/",
        }
        if htmx:
            headers["HX-Request"] = "true"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, text, set_cookies = (
                    response.status,
                    response.read().decode(),
                    response.headers.get_all("Set-Cookie") or [],
                )
        except urllib.error.HTTPError as exc:
            status, text, set_cookies = exc.code, "", exc.headers.get_all("Set-Cookie") or []
        for raw in set_cookies:
            jar = http.cookies.SimpleCookie(raw)
            self.cookies.update({k: m.value for k, m in jar.items()})
        found = re.search(r'"X-CSRFToken": "([^"]+)"', text)
        if found:
            self.token = found.group(1)
        return status, text


SUBMIT = re.compile(r'hx-post="(/w/[^"]+/submit/)"')


def grade_some(browser: Browser, grade: str, limit: int, tally: dict, lock) -> None:
    """Grade up to ``limit`` items; a failed request is retried, as a person would."""
    done = failures = 0
    while done < limit:
        if failures > 20:
            with lock:
                tally["other"].append("gave up after 20 failures in a row")
            return
        try:
            # The full page, as a browser loads it: it carries the CSRF token htmx sends.
            status, text = browser.request("GET", grade, htmx=bool(browser.token))
            found = SUBMIT.search(text) if status == 200 else None
            if status == 200 and found is None:
                return  # queue finished
            if found is not None:
                answers = {f"c-{k}": v for k, v in good_answers().items()}
                status, text = browser.request("POST", found.group(1), answers)
                done += status == 200
        except (TimeoutError, urllib.error.URLError) as exc:  # a hang or a dropped socket
            with lock:
                tally["hangs"].append(repr(exc))
            return
        with lock:
            tally["requests"] += 1
            failures = failures + 1 if status >= 400 else 0
            if status >= 500 or status == 400:
                # A clean failure: 5xx, or 400 when the session save hit the dropped connection.
                tally["5xx"] += 1
            elif status != 200:
                tally["other"].append(status)
                return


def terminate_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def gunicorn_on_test_db(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = base_env(
        tmp_path,
        DATABASE_URL=test_database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        DB_CONN_MAX_AGE="600",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "quorum" / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
         "--max-requests", "0"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/healthz", proc, log)
    yield base, log
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


THREADS = 4
ITEMS = 120


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_when_postgres_drops_every_connection_requests_fail_cleanly_and_the_app_recovers(
    postgres, workspace, settings, gunicorn_on_test_db
):
    base, log = gunicorn_on_test_db
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cohort = Cohort.objects.create(workspace=workspace, name="Clinicians")
    queue = make_queue(workspace, cohorts=[cohort], items=ITEMS, k=1)
    users = [UserFactory(username=f"pg{n}") for n in range(THREADS)]
    Membership.objects.bulk_create([Membership(workspace=workspace, user=u) for u in users])
    cohort.members.add(*users)
    browsers = []
    for user in users:
        client = Client()
        client.force_login(user)
        browsers.append(Browser(base, client.cookies["sessionid"].value))
    grade = f"/w/{workspace.slug}/queues/{queue.pk}/grade/"
    lock = threading.Lock()

    def wave(limit: int, during=None) -> dict:
        tally = {"requests": 0, "5xx": 0, "other": [], "hangs": []}
        threads = [
            threading.Thread(target=grade_some, args=(b, grade, limit, tally, lock))
            for b in browsers
        ]
        for t in threads:
            t.start()
        if during is not None:
            during(tally)
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "a request hung"
        return tally

    warm = wave(5)
    assert warm["5xx"] == 0 and not warm["hangs"]
    # Fault 1, between requests: every pooled connection of the server is dead.
    killed_quiet = terminate_backends()
    assert killed_quiet >= 1, "the server held persistent connections"
    after_quiet = wave(5)
    assert after_quiet["5xx"] == 0, "the health check replaces dead connections before use"
    assert not after_quiet["hangs"] and not after_quiet["other"]

    # Fault 2, under load: requests in flight may fail, with a 5xx, never a hang.
    def kill_under_load(tally) -> None:
        wait_for(lambda: tally["requests"] >= 20, "load", limit=120)
        tally["killed"] = terminate_backends()

    busy = wave(ITEMS, during=kill_under_load)
    assert not busy["hangs"], busy["hangs"]
    assert not busy["other"], busy["other"]
    assert busy["5xx"] <= THREADS, "only requests in flight at the fault may fail"

    judgments = Judgment.objects.filter(queue=queue)
    assert judgments.count() == ITEMS, "the queue was finished after the faults, no restart"
    assert set(Counter(judgments.values_list("item_id", flat=True)).values()) == {1}
    assert not Assignment.objects.filter(queue=queue, state="leased").exists()
    assert set(Item.objects.filter(queue=queue).values_list("state", flat=True)) == {"complete"}
    assert log.read_text().count("Booting worker") == 1, "the web worker was never restarted"
    FIGURES["postgres"] = {
        "faults": 2,
        "connections_killed": killed_quiet + busy.get("killed", 0),
        "failed_requests": busy["5xx"],
        "requests": warm["requests"] + after_quiet["requests"] + busy["requests"],
        "items_lost": 0,
    }
    print("postgres faults:", FIGURES["postgres"])
