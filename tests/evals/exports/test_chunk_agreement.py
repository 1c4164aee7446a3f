"""``ChunkAgreement`` counts the Parquet path's agreement from typed Arrow chunks; it
must give the floats that ``item_agreement`` gives item by item, summed in item order."""

from types import SimpleNamespace
from unittest import mock

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from evals.exports import agreement as export_agreement
from evals.exports.agreement import ChunkAgreement
from evals.exports.shapes import item_agreement

CRITERIA = [
    SimpleNamespace(key="accuracy", kind="likert", type=pa.int64(), values=st.integers(1, 3)),
    SimpleNamespace(
        key="minutes", kind="numeric", type=pa.float64(), values=st.sampled_from([0.0, -0.0, 2.5])
    ),
    SimpleNamespace(key="safe", kind="pass_fail", type=pa.bool_(), values=st.booleans()),
    SimpleNamespace(key="harm", kind="categorical", type=pa.string(), values=st.sampled_from("ab")),
]
# An answer may be missing (``None``): it does not count for its criterion.
JUDGMENT = st.tuples(*(st.one_of(st.none(), c.values) for c in CRITERIA))
ITEMS = st.lists(st.lists(JUDGMENT, min_size=1, max_size=5), max_size=8)


def expected(items) -> tuple[float, int]:
    total, counted = 0.0, 0
    for judgments in items:
        rows = [
            SimpleNamespace(
                answers={c.key: v for c, v in zip(CRITERIA, answers, strict=True) if v is not None}
            )
            for answers in judgments
        ]
        agreement = item_agreement(rows, CRITERIA)
        if agreement is not None:
            total += agreement
            counted += 1
    return total, counted


def table(rows) -> pa.Table:
    columns = {"item_id": pa.array([item for item, _ in rows], pa.int64())}
    for n, criterion in enumerate(CRITERIA):
        columns[f"answer_{criterion.key}"] = pa.array(
            [answers[n] for _, answers in rows], criterion.type
        )
    columns["comment"] = pa.array(["not counted"] * len(rows))
    return pa.table(columns)


@given(ITEMS, st.lists(st.integers(1, 6), max_size=10), st.booleans())
def test_chunks_give_the_row_paths_agreement(items, sizes, in_a_table):
    """Counted in a table of items x answers, or (many distinct answers) by sorting."""
    with mock.patch.object(export_agreement, "TABLE_CELLS", 1 << 22 if in_a_table else 0):
        counted = count_in_chunks(items, sizes)
    assert counted == expected(items)


def count_in_chunks(items, sizes) -> tuple[float, int]:
    rows = [(10 + n, answers) for n, judgments in enumerate(items) for answers in judgments]
    counter = ChunkAgreement([c.key for c in CRITERIA])
    start = 0
    for size in [*sizes, len(rows)]:  # chunks of any size split items anywhere
        counter.add(table(rows[start : start + size]))
        start += size
    return counter.finish()


def test_known_agreement():
    counter = ChunkAgreement(["accuracy"])
    counter.add(pa.table({"item_id": [1, 1, 1], "answer_accuracy": [4, 4, 2]}))
    counter.add(pa.table({"item_id": [1, 2, 2], "answer_accuracy": [2, 5, None]}))
    # item 1: 4, 4, 2, 2 -> 2 equal pairs of 6; item 2 has one answer: no agreement.
    assert counter.finish() == (round(2 / 6, 6), 1)


def test_no_agreement_criteria_count_nothing():
    counter = ChunkAgreement([])
    counter.add(pa.table({"item_id": [1, 1]}))
    assert counter.finish() == (0.0, 0)


@given(
    st.one_of(
        st.floats(0, 1),
        st.floats(-1e6, 1e6, allow_nan=False),
        st.floats(allow_nan=False),  # huge ones too (the product is no longer exact)
        # Half-way (or nearly) between two sixth decimals, where numpy's product rounds.
        st.integers(0, 10**6).map(lambda n: (n + 0.5) / 1e6),
        st.integers(0, 10**6).map(lambda n: (n + 0.5) / 1e6 + 1e-17),
        st.fractions(0, 1, max_denominator=1000).map(float),
    )
)
def test_round_6_is_pythons_round(value):
    assert export_agreement.round_6(np.array([value]))[0] == round(value, 6)


def test_round_6_on_every_half_way_value_of_a_range():
    values = (np.arange(0, 200_000) + 0.5) / 1e6
    assert export_agreement.round_6(values).tolist() == [round(v, 6) for v in values.tolist()]
