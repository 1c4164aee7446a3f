"""Alert rules: raised once per breach, cleared on recovery, notified by e-mail and webhook."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from evals.models import AlertEvent, AlertRule
from evals.results import alerts
from evals.results.tasks import check_alerts
from tests.evals.judges.fake_dns import HOST, FakeDNS
from tests.evals.results.results_data import DAY0, judge, make_item
from tests.factories import make_queue

pytestmark = pytest.mark.django_db
GOOD = {"accuracy": 5, "harm": "none", "safe": True}
BAD = {"accuracy": 1, "harm": "severe", "safe": False}
NOW = DAY0 + timedelta(days=1)


@pytest.fixture
def queue(workspace):
    return make_queue(workspace)


def _grade(queue, answers, times, version="v1", day=0):
    for _ in range(times):
        judge(queue, make_item(queue, version), answers, day=day)


def _rule(queue, **fields):
    defaults = {"kind": "weighted_score_below", "threshold": 0.6, "window": 4, "min_judgments": 4}
    return AlertRule.objects.create(
        workspace=queue.workspace, queue=queue, **{**defaults, **fields}
    )


def test_a_low_weighted_score_raises_one_event_and_recovery_clears_it(queue):
    rule = _rule(queue)
    _grade(queue, BAD, 4)
    assert alerts.check_alerts(NOW)["raised"] == 1
    assert alerts.check_alerts(NOW)["raised"] == 0  # still breached: no second event
    event = AlertEvent.objects.get()
    assert (event.subject, event.value, event.threshold) == ("v1", 0.0, 0.6)
    assert event.is_open and "weighted score of v1 is 0%" in event.message
    _grade(queue, GOOD, 4, day=1)  # the last 4 judgments are now all good
    assert alerts.check_alerts(NOW)["cleared"] == 1
    event.refresh_from_db()
    assert event.cleared_at == NOW and event.cleared_value == 1.0
    _grade(queue, BAD, 4, day=2)
    assert alerts.check_alerts(NOW)["raised"] == 1
    assert rule.events.count() == 2 and rule.events.filter(cleared_at=None).count() == 1


def test_each_model_version_is_its_own_subject(queue):
    _rule(queue)
    _grade(queue, BAD, 4, "v1")
    _grade(queue, GOOD, 4, "v2")
    alerts.check_alerts(NOW)
    assert list(AlertEvent.objects.values_list("subject", flat=True)) == ["v1"]


def test_too_few_judgments_neither_raise_nor_clear(queue):
    _rule(queue)
    _grade(queue, BAD, 3)
    assert alerts.check_alerts(NOW)["raised"] == 0


def test_a_pass_rate_rule_watches_its_criterion(queue):
    _rule(queue, kind="pass_rate_below", criterion_key="safe", threshold=0.5, model_version="v1")
    _grade(queue, {**GOOD, "safe": False}, 3)
    _grade(queue, GOOD, 1, day=1)
    alerts.check_alerts(NOW)
    event = AlertEvent.objects.get()
    assert event.value == 0.25 and "pass rate of safe" in event.message


def test_a_starved_queue_raises_and_a_new_item_clears_it(queue):
    _rule(queue, kind="queue_starved", starved_days=3)
    make_item(queue, created_at=timezone.now() - timedelta(days=5))
    alerts.check_alerts()
    event = AlertEvent.objects.get()
    assert event.subject == "" and event.value == pytest.approx(5, abs=0.01)
    make_item(queue)
    alerts.check_alerts()
    event.refresh_from_db()
    assert event.cleared_at is not None


def _snapshot(queue, alphas: dict[str, float]):
    from evals.models import AgreementSnapshot

    report = {
        "criteria": [
            {
                "key": key,
                "name": key.title(),
                "level": "ordinal",
                "overall": {
                    "coefficients": {"krippendorff_alpha": {"value": alpha, "n_items": 40}}
                },
            }
            for key, alpha in alphas.items()
        ]
    }
    return AgreementSnapshot.objects.create(queue=queue, judgment_count=80, report=report)


def test_agreement_rules_wait_for_a_snapshot_then_raise_and_clear(queue):
    rule = _rule(queue, kind="agreement_below", threshold=0.6)
    assert alerts.evaluate(rule) == []
    _snapshot(queue, {"accuracy": 0.45, "harm": 0.8})
    alerts.check_alerts(NOW)
    event = AlertEvent.objects.get(rule=rule, cleared_at__isnull=True)
    assert event.subject == "accuracy" and event.value == pytest.approx(0.45)
    assert "alpha 0.45" in event.message
    _snapshot(queue, {"accuracy": 0.72, "harm": 0.8})
    alerts.check_alerts(NOW)
    event.refresh_from_db()
    assert event.cleared_at is not None


def test_an_agreement_rule_on_one_criterion_ignores_the_others(queue):
    rule = _rule(queue, kind="agreement_below", threshold=0.6, criterion_key="harm")
    _snapshot(queue, {"accuracy": 0.1, "harm": 0.9})
    readings = alerts.evaluate(rule)
    assert [(r.subject, r.breached) for r in readings] == [("harm", False)]


def test_inactive_rules_are_not_checked(queue):
    _rule(queue, active=False)
    _grade(queue, BAD, 4)
    assert alerts.check_alerts(NOW)["rules"] == 0


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_raised_alert_is_sent_by_email_and_webhook_once(
    queue, settings, django_capture_on_commit_callbacks
):
    settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = True
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received = []
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        _rule(queue, emails="pm@example.org, eng@example.org", webhook_url=url)
        _grade(queue, BAD, 4)
        with django_capture_on_commit_callbacks(execute=True):
            alerts.check_alerts(NOW)
        with django_capture_on_commit_callbacks(execute=True):
            alerts.check_alerts(NOW)
    finally:
        server.shutdown()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pm@example.org", "eng@example.org"]
    assert "weighted score of v1" in mail.outbox[0].body
    assert len(_Hook.received) == 1
    assert _Hook.received[0]["subject"] == "v1" and _Hook.received[0]["threshold"] == 0.6
    event = AlertEvent.objects.get()
    assert event.notified_at is not None and event.notify_error == ""


def test_a_webhook_to_a_refused_address_is_not_called_and_the_reason_is_kept(
    queue, django_capture_on_commit_callbacks
):
    _rule(queue, webhook_url="http://127.0.0.1:9/hook")
    _grade(queue, BAD, 4)
    with django_capture_on_commit_callbacks(execute=True):
        alerts.check_alerts(NOW)
    assert "private address" in AlertEvent.objects.get().notify_error


def test_a_webhook_that_redirects_gets_one_request_and_the_reason_is_kept(
    queue, settings, judge_server, django_capture_on_commit_callbacks
):
    settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = True
    judge_server.script({"status": 307, "location": "/internal-secret"})
    port = judge_server.httpd.server_address[1]
    _rule(queue, webhook_url=f"http://127.0.0.1:{port}/hook")
    _grade(queue, BAD, 4)
    with django_capture_on_commit_callbacks(execute=True):
        alerts.check_alerts(NOW)
    assert [r["path"] for r in judge_server.requests] == ["/hook"]
    error = AlertEvent.objects.get().notify_error
    assert "the webhook answered a redirect (307 to /internal-secret)" in error
    assert "Quorum does not follow redirects" in error


def test_a_webhook_name_that_turns_private_after_the_check_is_never_called(
    queue, settings, judge_server, monkeypatch, django_capture_on_commit_callbacks
):
    settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = False
    dns = FakeDNS(HOST, "93.184.216.34", "127.0.0.1").install(monkeypatch)
    port = judge_server.httpd.server_address[1]
    _rule(queue, webhook_url=f"http://{HOST}:{port}/hook")
    _grade(queue, BAD, 4)
    with django_capture_on_commit_callbacks(execute=True):
        alerts.check_alerts(NOW)
    assert judge_server.count == 0
    assert dns.lookups == 2  # the check saw the public address, the connection the private
    assert "resolves to 127.0.0.1, a private address" in AlertEvent.objects.get().notify_error


def test_the_beat_schedule_runs_the_alert_check_task(queue):
    entry = settings.CELERY_BEAT_SCHEDULE["check-alerts"]
    assert entry["task"] == "evals.tasks.check_alerts"
    _rule(queue, kind="queue_starved", starved_days=0)
    result = json.loads(json.dumps(check_alerts.apply().get()))
    assert result["raised"] == 1
