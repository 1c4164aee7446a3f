"""Log field values from one parsed record: Quorum's own fields or OpenAI request/response style.

``normalize`` maps a parsed object (a JSON line, or a CSV row already mapped to field
names) to the keyword arguments of a ``Log``, or raises ``Rejected`` with the first
problem it meets.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from evals.ingest.lines import Reason, Rejected


def _text(obj: dict, name: str, value: Any, *, blank: bool = True, limit: int = 200) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and name == "external_id":
        value = str(value)
    if not isinstance(value, str):
        raise Rejected(Reason.WRONG_TYPE, f"{name} must be a string, not {type(value).__name__}.")
    if len(value) > limit:
        raise Rejected(Reason.FIELD_TOO_LARGE, f"{name} is over {limit} characters.")
    return value


def _count(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(Reason.WRONG_TYPE, f"{name} must be a whole number.")
    if value < 0 or value > 2_000_000_000:
        raise Rejected(Reason.INVALID_VALUE, f"{name} is out of range.")
    return value


def _timestamp(value: Any) -> datetime:
    if value is None or value == "":
        return timezone.now()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or not 0 <= value < 10**11:
            raise Rejected(Reason.INVALID_VALUE, "timestamp is out of range.")
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise Rejected(Reason.WRONG_TYPE, "timestamp must be an ISO 8601 string or epoch seconds.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = parse_datetime(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        raise Rejected(Reason.INVALID_VALUE, f"timestamp {value[:40]!r} is not ISO 8601.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _content(value: Any) -> str:
    """A message's content: a string, or OpenAI content parts joined."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
            else:
                raise Rejected(Reason.WRONG_TYPE, "Message content parts must carry text.")
        return "\n".join(texts)
    raise Rejected(Reason.WRONG_TYPE, "Message content must be a string.")


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise Rejected(Reason.WRONG_TYPE, "messages must be a list.")
    out = []
    for message in value:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise Rejected(Reason.WRONG_TYPE, "Each message needs a role and content.")
        out.append({"role": message["role"], "content": _content(message.get("content"))})
    return out


def _openai_output(choices: Any) -> str | None:
    if choices is None:
        return None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Rejected(Reason.WRONG_TYPE, "choices must be a non-empty list of objects.")
    first = choices[0]
    if isinstance(first.get("message"), dict):
        return _content(first["message"].get("content"))
    if "text" in first:
        return _content(first["text"])
    raise Rejected(Reason.MISSING_OUTPUT, "choices[0] has no message content.")


def _feedback(value: Any) -> tuple[dict[str, Any], bool]:
    """End-user feedback as a dict, and whether it is negative."""
    if value is None or value == "" or value == {}:
        return {}, False
    if isinstance(value, str):
        value = {"thumbs": value}
    elif isinstance(value, bool):
        value = {"thumbs": "up" if value else "down"}
    elif isinstance(value, int | float):
        value = {"rating": value}
    if not isinstance(value, dict):
        raise Rejected(Reason.WRONG_TYPE, "feedback must be an object.")
    thumbs = str(value.get("thumbs", value.get("thumb", ""))).lower()
    rating = value.get("rating")
    if rating is not None and (not isinstance(rating, int | float) or isinstance(rating, bool)):
        raise Rejected(Reason.WRONG_TYPE, "feedback.rating must be a number.")
    scale = value.get("scale", 5)
    negative = thumbs in {"down", "-1", "negative", "false", "bad"} or (
        rating is not None and isinstance(scale, int | float) and rating <= scale * 0.4
    )
    return value, negative


def _external_id(obj: dict, raw_text: str) -> str:
    value = obj.get("external_id", obj.get("id"))
    if value is None and isinstance(obj.get("response"), dict):
        value = obj["response"].get("id")
    if value is None or value == "":
        # No id given: the content is the id, so re-sending the same line is a duplicate.
        return "sha256:" + hashlib.sha256(raw_text.strip().encode()).hexdigest()
    return _text(obj, "external_id", value, limit=200)


