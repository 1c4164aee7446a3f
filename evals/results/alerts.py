"""Alert rules: evaluate them, raise an event once per breach, clear it on recovery, notify.

``check_alerts`` is what the Celery beat task calls. It is idempotent: an open event per
rule and subject is unique in the database, so a re-run (or two workers at once) never
raises the same breach twice. Notifications (e-mail through Django's e-mail backend, a
JSON POST to the rule's webhook) are sent after the transaction commits, once per event.

Kinds: weighted score below X, pass rate below X (of the last N judgments of each model
version), queue starved (no new items for Z days), and agreement below Y (Krippendorff's
alpha of each criterion, or of the rule's criterion, in the queue's latest agreement
snapshot).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import httpx2
import pandas as pd
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from annotate.models import Criterion, Item, Judgment
from evals.judges.outbound import pinned_client, redirect_message
from evals.judges.urlcheck import UnsafeURL, check_outbound_url
from evals.models import AgreementSnapshot, AlertEvent, AlertRule
from evals.results.agreement import headline
from evals.stats import scoring

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT = 10


@dataclass(frozen=True)
class Reading:
    """A rule's value for one subject (model version, or "" for the queue)."""

    subject: str
    value: float
    breached: bool
    message: str


def _versions(rule: AlertRule) -> list[str]:
    if rule.model_version:
        return [rule.model_version]
    return sorted(
        Item.objects.filter(queue_id=rule.queue_id, judgments__isnull=False)
        .order_by()
        .values_list("model_version", flat=True)
        .distinct()
    )


def _recent_answers(rule: AlertRule, version: str) -> list[dict]:
    return list(
        Judgment.objects.filter(queue_id=rule.queue_id, item__model_version=version)
        .order_by("-created_at", "-id")
        .values_list("answers", flat=True)[: rule.window]
    )


def _score_readings(rule: AlertRule, criteria: list[Criterion]) -> list[Reading]:
    if rule.kind == AlertRule.Kind.PASS_RATE_BELOW:
        criteria = [c for c in criteria if c.key == rule.criterion_key and c.kind == "pass_fail"]
        what = f"pass rate of {rule.criterion_key}"
    else:
        criteria = [c for c in criteria if c.kind in scoring.SCORED_KINDS]
        what = "weighted score"
    if not criteria:
        return []
    readings = []
    for version in _versions(rule):
        answers = pd.DataFrame.from_records(_recent_answers(rule, version))
        if len(answers) < rule.min_judgments:
            continue
        parsed = {
            c.key: scoring.parse(c, answers.get(c.key, pd.Series(index=answers.index)))
            for c in criteria
        }
        if rule.kind == AlertRule.Kind.PASS_RATE_BELOW:
            values = parsed[rule.criterion_key].dropna()
        else:
            values = scoring.weighted_score(criteria, parsed).dropna()
        if values.empty:
            continue
        value = float(values.mean())
        readings.append(
            Reading(
                version,
                value,
                value < rule.threshold,
                f"{rule.queue.name}: {what} of {version or 'no model version'} is "
                f"{value:.0%} over the last {len(answers)} judgments "
                f"(alert below {rule.threshold:.0%}).",
            )
        )
    return readings


def _starved_reading(rule: AlertRule, now: datetime) -> Reading:
    last = Item.objects.filter(queue_id=rule.queue_id).aggregate(last=Max("created_at"))["last"]
    since = last or rule.queue.created_at
    days = (now - since).total_seconds() / 86400
    return Reading(
        "",
        days,
        days >= rule.starved_days,
        f"{rule.queue.name}: no new items for {days:.1f} days (alert at {rule.starved_days}).",
    )


def evaluate(rule: AlertRule, now: datetime | None = None) -> list[Reading] | None:
    """The rule's current readings, or None when its kind cannot be evaluated yet."""
    now = now or timezone.now()
    if rule.kind == AlertRule.Kind.QUEUE_STARVED:
        return [_starved_reading(rule, now)]
    if rule.kind in (AlertRule.Kind.WEIGHTED_SCORE_BELOW, AlertRule.Kind.PASS_RATE_BELOW):
        return _score_readings(rule, list(rule.queue.rubric_version.criteria.all()))
    if rule.kind == AlertRule.Kind.AGREEMENT_BELOW:
        return _agreement_readings(rule)
    return None


def _agreement_readings(rule: AlertRule) -> list[Reading]:
    snapshot = (
        AgreementSnapshot.objects.filter(queue_id=rule.queue_id)
        .order_by("-computed_at", "-id")
        .first()
    )
    if snapshot is None:
        return []
    readings = []
    for row in headline(snapshot.report):
        if row["alpha"] is None or (rule.criterion_key and row["key"] != rule.criterion_key):
            continue
        readings.append(
            Reading(
                row["key"],
                row["alpha"],
                row["alpha"] < rule.threshold,
                f"{rule.queue.name}: agreement on {row['name']} is alpha {row['alpha']:.2f} "
                f"over {row['n_items']} items (alert below {rule.threshold:.2f}).",
            )
        )
    return readings


