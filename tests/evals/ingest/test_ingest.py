import gzip
import json

import pytest

from evals.ingest.pipeline import Parser, Reason, ingest_lines, iter_lines
from evals.ingest.uploads import ingest_file
from evals.models import Log
from tests.evals.conftest import log_line, numbered


def reasons_by_line(report) -> dict[int, str]:
    return {line: reason for line, reason, _ in report.errors}


def test_good_lines_are_stored_with_every_field(source):
    report = ingest_lines(source, numbered([log_line(1), log_line(2)]))
    assert (report.accepted, report.duplicate, report.rejected) == (2, 0, 0)
    log = Log.objects.get(external_id="log-1")
    assert log.workspace == source.workspace
    assert log.model_version == "v1"
    assert log.metadata["topic"] == "diet"
    assert log.latency_ms == 801 and log.tokens_out == 40
    assert log.input_text.startswith("Patient question 1")


def test_the_input_may_come_under_the_names_quorums_exports_use(source):
    messages = [{"role": "user", "content": "Can I take ibuprofen?"}]
    lines = [
        json.dumps(
            {"id": "m", "input_text": "", "input_messages": messages, "output": "No."}
        ).encode(),
        json.dumps(
            {"id": "t", "input_text": "Dose?", "input_messages": [], "output": "5 mg."}
        ).encode(),
    ]
    report = ingest_lines(source, numbered(lines))
    assert report.accepted == 2
    assert Log.objects.get(external_id="m").input_messages == messages
    assert Log.objects.get(external_id="t").input_text == "Dose?"


TRICKY = [
    "tab\there, newline\nthere, CR\rthere",
    "a backslash \\ and \\N and \\t spelled out",
    "quotes \" ' and commas, semicolons; pipes |",
    "unicode: é ñ 漢字 🙂 \u2028 \u00a0",
    "\\",
    "",
]


def test_every_character_of_every_field_is_stored_as_sent(source):
    lines = [
        log_line(
            n,
            input=text or "x",
            output=text + "!",
            model_version=text[:50],
            trace_id=text[:50],
            metadata={"note": text, "nested": {"list": [text, None, True, 1.5]}},
            feedback={"comment": text, "thumbs": "up"},
        )
        for n, text in enumerate(TRICKY)
    ]
    report = ingest_lines(source, numbered(lines))
    assert report.accepted == len(TRICKY)
    for n, text in enumerate(TRICKY):
        log = Log.objects.get(external_id=f"log-{n}")
        assert (log.input_text, log.output) == (text or "x", text + "!")
        assert log.model_version == text[:50] and log.trace_id == text[:50]
        assert log.metadata == {"note": text, "nested": {"list": [text, None, True, 1.5]}}
        assert log.feedback["comment"] == text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"external_id": "a", "output": "x",,}\n', Reason.INVALID_JSON),
        (b'{"external_id": "a", "output": "the answer is', Reason.TRUNCATED),
        (b'{"external_id": "a", "input": "hi"}\n', Reason.MISSING_OUTPUT),
        (b'{"external_id": "a", "output": 42}\n', Reason.WRONG_TYPE),
        (b'{"external_id": "a", "output": "ok", "metadata": [1]}\n', Reason.WRONG_TYPE),
        (b'{"external_id": "a", "output": "ok", "latency_ms": "fast"}\n', Reason.WRONG_TYPE),
        (b'{"external_id": "a", "output": "caf\xe9"}\n', Reason.INVALID_UTF8),
        (b'{"external_id": "a", "output": "a\x00b"}\n', Reason.NUL_BYTE),
        (b'{"external_id": "a", "output": "a\\u0000b"}\n', Reason.NUL_BYTE),
        (b'{"external_id": "a", "output": "ok", "metadata": {"k\\u0000": 1}}\n', Reason.NUL_BYTE),
        (b'{"external_id": "a", "output": "\\ud800"}\n', Reason.INVALID_JSON),
        (b"[1, 2, 3]\n", Reason.NOT_AN_OBJECT),
        (
            b'{"external_id": "a", "output": "ok", "metadata": {"score": NaN}}\n',
            Reason.INVALID_JSON,
        ),
        (
            b'{"external_id": "a", "output": "ok", "metadata": '
            + b"[" * 5000
            + b"]" * 5000
            + b"}\n",
            Reason.TOO_DEEP,
        ),  # fmt: skip
        (b'{"external_id": "a", "output": "ok", "timestamp": "yesterday"}\n', Reason.INVALID_VALUE),
    ],
)
def test_each_bad_line_kind_is_rejected_with_its_reason(source, raw, reason):
    report = ingest_lines(source, numbered([log_line(1), raw, log_line(3)]))
    assert reasons_by_line(report) == {2: reason}
    assert (report.accepted, report.rejected, report.lines_read) == (2, 1, 3)
    assert report.balanced


