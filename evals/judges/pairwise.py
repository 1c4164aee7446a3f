"""The judge on pairwise items: two outputs for one input, seen in both orders.

Answers have the shape pairwise judgments have: ``preference`` ("a", "b", "tie",
"both_bad") about the item's outputs (never screen positions), ``criteria`` with one
"a"/"b"/"tie" per criterion flagged ``pairwise_preference``, and a ``rationale``.

The judge is asked twice, output A shown first, then output B shown first; the second
answer is mapped back to the outputs. A preference that flips with the order is
``inconsistent``: recorded as a tie by default (``inconsistency="tie"``) or with no
preference (``"fail"``), and counted on the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from annotate.models import Criterion
from evals.judges.judge import (
    FAILED,
    INCONSISTENT,
    OK,
    Caller,
    JudgeConfig,
    Outcome,
    Subject,
    judge_messages,
)

PREFERENCES = {
    "a": "Response A is better",
    "b": "Response B is better",
    "tie": "They are equally good",
    "both_bad": "Both are unacceptable",
}
CRITERION_PREFERENCES = ("a", "b", "tie")
SWAP = {"a": "b", "b": "a"}
SCHEMA_NAME = "pairwise_answer"
RATIONALE_LIMIT = 5000


def preference_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    return [c for c in criteria if c.pairwise_preference]


def describe_pair(criteria: Sequence[Criterion]) -> str:
    lines = ['### "preference": which response is better overall', "Answer one string:"]
    lines += [f'- "{value}": {text}' for value, text in PREFERENCES.items()]
    for criterion in preference_criteria(criteria):
        lines += ["", f'### "criteria" → "{criterion.key}": {criterion.name}']
        if criterion.help_text:
            lines.append(criterion.help_text.strip())
        for choice in criterion.choices():
            if choice.get("description"):
                lines.append(f"- {choice.get('label') or choice['value']}: {choice['description']}")
        lines.append('Which response is better on this: "a", "b" or "tie".')
    lines += ["", '### "rationale": why, in one or two sentences.']
    return "\n".join(lines)


def pair_schema(criteria: Sequence[Criterion]) -> dict[str, Any]:
    keys = [c.key for c in preference_criteria(criteria)]
    schema = {
        "type": "object",
        "properties": {
            "preference": {"type": "string", "enum": list(PREFERENCES)},
            "criteria": {
                "type": "object",
                "properties": {
                    key: {"type": "string", "enum": list(CRITERION_PREFERENCES)} for key in keys
                },
                "required": keys,
                "additionalProperties": False,
            },
            "rationale": {"type": "string", "maxLength": RATIONALE_LIMIT},
        },
        "required": ["preference", "criteria", "rationale"],
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": schema},
    }


def build_pair_messages(
    config: JudgeConfig, instructions: str, criteria: Sequence[Criterion], subject: Subject
) -> list[dict[str, str]]:
    """The exact messages for one order: ``subject.output`` is shown as Response A."""
    system = config.system_template.format(
        instructions=instructions.strip(), criteria=describe_pair(criteria)
    )
    user = config.pairwise_user_template.format(
        input=subject.input, output_a=subject.output, output_b=subject.output_b
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_pair_answer(
    text: str, criteria: Sequence[Criterion]
) -> tuple[dict[str, Any] | None, str]:
    try:
        data = json.loads(text.strip())
    except json.JSONDecodeError as exc:
        return None, f"The answer is not valid JSON ({exc.msg} at character {exc.pos})."
    if not isinstance(data, dict):
        return None, "The answer is JSON but not an object."
    problems = []
    preference = data.get("preference")
    if preference not in PREFERENCES:
        problems.append("preference: choose one of " + ", ".join(PREFERENCES) + ".")
    given = data.get("criteria") or {}
    if not isinstance(given, dict):
        given, problems = {}, [*problems, "criteria: expected an object."]
    wanted = {c.key: c for c in preference_criteria(criteria)}
    per_criterion = {}
    for key, criterion in wanted.items():
        value = given.get(key)
        if value is None and not criterion.required:
            continue
        if value not in CRITERION_PREFERENCES:
            problems.append(f"criteria.{key}: choose a, b or tie.")
        else:
            per_criterion[key] = value
    unknown = sorted(set(given) - set(wanted))
    if unknown:
        problems.append("Unknown criteria: " + ", ".join(unknown) + ".")
    rationale = data.get("rationale") or ""
    if not isinstance(rationale, str):
        problems.append("rationale: expected text.")
    if problems:
        return None, "The answer does not fit the pairwise form: " + " ".join(problems)
    return {
        "preference": preference,
        "criteria": per_criterion,
        "rationale": rationale.strip()[:RATIONALE_LIMIT],
    }, ""


def swap_back(answers: dict[str, Any]) -> dict[str, Any]:
    """An answer given with output B shown first, in terms of the outputs."""
    return {
        **answers,
        "preference": SWAP.get(answers["preference"], answers["preference"]),
        "criteria": {k: SWAP.get(v, v) for k, v in answers["criteria"].items()},
    }


def _ask(caller: Caller, instructions: str, criteria, subject: Subject) -> Outcome:
    return judge_messages(
        caller,
        build_pair_messages(caller.config, instructions, criteria, subject),
        pair_schema(criteria),
        lambda text: parse_pair_answer(text, criteria),
    )


def judge_pair(
    caller: Caller,
    instructions: str,
    criteria: Sequence[Criterion],
    subject: Subject,
    *,
    inconsistency: str = "tie",
) -> Outcome:
    """Judge a pair in both orders and reconcile the two answers."""
    first = _ask(caller, instructions, criteria, subject)
    if first.status != OK:
        return first
    swapped = Subject(subject.input, subject.output_b, subject.output, subject.model)
    second = _ask(caller, instructions, criteria, swapped)
    combined = Outcome(status=OK)
    combined.add_usage(first)
    combined.add_usage(second)
    combined.raw_text = json.dumps({"a_first": first.raw_text, "b_first": second.raw_text})
    if second.status != OK:
        combined.status, combined.reason, combined.fatal = FAILED, second.reason, second.fatal
        return combined
    one, two = first.answers, swap_back(second.answers)
    combined.answers = {
        **one,
        "criteria": {
            key: (value if two["criteria"].get(key) == value else "tie")
            for key, value in one["criteria"].items()
        },
        "b_first_preference": two["preference"],
    }
    if one["preference"] == two["preference"]:
        return combined
    combined.status = INCONSISTENT
    combined.reason = (
        f"The choice flipped with the order: {one['preference']!r} with A shown first, "
        f"{two['preference']!r} with B shown first."
    )
    if inconsistency == "tie":
        combined.answers["preference"] = "tie"
    else:
        combined.answers.pop("preference")
    return combined