# Where the input may be: ours, common names, and the columns of Quorum's own exports.
INPUT_KEYS = ("input", "prompt", "messages", "input_messages", "input_text")


def _output(obj: dict, response: dict) -> str:
    """The output: ours or a completion, else the first of OpenAI's ``choices``."""
    output: Any = obj.get("output", obj.get("completion"))
    if output is None:
        output = _openai_output(obj.get("choices", response.get("choices")))
    if output is None:
        raise Rejected(Reason.MISSING_OUTPUT, "The line has no output.")
    if not isinstance(output, str):
        raise Rejected(Reason.WRONG_TYPE, "output must be a string.")
    return output


def _input(obj: dict, request: dict) -> tuple[str, list[dict[str, str]]]:
    """The input as (text, messages), one of them empty; a ``system_prompt`` makes it
    messages, the system message first."""
    raw_input = next((obj[key] for key in INPUT_KEYS if obj.get(key) not in (None, "", [])), None)
    if raw_input is None:
        raw_input = obj.get("input", request.get("messages"))
    if raw_input is None and "prompt" in request:
        raw_input = request["prompt"]
    input_text, input_messages = "", []
    if isinstance(raw_input, list):
        input_messages = _messages(raw_input)
    elif raw_input is not None:
        if not isinstance(raw_input, str):
            raise Rejected(Reason.WRONG_TYPE, "input must be a string or a list of messages.")
        input_text = raw_input
    system = obj.get("system_prompt")
    if isinstance(system, str) and system:
        if not input_messages:
            input_messages = [{"role": "user", "content": input_text}] if input_text else []
            input_text = ""
        input_messages.insert(0, {"role": "system", "content": system})
    return input_text, input_messages


def normalize(obj: Any, raw_text: str = "") -> dict[str, Any]:
    """Log field values from one parsed record (Quorum or OpenAI request/response style)."""
    if not isinstance(obj, dict):
        raise Rejected(Reason.NOT_AN_OBJECT, "Each line must be a JSON object.")
    request = obj.get("request") if isinstance(obj.get("request"), dict) else {}
    response = obj.get("response") if isinstance(obj.get("response"), dict) else {}
    output = _output(obj, response)
    input_text, input_messages = _input(obj, request)
    metadata = obj.get("metadata", {}) or {}
    if not isinstance(metadata, dict):
        raise Rejected(Reason.WRONG_TYPE, "metadata must be an object.")
    feedback, negative = _feedback(obj.get("feedback"))
    usage = obj.get("usage", response.get("usage")) or {}
    if not isinstance(usage, dict):
        raise Rejected(Reason.WRONG_TYPE, "usage must be an object.")
    model = obj.get("model", obj.get("model_name", response.get("model", request.get("model"))))
    version = obj.get("model_version", obj.get("prompt_variant", obj.get("version")))
    timestamp = obj.get("timestamp", obj.get("created", response.get("created")))

    return {
        "external_id": _external_id(obj, raw_text),
        "timestamp": _timestamp(timestamp),
        "model_name": _text(obj, "model", model),
        "model_version": _text(obj, "model_version", version),
        "input_text": input_text,
        "input_messages": input_messages,
        "output": output,
        "metadata": metadata,
        "feedback": feedback,
        "feedback_negative": negative,
        "latency_ms": _count("latency_ms", obj.get("latency_ms")),
        "tokens_in": _count(
            "tokens_in", obj.get("tokens_in", usage.get("prompt_tokens", usage.get("input_tokens")))
        ),
        "tokens_out": _count(
            "tokens_out",
            obj.get("tokens_out", usage.get("completion_tokens", usage.get("output_tokens"))),
        ),
        "trace_id": _text(obj, "trace_id", obj.get("trace_id", obj.get("session_id"))),
        "redacted": False,
    }