def test_a_field_over_the_size_limit_is_rejected(source, settings):
    settings.QUORUM_INGEST_MAX_FIELD_CHARS = 100
    report = ingest_lines(source, numbered([log_line(1, output="x" * 101), log_line(2)]))
    assert reasons_by_line(report) == {1: Reason.FIELD_TOO_LARGE}
    assert report.accepted == 1


def test_nesting_too_deep_is_rejected(source, settings):
    settings.QUORUM_INGEST_MAX_DEPTH = 5
    deep: dict = {"leaf": 1}
    for _ in range(6):
        deep = {"d": deep}
    report = ingest_lines(source, numbered([log_line(1, metadata=deep)]))
    assert reasons_by_line(report) == {1: Reason.TOO_DEEP}


def test_a_line_over_the_byte_limit_is_rejected_without_losing_the_next(source, settings):
    import io

    settings.QUORUM_INGEST_MAX_LINE_BYTES = 500
    body = log_line(1) + log_line(2, output="y" * 2000) + log_line(3)
    report = ingest_lines(source, iter_lines(io.BytesIO(body)))
    assert reasons_by_line(report) == {2: Reason.LINE_TOO_LARGE}
    assert report.accepted == 2 and report.balanced


def test_blank_lines_are_not_counted(source):
    report = ingest_lines(source, numbered([log_line(1), b"\n", b"   \n", log_line(2)]))
    assert report.lines_read == 2 and report.accepted == 2


def test_ingesting_the_same_lines_again_adds_nothing(source):
    lines = numbered([log_line(n) for n in range(10)])
    first = ingest_lines(source, lines)
    second = ingest_lines(source, lines)
    assert (first.accepted, first.duplicate) == (10, 0)
    assert (second.accepted, second.duplicate) == (0, 10)
    assert Log.objects.filter(source=source).count() == 10


def test_a_repeated_id_inside_one_input_is_a_duplicate(source):
    report = ingest_lines(source, numbered([log_line(1), log_line(1, output="changed")]))
    assert (report.accepted, report.duplicate) == (1, 1)
    assert Log.objects.get(external_id="log-1").output.startswith("Answer 1")


def test_the_same_id_in_another_source_is_a_different_log(source, workspace):
    from evals.models import Source

    other = Source.objects.create(workspace=workspace, name="other")
    ingest_lines(source, numbered([log_line(1)]))
    assert ingest_lines(other, numbered([log_line(1)])).accepted == 1


def test_openai_request_response_records_map_to_messages_and_output(source):
    record = {
        "request": {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are a careful nurse."},
                {"role": "user", "content": [{"type": "text", "text": "Is 39C a fever?"}]},
            ],
        },
        "response": {
            "id": "chatcmpl-123",
            "created": 1764000000,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"message": {"role": "assistant", "content": "Yes, 39C is a fever."}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7},
        },
    }
    report = ingest_lines(source, numbered([json.dumps(record).encode()]))
    assert report.accepted == 1
    log = Log.objects.get()
    assert log.external_id == "chatcmpl-123"
    assert log.input_messages[0] == {"role": "system", "content": "You are a careful nurse."}
    assert log.input_messages[1]["content"] == "Is 39C a fever?"
    assert log.output == "Yes, 39C is a fever."
    assert (log.tokens_in, log.tokens_out) == (12, 7)


def test_a_line_without_an_id_is_identified_by_its_content(source):
    line = b'{"input": "hi", "output": "hello"}\n'
    assert ingest_lines(source, numbered([line])).accepted == 1
    assert ingest_lines(source, numbered([line])).duplicate == 1


def test_thumbs_down_and_low_ratings_are_negative_feedback(source):
    ingest_lines(
        source,
        numbered(
            [
                log_line(1, feedback={"thumbs": "down"}),
                log_line(2, feedback={"rating": 1}),
                log_line(3, feedback={"rating": 5, "comment": "great"}),
            ]
        ),
    )
    negative = set(Log.objects.filter(feedback_negative=True).values_list("external_id", flat=True))
    assert negative == {"log-1", "log-2"}


