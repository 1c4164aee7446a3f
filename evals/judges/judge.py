"""An LLM judge: build the prompt from a rubric version, call an OpenAI-compatible
endpoint with a JSON schema for the answer, validate it like a reviewer's, retry.

Nothing here touches the database: a run (``evals.judges.runs``) loads the rubric and
the items, calls ``judge_item`` or ``judge_pair`` from worker threads, and writes the
outcomes. An answer that never validates ends as ``failed`` with the reason and the
raw text, never with a default score.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import openai
from django.conf import settings

from annotate.judging import UNKNOWN, validate_answers
from annotate.models import Criterion, CriterionKind
from evals.judges.outbound import pinned_client, redirect_message
from evals.judges.urlcheck import UnsafeURL

SYSTEM_FIELDS = {"instructions", "criteria"}
USER_FIELDS = {"input", "output", "model"}
PAIRWISE_FIELDS = {"input", "output_a", "output_b"}
SCHEMA_NAME = "rubric_answers"


class TemplateError(ValueError):
    """A prompt template refers to an unknown field or is not a valid format string."""


class JudgeFault(Exception):
    """The endpoint could not give an answer. ``fatal`` faults stop the whole run."""

    def __init__(self, kind: str, message: str, *, fatal: bool = False, requests: int = 0):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.fatal = fatal
        self.requests = requests


# --- Configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeConfig:
    """What a judge call needs. The API key is kept out of repr and out of the hash."""

    base_url: str
    model: str
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout_seconds: float = 60.0
    system_template: str = ""
    user_template: str = ""
    pairwise_user_template: str = ""
    invalid_answer_retries: int = 2
    price_input_per_mtok: Decimal = Decimal(0)
    price_output_per_mtok: Decimal = Decimal(0)
    allow_private_network: bool = False
    api_key: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_endpoint(cls, endpoint: Any, api_key: str = "") -> JudgeConfig:
        return cls(
            base_url=endpoint.base_url,
            model=endpoint.model,
            temperature=endpoint.temperature,
            max_tokens=endpoint.max_tokens,
            timeout_seconds=endpoint.timeout_seconds,
            system_template=endpoint.system_template,
            user_template=endpoint.user_template,
            pairwise_user_template=endpoint.pairwise_user_template,
            invalid_answer_retries=endpoint.invalid_answer_retries,
            price_input_per_mtok=Decimal(endpoint.price_input_per_mtok),
            price_output_per_mtok=Decimal(endpoint.price_output_per_mtok),
            allow_private_network=endpoint.allow_private_network,
            api_key=api_key,
        )

    def cost(self, tokens_in: int, tokens_out: int) -> Decimal:
        total = tokens_in * self.price_input_per_mtok + tokens_out * self.price_output_per_mtok
        return (total / Decimal(1_000_000)).quantize(Decimal("0.000001"))


def config_hash(
    config: JudgeConfig, rubric_version_id: int, *, pairwise: bool, inconsistency: str
) -> str:
    """Everything that changes the judge's answer; not the key, limits, prices or timeout."""
    payload = {
        "base_url": config.base_url.rstrip("/"),
        "model": config.model,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "system": config.system_template,
        "user": config.pairwise_user_template if pairwise else config.user_template,
        "rubric_version": rubric_version_id,
        "pairwise": pairwise,
        "inconsistency": inconsistency if pairwise else "",
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def check_template(text: str, allowed: set[str]) -> str:
    """Raise TemplateError unless ``text`` is a format string using only ``allowed`` fields."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise TemplateError(
            f"The template is not valid: {exc}. Write a literal brace as {{{{ or }}}}."
        ) from None
    unknown = sorted(n for n in names if n not in allowed)
    if unknown:
        raise TemplateError(
            "Unknown fields: "
            + ", ".join("{" + n + "}" for n in unknown)
            + ". Use "
            + ", ".join("{" + n + "}" for n in sorted(allowed))
            + "."
        )
    return text


# --- Prompt -----------------------------------------------------------------------------


def _pass_fail_choices() -> list[dict]:
    return [
        {"value": "pass", "label": "Pass", "description": ""},
        {"value": "fail", "label": "Fail", "description": ""},
    ]


def describe_criterion(criterion: Criterion) -> str:
    """One criterion as the judge reads it: key, name, help, and what each value means."""
    head = f'### "{criterion.key}": {criterion.name}'
    if not criterion.required:
        head += " (optional: null when it does not apply)"
    lines = [head]
    if criterion.help_text:
        lines.append(criterion.help_text.strip())
    kind = criterion.kind
    if kind in (CriterionKind.LIKERT, CriterionKind.CATEGORICAL, CriterionKind.PASS_FAIL):
        choices = _pass_fail_choices() if kind == CriterionKind.PASS_FAIL else criterion.choices()
        kind_text = "an integer" if kind == CriterionKind.LIKERT else "one string"
        lines.append(f"Answer with {kind_text}, one of:")
        for choice in choices:
            value = json.dumps(choice["value"])
            label = choice.get("label") or ""
            description = choice.get("description") or ""
            text = " — ".join(part for part in (label, description) if part and part != value)
            lines.append(f"- {value}: {text}" if text else f"- {value}")
    elif kind == CriterionKind.NUMERIC:
        low, high = criterion.config.get("min"), criterion.config.get("max")
        bounds = []
        if low is not None:
            bounds.append(f"at least {low}")
        if high is not None:
            bounds.append(f"at most {high}")
        step = criterion.config.get("step")
        if step:
            bounds.append(f"in steps of {step}")
        lines.append("Answer with a number" + (" " + ", ".join(bounds) if bounds else "") + ".")
    else:
        limit = criterion.config.get("max_length", 5000)
        lines.append(f"Answer with text of at most {limit} characters.")
    return "\n".join(lines)


def _value_schema(criterion: Criterion) -> dict[str, Any]:
    kind = criterion.kind
    if kind == CriterionKind.LIKERT:
        return {"type": "integer", "enum": [int(level["value"]) for level in criterion.levels]}
    if kind == CriterionKind.PASS_FAIL:
        return {"type": "string", "enum": ["pass", "fail"]}
    if kind == CriterionKind.CATEGORICAL:
        return {"type": "string", "enum": [str(o["value"]) for o in criterion.options]}
    if kind == CriterionKind.NUMERIC:
        schema: dict[str, Any] = {"type": "number"}
        if criterion.config.get("min") is not None:
            schema["minimum"] = criterion.config["min"]
        if criterion.config.get("max") is not None:
            schema["maximum"] = criterion.config["max"]
        return schema
    return {"type": "string", "maxLength": int(criterion.config.get("max_length", 5000))}


def answer_schema(criteria: Sequence[Criterion]) -> dict[str, Any]:
    """A JSON schema with one property per criterion (strict: every key present, nulls for
    optional criteria that do not apply, nothing else)."""
    properties: dict[str, Any] = {}
    for criterion in criteria:
        schema = _value_schema(criterion)
        if not criterion.required:
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema["description"] = criterion.name
        properties[criterion.key] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": [criterion.key for criterion in criteria],
        "additionalProperties": False,
    }


def response_format(criteria: Sequence[Criterion]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": answer_schema(criteria)},
    }


@dataclass(frozen=True)
class Subject:
    """What is judged: the input shown to the model and its output (two for pairwise)."""

    input: str
    output: str
    output_b: str = ""
    model: str = ""


def render_input(input_text: str, input_messages: Sequence[Mapping[str, Any]]) -> str:
    if input_messages:
        parts = []
        for message in input_messages:
            role = str(message.get("role", "user"))
            content = message.get("content", "")
            if not isinstance(content, str):
                content = json.dumps(content, ensure_ascii=False)
            parts.append(f"[{role}]\n{content}")
        return "\n\n".join(parts)
    return input_text


def build_messages(
    config: JudgeConfig, instructions: str, criteria: Sequence[Criterion], subject: Subject
) -> list[dict[str, str]]:
    """The exact chat messages sent to the judge for one output."""
    system = config.system_template.format(
        instructions=instructions.strip(),
        criteria="\n\n".join(describe_criterion(c) for c in criteria),
    )
    user = config.user_template.format(
        input=subject.input, output=subject.output, model=subject.model
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# --- Reading the answer -----------------------------------------------------------------


def parse_answer(text: str, criteria: Sequence[Criterion]) -> tuple[dict[str, Any] | None, str]:
    """(cleaned answers, "") if ``text`` is a valid answer, else (None, the reason)."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    if not stripped:
        return None, "The judge answered with empty text."
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        return None, f"The answer is not valid JSON ({exc.msg} at character {exc.pos})."
    if not isinstance(data, dict):
        return None, "The answer is JSON but not an object with one key per criterion."
    raw = {key: value for key, value in data.items() if value is not None}
    answers, errors = validate_answers(criteria, raw)
    if errors:
        details = "; ".join(
            (message if key == UNKNOWN else f"{key}: {message}") for key, message in errors.items()
        )
        return None, f"The answer does not fit the rubric: {details}"
    return answers, ""


# --- Calling the endpoint ---------------------------------------------------------------


class RateLimiter:
    """At most ``per_minute`` calls a minute across threads, evenly spaced."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = 60.0 / max(1, per_minute)
        self.clock = clock
        self.sleep = sleep
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        delay = start - now
        if delay > 0:
            self.sleep(delay)


@dataclass
class Reply:
    text: str
    refusal: str
    finish_reason: str
    tokens_in: int
    tokens_out: int
    requests: int


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when given."""
    cap = settings.QUORUM_JUDGE_BACKOFF_MAX
    if retry_after is not None:
        return min(cap, max(0.0, retry_after))
    base = settings.QUORUM_JUDGE_BACKOFF_BASE
    return random.uniform(0, min(cap, base * (2**attempt)))


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def redact(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` (and its long enough pieces) removed."""
    if not secret or not text:
        return text
    text = text.replace(secret, "[redacted]")
    if len(secret) >= 12:
        # Servers often echo a key partly ("sk-abc...wxyz"): drop its longer pieces too.
        size = 8
        for start in range(0, len(secret) - size + 1):
            text = text.replace(secret[start : start + size], "[redacted]")
    return text


class Caller:
    """One endpoint's chat completions, with transport retries, backoff and rate limit.

    Every connection goes to an address checked under the endpoint's network rules, and a
    redirect is an error (``evals.judges.outbound``).
    """

    def __init__(self, config: JudgeConfig, limiter: RateLimiter | None = None):
        self.config = config
        self.limiter = limiter
        self.http = pinned_client(
            allow_private=config.allow_private_network, timeout=config.timeout_seconds
        )
        self.client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "no-key",
            timeout=config.timeout_seconds,
            max_retries=0,
            http_client=self.http,
        )

    def close(self) -> None:
        self.client.close()
        self.http.close()

    def _detail(self, exc: openai.APIStatusError) -> str:
        message = getattr(exc, "message", "") or ""
        return redact(message, self.config.api_key)[:300]

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> Reply:
        """One chat completion. A failure that may pass is retried after a backoff; one
        that cannot, or the last retry's failure, raises JudgeFault."""
        retries = settings.QUORUM_JUDGE_TRANSPORT_RETRIES
        requests = 0
        last = ""
        for attempt in range(retries + 1):
            if self.limiter:
                self.limiter.wait()
            requests += 1
            try:
                completion = self._create(messages, schema)
            except (
                openai.RateLimitError,
                openai.InternalServerError,
                openai.APIConnectionError,
            ) as exc:
                last, retry_after = self._retry_reason(exc, attempt)
            except (openai.APIStatusError, UnsafeURL) as exc:
                raise self._fault(exc, requests) from None
            else:
                return _reply(completion, requests)
            if attempt < retries:
                time.sleep(backoff_delay(attempt, retry_after))
        raise JudgeFault(
            "transport", f"Gave up after {requests} requests: {last}", requests=requests
        )

    def _create(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> Any:
        """One request to the endpoint, asking for an answer in ``schema``."""
        return self.client.chat.completions.create(
            model=self.config.model,
            messages=messages,  # type: ignore[arg-type]
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
            response_format=schema,  # type: ignore[arg-type]
        )

    def _retry_reason(
        self,
        exc: openai.RateLimitError | openai.InternalServerError | openai.APIConnectionError,
        attempt: int,
    ) -> tuple[str, float | None]:
        """Why a request worth asking again failed, and the server's Retry-After if it sent one."""
        if isinstance(exc, openai.RateLimitError):
            return f"Rate limited (429) {attempt + 1} times in a row.", _retry_after(exc)
        if isinstance(exc, openai.InternalServerError):
            message = f"The endpoint failed ({exc.status_code}): {self._detail(exc)}"
            return message, _retry_after(exc)
        if isinstance(exc, openai.APITimeoutError):
            return f"No answer within {self.config.timeout_seconds:g} s (timed out).", None
        return "The connection failed or was dropped before an answer came.", None

    def _fault(self, exc: openai.APIStatusError | UnsafeURL, requests: int) -> JudgeFault:
        """The fault for a request asking again cannot fix. All but a bad request are
        fatal: they stop the run."""
        if isinstance(exc, UnsafeURL):
            return JudgeFault(
                "address", f"Refused to connect: {exc}", fatal=True, requests=requests
            )
        if isinstance(exc, openai.AuthenticationError):
            kind = "auth"
            message = f"The endpoint rejected the API key (401): {self._detail(exc)}"
        elif isinstance(exc, openai.PermissionDeniedError):
            kind = "forbidden"
            message = f"The endpoint refused access (403): {self._detail(exc)}"
        elif isinstance(exc, openai.NotFoundError):
            kind = "model_not_found"
            message = (
                f"Model {self.config.model!r} or the endpoint path was not found (404): "
                f"{self._detail(exc)}"
            )
        elif exc.response.is_redirect:
            kind = "redirect"
            message = redact(
                redirect_message(exc.response, "The judge endpoint"), self.config.api_key
            )
        else:
            return JudgeFault(
                "bad_request",
                f"The endpoint refused the request ({exc.status_code}): {self._detail(exc)}",
                requests=requests,
            )
        return JudgeFault(kind, message, fatal=True, requests=requests)


def _reply(completion: Any, requests: int) -> Reply:
    choice = completion.choices[0] if completion.choices else None
    message = choice.message if choice else None
    usage = completion.usage
    return Reply(
        text=(message.content or "") if message else "",
        refusal=(getattr(message, "refusal", None) or "") if message else "",
        finish_reason=(choice.finish_reason or "") if choice else "",
        tokens_in=(usage.prompt_tokens or 0) if usage else 0,
        tokens_out=(usage.completion_tokens or 0) if usage else 0,
        requests=requests,
    )


# --- Judging ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one subject: status ok / failed / inconsistent, and its cost."""

    status: str
    answers: dict[str, Any] = field(default_factory=dict)
    raw_text: str = ""
    reason: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    attempts: int = 0
    requests: int = 0
    fatal: bool = False

    def add_usage(self, other: Outcome) -> None:
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.attempts += other.attempts
        self.requests += other.requests


OK, FAILED, INCONSISTENT = "ok", "failed", "inconsistent"


Parser = Callable[[str], tuple[dict[str, Any] | None, str]]


def judge_messages(
    caller: Caller, messages: list[dict[str, str]], schema: dict[str, Any], parse: Parser
) -> Outcome:
    """Ask until the answer validates, at most 1 + ``invalid_answer_retries`` times."""
    outcome = Outcome(status=FAILED)
    for _ in range(caller.config.invalid_answer_retries + 1):
        outcome.attempts += 1
        try:
            reply = caller.complete(messages, schema)
        except JudgeFault as fault:
            outcome.requests += fault.requests
            outcome.reason = fault.message
            outcome.fatal = fault.fatal
            return outcome
        outcome.requests += reply.requests
        outcome.tokens_in += reply.tokens_in
        outcome.tokens_out += reply.tokens_out
        outcome.raw_text = reply.refusal or reply.text
        if reply.refusal:
            outcome.reason = f"The judge refused to answer: {reply.refusal[:300]}"
            continue
        answers, reason = parse(reply.text)
        if answers is not None:
            outcome.status, outcome.answers, outcome.reason = OK, answers, ""
            return outcome
        if reply.finish_reason == "length":
            reason = f"The answer was cut off at max tokens ({caller.config.max_tokens}). " + reason
        outcome.reason = reason
    outcome.reason = f"No valid answer after {outcome.attempts} attempts. {outcome.reason}"
    return outcome


def judge_item(
    caller: Caller, instructions: str, criteria: Sequence[Criterion], subject: Subject
) -> Outcome:
    """Judge one output on the rubric's criteria."""
    return judge_messages(
        caller,
        build_messages(caller.config, instructions, criteria, subject),
        response_format(criteria),
        lambda text: parse_answer(text, criteria),
    )
