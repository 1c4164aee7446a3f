"""Locale wording and the phrases every scenario shares (greetings, openers, closers)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Locale:
    code: str
    pain_reliever: str
    doctor: str
    emergency: str
    ed: str
    urgent_line: str
    crisis_line: str
    glucose_unit: str
    cholesterol_unit: str
    ace_inhibitor: str


LOCALES = [
    Locale(
        "en-GB", "paracetamol", "GP", "999", "A&E", "NHS 111",
        "Samaritans on 116 123", "mmol/L", "mmol/L", "ramipril",
    ),
    Locale(
        "en-US", "acetaminophen (Tylenol)", "primary care provider", "911",
        "the emergency room", "our 24-hour nurse line",
        "the 988 Suicide & Crisis Lifeline (call or text 988)", "mg/dL", "mg/dL", "lisinopril",
    ),
    Locale(
        "en-IE", "paracetamol", "GP", "112 or 999", "the emergency department",
        "your GP out-of-hours service", "Samaritans on 116 123", "mmol/L", "mmol/L", "ramipril",
    ),
    Locale(
        "en-AU", "paracetamol", "GP", "000", "the emergency department", "healthdirect",
        "Lifeline on 13 11 14", "mmol/L", "mmol/L", "perindopril",
    ),
    Locale(
        "en-CA", "acetaminophen (Tylenol)", "family doctor", "911", "the emergency department",
        "Health Link 811", "the 988 crisis line (call or text 988)", "mmol/L", "mmol/L",
        "ramipril",
    ),
]  # fmt: skip
LOCALE_WEIGHTS = [35, 35, 10, 10, 10]


@dataclass
class Scenario:
    topic: str
    question: str
    answer: str
    flawed: bool = False
    age_band: str = "adult"


def us_style(loc: Locale) -> bool:
    return loc.code == "en-US"


def temperature(loc: Locale, celsius: str) -> str:
    if us_style(loc):
        return f"{float(celsius) * 9 / 5 + 32:.1f}°F"
    return f"{celsius}°C"


def pick(r: random.Random, options: list[Any]) -> Any:
    return options[r.randrange(len(options))]


def greeting(r: random.Random) -> str:
    return pick(r, ["Hi! ", "Hello. ", "Hi there. ", "Good morning. ", "", "", "Quick question. "])


def signoff(r: random.Random) -> str:
    return pick(r, ["", "", " Thanks", " Thank you!", " Thanks in advance.", " Many thanks."])


def opener(r: random.Random, new: bool) -> str:
    if new:
        return pick(
            r,
            [
                "Thanks for reaching out. ",
                "Thank you for your message. ",
                "That's a good question to ask. ",
                "I'm sorry you're dealing with this. ",
                "",
            ],
        )
    return pick(r, ["", "", "Thanks for your message. ", "Good question. "])


def closer(r: random.Random, loc: Locale, new: bool) -> str:
    if new:
        return pick(
            r,
            [
                f"\n\nI'm an automated assistant and can't examine you. If you're worried or "
                f"things get worse, contact {loc.urgent_line} or your {loc.doctor}.",
                f"\n\n*This is general information, not a diagnosis. Your {loc.doctor} can "
                "give advice for your situation.*",
                f"\n\nIf anything changes or you feel worse, please contact {loc.urgent_line}.",
            ],
        )
    return pick(r, ["", "\n\nLet us know if you have other questions.", " Hope this helps."])