def test_redaction_masks_personal_data_before_storing(source):
    source.redaction = {"emails": True, "phones": True, "dates_of_birth": True,
                        "record_patterns": [r"MRN\d{6}"]}  # fmt: skip
    source.save()
    text = "I am jo@example.com, DOB: 04/07/1961, MRN123456, call +44 20 7946 0958."
    ingest_lines(source, numbered([log_line(1, input=text)]), parser=Parser(source))
    log = Log.objects.get()
    assert log.redacted
    assert log.input_text == "I am [EMAIL], DOB: [DOB], [RECORD], call [PHONE]."


def test_redaction_masks_every_message_of_a_chat_log(source):
    source.redaction = {"emails": True, "phones": True}
    source.save()
    messages = [
        {"role": "system", "content": "You answer patients of clinic +44 20 7946 0958."},
        {"role": "user", "content": "I am jo@example.com. Is 39C a fever?"},
        {"role": "assistant", "content": "Yes. Email nurse@clinic.example if it lasts."},
        {"role": "user", "content": "Thanks, my number is 020 7946 0123."},
    ]
    line = log_line(1, input=None, messages=messages, output="Call 07700 900123 today.")
    report = ingest_lines(source, numbered([line]), parser=Parser(source))
    assert report.accepted == 1, report
    log = Log.objects.get()
    assert [m["content"] for m in log.input_messages] == [
        "You answer patients of clinic [PHONE].",
        "I am [EMAIL]. Is 39C a fever?",
        "Yes. Email [EMAIL] if it lasts.",
        "Thanks, my number is [PHONE].",
    ]
    assert [m["role"] for m in log.input_messages] == ["system", "user", "assistant", "user"]
    assert log.output == "Call [PHONE] today."
    assert "@" not in log.input_text and "7946" not in log.input_text


def _csv(tmp_path, text: str):
    path = tmp_path / "logs.csv"
    path.write_text(text)
    return path


def test_a_csv_file_is_ingested_with_its_column_mapping(source, workspace, tmp_path):
    path = _csv(
        tmp_path,
        "id,question,answer,topic\n"
        'c1,"Two\nlines",Rest,meds\n'
        "c2,Q,A,diet\n"
        "c3,Q,A,sleep,extra\n"
        "c4,Q,,diet\n",
    )
    mapping = {
        "id": "external_id",
        "question": "input",
        "answer": "output",
        "topic": "metadata.topic",
    }
    job = ingest_file(workspace, source, path, mapping=mapping)
    result = job.result
    assert (result["accepted"], result["rejected"], result["lines_read"]) == (2, 2, 4)
    assert {e[0]: e[1] for e in result["errors"]} == {
        5: Reason.UNKNOWN_COLUMN,
        6: Reason.MISSING_OUTPUT,
    }
    assert Log.objects.get(external_id="c1").input_text == "Two\nlines"
    assert Log.objects.get(external_id="c2").metadata == {"topic": "diet"}


def test_a_file_is_cut_into_chunks_and_the_counts_add_up(source, workspace, tmp_path, settings):
    settings.QUORUM_INGEST_CHUNK_LINES = 7
    lines = [log_line(n) for n in range(30)] + [b"not json\n"] + [log_line(n) for n in range(5)]
    path = tmp_path / "logs.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    plain = tmp_path / "logs.jsonl"
    plain.write_bytes(b"".join(lines))
    job = ingest_file(workspace, source, plain)
    assert job.status == "succeeded"
    assert job.ingest_chunks.count() == 6
    r = job.result
    assert (r["accepted"], r["duplicate"], r["rejected"], r["lines_read"]) == (30, 5, 1, 36)
    assert r["errors"] == [[31, Reason.INVALID_JSON, r["errors"][0][2]]]
    again = ingest_file(workspace, source, plain)
    assert (again.result["accepted"], again.result["duplicate"]) == (0, 35)
    assert Log.objects.count() == 30


def test_the_ingest_command_backfills_a_file_and_is_idempotent(source, workspace, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "backfill.jsonl"
    path.write_bytes(log_line(1) + log_line(2) + b"{\n")
    out = StringIO()
    call_command("ingest", str(path), workspace=workspace.slug, source=source.name, stdout=out)
    assert "3 lines read, 2 accepted, 0 duplicate, 1 rejected" in out.getvalue()
    assert "line 3: truncated" in out.getvalue()
    out = StringIO()
    call_command("ingest", str(path), workspace=workspace.slug, source=source.name, stdout=out)
    assert "0 accepted, 2 duplicate" in out.getvalue()