def apply_readings(
    rule: AlertRule, readings: list[Reading], now: datetime
) -> tuple[list[AlertEvent], list[AlertEvent]]:
    """Raise an event for each new breach and clear the open ones that recovered."""
    raised, cleared = [], []
    open_events = {e.subject: e for e in rule.events.filter(cleared_at__isnull=True)}
    for reading in readings:
        event = open_events.get(reading.subject)
        if reading.breached and event is None:
            try:
                with transaction.atomic():
                    raised.append(
                        AlertEvent.objects.create(
                            rule=rule,
                            workspace_id=rule.workspace_id,
                            queue_id=rule.queue_id,
                            subject=reading.subject,
                            value=reading.value,
                            threshold=rule.threshold,
                            message=reading.message,
                            raised_at=now,
                        )
                    )
            except IntegrityError:
                continue  # another run raised it first
        elif not reading.breached and event is not None:
            AlertEvent.objects.filter(pk=event.pk, cleared_at__isnull=True).update(
                cleared_at=now, cleared_value=reading.value
            )
            cleared.append(event)
    return raised, cleared


def check_rule(rule: AlertRule, now: datetime | None = None) -> tuple[list, list]:
    now = now or timezone.now()
    readings = evaluate(rule, now)
    if readings is None:
        return [], []
    raised, cleared = apply_readings(rule, readings, now)
    for event in raised:
        transaction.on_commit(lambda pk=event.pk: notify(pk))
    return raised, cleared


def check_alerts(now: datetime | None = None) -> dict[str, int]:
    """Evaluate every active rule; returns how many events were raised and cleared."""
    now = now or timezone.now()
    totals = {"rules": 0, "raised": 0, "cleared": 0}
    rules = AlertRule.objects.filter(active=True).select_related(
        "queue__rubric_version", "workspace"
    )
    for rule in rules:
        raised, cleared = check_rule(rule, now)
        totals["rules"] += 1
        totals["raised"] += len(raised)
        totals["cleared"] += len(cleared)
    return totals


# --- Notifications --------------------------------------------------------------------


def notify(event_id: int) -> None:
    """Send an event by e-mail and webhook, as its rule asks; records the outcome once."""
    event = AlertEvent.objects.select_related("rule", "queue").filter(pk=event_id).first()
    if event is None or event.notified_at is not None:
        return
    errors = []
    rule = event.rule
    if rule.email_list:
        try:
            send_mail(
                f"[Quorum] Alert: {event.queue.name}",
                event.message,
                settings.DEFAULT_FROM_EMAIL,
                rule.email_list,
            )
        except Exception as exc:  # noqa: BLE001 - any mail failure is recorded, not raised
            errors.append(f"e-mail: {exc}")
    if rule.webhook_url:
        try:
            post_webhook(rule.webhook_url, payload(event))
        except (UnsafeURL, OSError, ValueError, httpx2.HTTPError) as exc:
            errors.append(f"webhook: {exc}")
    AlertEvent.objects.filter(pk=event.pk).update(
        notified_at=timezone.now(), notify_error="\n".join(errors)
    )
    if errors:
        log.warning("alert %s notification problems: %s", event.pk, errors)


def payload(event: AlertEvent) -> dict:
    return {
        "alert": event.rule.kind,
        "queue": {"id": event.queue_id, "name": event.queue.name},
        "subject": event.subject,
        "value": event.value,
        "threshold": event.threshold,
        "message": event.message,
        "raised_at": event.raised_at.isoformat(),
    }


class WebhookFailed(ValueError):
    """The webhook answered with a redirect or an error status."""


def post_webhook(url: str, body: dict) -> int:
    """POST ``body`` as JSON to ``url``: the address is checked, and checked again and pinned
    on connecting; a redirect or an error status raises WebhookFailed."""
    allow_private = getattr(settings, "QUORUM_WEBHOOK_ALLOW_PRIVATE", False)
    safe = check_outbound_url(url, allow_private=allow_private)
    with pinned_client(allow_private=allow_private, timeout=WEBHOOK_TIMEOUT) as client:
        response = client.post(safe, json=body, headers={"User-Agent": "Quorum alerts"})
    if response.is_redirect:
        raise WebhookFailed(redirect_message(response, "the webhook"))
    if response.status_code >= 400:
        raise WebhookFailed(f"the webhook answered {response.status_code}")
    return response.status_code


def open_events(workspace_id: int) -> list[AlertEvent]:
    return list(
        AlertEvent.objects.filter(workspace_id=workspace_id, cleared_at__isnull=True)
        .select_related("queue", "rule")
        .order_by("-raised_at")
    )
