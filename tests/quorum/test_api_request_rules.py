"""What every API request is held to: storable text (no NUL, no lone surrogate) in every
field and key at any depth, no unknown fields, strict types where a wrong one would be
read as something else, and an item's input given once. Each answers 422 naming the
field (400 for a body that is not JSON), and nothing of a refused request is stored."""

import io
import json
from urllib.parse import quote

import pytest
from django.core.cache import cache

from annotate.models import Item
from evals.models import Job, Log
from tests.annotate.pairwise_helpers import make_pairwise_queue
from tests.factories import make_queue

NUL = "a\u0000b"
SURROGATE = "\ud800"


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


def _post(client, url, body, auth):
    # json.dumps writes a lone surrogate as the escape "\ud800", as a client would send it.
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def _items(client, queue, items, auth):
    return _post(client, f"/api/v1/queues/{queue.pk}/items", {"items": items}, auth)


def _refused(response, *where: str) -> dict:
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    for part in where:
        assert part in error["message"]
    return error


@pytest.mark.parametrize(
    ("item", "where"),
    [
        ({"input_text": "Q", "output": NUL}, "items[1].output"),
        ({"input_text": NUL, "output": "A"}, "items[1].input_text"),
        ({"input": NUL, "output": "A"}, "items[1].input"),
        ({"input_messages": [{"role": "user", "content": NUL}], "output": "A"}, "content"),
        ({"input_text": "Q", "output": "A", "model_version": NUL}, "model_version"),
        ({"input_text": "Q", "output": "A", "metadata": {NUL: "x"}}, "metadata"),
        ({"input_text": "Q", "output": "A", "metadata": {"topic": NUL}}, "metadata"),
        ({"input_text": "Q", "output": "A", "metadata": {"a": [{"b": SURROGATE}]}}, "a[0]['b']"),
        ({"input_text": "Q", "output": "A", "metadata": {SURROGATE: 1}}, "lone surrogate"),
        ({"input_text": SURROGATE, "output": "A"}, "lone surrogate"),
    ],
)
def test_text_that_cannot_be_stored_is_422_naming_the_field(client, workspace, auth, item, where):
    queue = make_queue(workspace)
    good = {"input_text": "fine", "output": "fine"}
    error = _refused(_items(client, queue, [good, item], auth), where)
    assert "NUL" in error["message"] or "surrogate" in error["message"]
    assert not Item.objects.filter(queue=queue).exists()


def test_unknown_item_fields_are_422_naming_them(client, workspace, auth):
    queue = make_queue(workspace)
    response = _items(client, queue, [{"inptu": "Q", "input_text": "Q", "output": "A"}], auth)
    _refused(response, "items[0].inptu", "Extra inputs")
    response = _items(client, queue, [{"input_text": "Q", "output": "A"}], auth)
    assert response.status_code == 201
    response = _post(client, f"/api/v1/queues/{queue.pk}/items", {"items": [], "x": 1}, auth)
    _refused(response)
    assert Item.objects.filter(queue=queue).count() == 1


def test_the_log_formats_input_field_is_read_as_text_or_messages(client, workspace, auth):
    queue = make_queue(workspace)
    messages = [{"role": "user", "content": "Can I take ibuprofen?"}]
    response = _items(
        client,
        queue,
        [{"input": "What dose?", "output": "A"}, {"input": messages, "output": "B"}],
        auth,
    )
    assert response.status_code == 201
    text, chat = Item.objects.filter(queue=queue).order_by("pk")
    assert (text.input_text, text.input_messages) == ("What dose?", [])
    assert (chat.input_text, chat.input_messages) == ("", messages)


@pytest.mark.parametrize(
    "item",
    [
        {"output": "A"},
        {"input_text": "   ", "output": "A"},
        {"input": "", "output": "A"},
        {"input": [], "output": "A"},
        {"input_messages": [], "output": "A"},
    ],
)
def test_an_item_without_input_is_422(client, workspace, auth, item):
    queue = make_queue(workspace)
    _refused(_items(client, queue, [item], auth), "items[0]", "needs its input")
    assert not Item.objects.filter(queue=queue).exists()


def test_an_input_given_twice_is_422(client, workspace, auth):
    queue = make_queue(workspace)
    response = _items(client, queue, [{"input": "Q", "input_text": "Q2", "output": "A"}], auth)
    _refused(response, "input once", "input_text")


def test_a_message_with_an_unknown_field_is_422(client, workspace, auth):
    queue = make_queue(workspace)
    item = {"input_messages": [{"role": "user", "contnet": "Q"}], "output": "A"}
    error = _refused(_items(client, queue, [item], auth), "input_messages[0]")
    assert ["body", "payload", "items", 0, "input_messages", 0, "contnet"] in [
        e["loc"] for e in error["details"]
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"filters": {"model_versions": [NUL]}},
        {"filters": {"model_versions": [SURROGATE]}},
        {"keep_ties": 0},
        {"filters": {"adjudicated_only": "yes"}},
        {"filters": {"queue_ids": ["1"]}},
        {"filters": {"queue_ids": [2**64]}},
        {"filters": {"since": 0.5}},
        {"sft_threshold": "0.9"},
        {"filters": {"queue_id": [1]}},
    ],
)
def test_export_requests_with_bad_values_are_422(client, graded_queue, auth, body):
    _refused(_post(client, "/api/v1/exports", body, auth))
    assert not Job.objects.exists()


