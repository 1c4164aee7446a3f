"""The demo workspace's production logs, written for the demo and generated from a seed.

Pure Python, no Django: ``generate_logs(seed)`` returns the same list of plain dicts
for the same seed. Each log is a patient's message to a patient-portal assistant and
the assistant's answer, from one of two model versions. Scenarios are templates
combined with seeded random choices (drug, age, lab value, locale wording), and a
share of answers are deliberately flawed the way real ones are (a missed red flag,
a wrong dose, a brush-off), so that graders have something to disagree about.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from evals.demo.content import care, medicine
from evals.demo.content.wording import LOCALE_WEIGHTS, LOCALES, Locale, Scenario, pick

MODEL_NAME = "patient-assistant"
OLD_VERSION = "2026.09-v1.4"
NEW_VERSION = "2026.10-v2.0"
DEFAULT_SEED = 20261001
DEFAULT_COUNT = 300
START = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
ROLLOUT_START = START + timedelta(days=30)  # both versions serve traffic from here
ROLLOUT_END = START + timedelta(days=45)  # only the new version after this
END = START + timedelta(days=75)

SYSTEM_PROMPT = (
    "You are the patient-message assistant of a primary care practice. Answer patients' "
    "questions in plain language, at a reading age of about 12. You are not a doctor and "
    "must not diagnose. Always tell the patient when to seek urgent care, and when a "
    "question needs their own clinician. Never change a prescribed dose."
)

SCENARIOS: list[tuple[Callable[..., Scenario], int, bool]] = [
    # (builder, weight, can be flawed)
    (medicine.missed_dose, 8, True),
    (medicine.interaction, 7, True),
    (medicine.side_effect, 7, True),
    (medicine.refill, 5, False),
    (medicine.antibiotics_alcohol, 4, True),
    (medicine.headache, 7, True),
    (medicine.chest_pain, 3, True),
    (medicine.fever_cough, 6, False),
    (medicine.rash, 4, True),
    (medicine.uti, 4, False),
    (medicine.appointment, 9, False),
    (medicine.lab_results, 10, True),
    (care.vaccine, 7, True),
    (care.blood_pressure, 5, True),
    (care.diabetes, 4, True),
    (care.asthma, 4, True),
    (care.sleep_anxiety, 5, False),
    (care.low_mood, 4, True),
    (care.infant_fever, 4, True),
    (care.child_dose, 3, True),
    (care.child_ear, 3, False),
    (care.pregnancy, 3, True),
    (care.wound_care, 3, True),
]

THUMBS_DOWN_COMMENTS = [
    "This didn't answer my question.",
    "Too generic, I wanted to know about MY result.",
    "My pharmacist told me the opposite.",
    "Felt like a brush-off.",
    "Way too long, I just wanted a yes or no.",
    "I wanted to speak to a real person.",
    "",
    "",
]
THUMBS_UP_COMMENTS = ["Helpful, thank you", "Clear and quick", "", "", "Exactly what I needed"]


def _timestamp_and_version(r: random.Random) -> tuple[datetime, str]:
    seconds = int((END - START).total_seconds())
    ts = START + timedelta(seconds=r.randrange(seconds))
    if ts < ROLLOUT_START:
        return ts, OLD_VERSION
    if ts < ROLLOUT_END:
        return ts, (OLD_VERSION if r.random() < 0.5 else NEW_VERSION)
    return ts, NEW_VERSION


def _messages(r: random.Random, question: str, loc: Locale) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    if r.random() < 0.4:
        messages += [
            {"role": "user", "content": pick(r, ["hi", "Hello?", "Hi, can I ask something?"])},
            {
                "role": "assistant",
                "content": "Hello! I'm the practice's message assistant. How can I help?",
            },
        ]
    messages.append({"role": "user", "content": question})
    return messages


def _feedback(r: random.Random, ts: datetime, flawed: bool, new: bool) -> dict[str, Any]:
    down = 0.4 if flawed else (0.05 if new else 0.1)
    roll = r.random()
    when = (ts + timedelta(minutes=r.randint(1, 240))).isoformat()
    if roll < down:
        return {"rating": "down", "comment": pick(r, THUMBS_DOWN_COMMENTS), "at": when}
    if roll < down + 0.18:
        return {"rating": "up", "comment": pick(r, THUMBS_UP_COMMENTS), "at": when}
    return {}


def generate_logs(seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT) -> list[dict[str, Any]]:
    """``count`` production-style logs as dicts of ``evals.Log`` fields, in timestamp order."""
    r = random.Random(seed)
    builders = [b for b, _w, _f in SCENARIOS]
    weights = [w for _b, w, _f in SCENARIOS]
    flawable = {b: f for b, _w, f in SCENARIOS}
    rows = []
    for n in range(count):
        ts, version = _timestamp_and_version(r)
        new = version == NEW_VERSION
        loc = r.choices(LOCALES, LOCALE_WEIGHTS)[0]
        builder = r.choices(builders, weights)[0]
        flawed = flawable[builder] and r.random() < (0.08 if new else 0.25)
        scenario = builder(r, loc, new, flawed)
        chat = r.random() < 0.35
        channel = "portal-chat" if chat else "portal-inbox"
        messages = _messages(r, scenario.question, loc) if chat else []
        prompt_chars = sum(len(m["content"]) for m in messages) or len(scenario.question)
        tokens_in = prompt_chars // 4 + (0 if chat else len(SYSTEM_PROMPT) // 4)
        tokens_out = max(12, len(scenario.answer) // 4)
        feedback = _feedback(r, ts, scenario.flawed, new)
        rows.append(
            {
                "external_id": f"pm-{n + 1:04d}",
                "timestamp": ts,
                "model_name": MODEL_NAME,
                "model_version": version,
                "input_text": "" if chat else scenario.question,
                "input_messages": messages,
                "output": scenario.answer,
                "metadata": {
                    "topic": scenario.topic,
                    "locale": loc.code,
                    "channel": channel,
                    "age_band": scenario.age_band,
                },
                "feedback": feedback,
                "feedback_negative": feedback.get("rating") == "down",
                "latency_ms": 400 + tokens_out * r.randint(18, 35) + r.randint(0, 600),
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "trace_id": f"{r.getrandbits(64):016x}",
                "source": channel,
            }
        )
    rows.sort(key=lambda row: (row["timestamp"], row["external_id"]))
    return rows