@pytest.mark.parametrize("since", ["0.5", "1700000000", "x"])
def test_since_must_be_an_iso_date_time(client, graded_queue, auth, since):
    _refused(client.get(f"/api/v1/judgments?since={since}", **auth), "since")
    ok = client.get("/api/v1/judgments?since=2026-01-01T00:00:00Z", **auth)
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("0123-07-22T12:06:27+16:36", 200),
        ("2026-01-01T09:00:00", 200),
        ("0001-01-01T00:00:00+01:00", 422),
    ],
)
def test_since_is_read_in_utc_whatever_its_offset(client, graded_queue, auth, since, expected):
    """PostgreSQL refuses offsets past 15:59, and year 1 minus an offset is no date at all."""
    response = client.get(f"/api/v1/judgments?since={quote(since)}", **auth)
    assert response.status_code == expected, response.content


def test_unknown_query_parameters_are_422(client, graded_queue, auth):
    _refused(client.get(f"/api/v1/judgments?queue={graded_queue.pk}", **auth), "parameter queue")
    _refused(client.get("/api/v1/queues?limt=5", **auth), "limt")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/judgments?cursor=a%00b",
        "/api/v1/logs/a%00b",
        "/api/v1/logs/x?source=a%00b",
        "/api/v1/exports/1/files/a%00b",
    ],
)
def test_nul_in_a_query_or_path_is_422(client, workspace, auth, url):
    _refused(client.get(url, **auth))


@pytest.mark.parametrize("url", ["/api/v1/queues/0", f"/api/v1/queues/{2**64}"])
def test_an_id_out_of_range_is_422_not_a_database_error(client, workspace, auth, url):
    _refused(client.get(url, **auth), "queue_id")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_body_with_nan_is_not_json(client, workspace, auth, constant):
    queue = make_queue(workspace)
    body = f'{{"items": [{{"input_text": "Q", "output": "A", "metadata": {{"x": {constant}}}}}]}}'
    response = client.post(
        f"/api/v1/queues/{queue.pk}/items", body, content_type="application/json", **auth
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert not Item.objects.filter(queue=queue).exists()


def test_an_import_with_an_unknown_form_field_is_422(client, workspace, auth):
    queue = make_queue(workspace)
    data = {"queue_id": queue.pk, "format": "csv", "fromat": "jsonl", "file": io.BytesIO(b"x")}
    response = client.post("/api/v1/imports", data, **auth)
    _refused(response, "unknown field 'fromat'")


def test_an_empty_import_file_is_400(client, workspace, auth):
    queue = make_queue(workspace)
    data = {"queue_id": queue.pk, "format": "jsonl", "file": io.BytesIO(b"")}
    response = client.post("/api/v1/imports", data, **auth)
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "bad_file", "message": "The file is empty."}


def test_a_misspelt_source_parameter_is_422_and_stores_nothing(client, workspace, auth):
    body = json.dumps([{"external_id": "x", "output": "A"}])
    response = client.post("/api/v1/logs?sourse=app", body, content_type="application/json", **auth)
    _refused(response, "Unknown query parameter sourse")
    assert not Log.objects.exists()


def test_a_pairwise_queue_takes_items_with_both_outputs(client, workspace, clinicians, auth):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians])
    pair = {"input": "Q", "output": "A", "model_version": "v1",
            "output_b": "B", "model_version_b": "v2"}  # fmt: skip
    response = _items(client, queue, [pair], auth)
    assert response.status_code == 201, response.content
    item = Item.objects.get(queue=queue)
    assert (item.output, item.output_b, item.model_version, item.model_version_b) == (
        "A",
        "B",
        "v1",
        "v2",
    )


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        ({"input": "Q", "output": "A"}, "needs output_b"),
        ({"input": "Q", "output": "A", "output_b": "   "}, "needs output_b"),
        ({"input": "Q", "output": "Same  text", "output_b": "Same text"}, "identical"),
    ],
)
def test_a_pairwise_item_without_two_different_outputs_is_refused_and_none_is_added(
    client, workspace, clinicians, auth, pair, says
):
    queue = make_pairwise_queue(workspace, cohorts=[clinicians])
    good = {"input": "Q", "output": "A", "output_b": "B"}
    response = _items(client, queue, [good, pair], auth)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "bad_items"
    assert [p["index"] for p in error["details"]] == [1]
    assert says in error["details"][0]["message"]
    assert not Item.objects.filter(queue=queue).exists()


def test_a_rubric_queue_refuses_a_second_output(client, workspace, clinicians, auth):
    queue = make_queue(workspace, cohorts=[clinicians])
    response = _items(client, queue, [{"input": "Q", "output": "A", "model_version_b": "v2"}], auth)
    assert response.status_code == 400
    assert "model_version_b" in response.json()["error"]["details"][0]["message"]
    assert not Item.objects.filter(queue=queue).exists()


def test_a_source_name_over_100_characters_is_refused_not_cut(client, workspace, auth):
    response = client.post(
        f"/api/v1/logs?source={'s' * 101}",
        '{"external_id": "a", "input": "Q", "output": "A"}\n',
        content_type="application/x-ndjson",
        **auth,
    )
    assert response.status_code == 422, response.content
    assert "source" in response.json()["error"]["message"]
    assert not Log.objects.exists()
