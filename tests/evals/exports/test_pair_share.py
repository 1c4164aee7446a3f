"""``pair_share`` counts equal answers by value; it must give what comparing every pair gives."""

from hypothesis import given
from hypothesis import strategies as st

from evals.exports.shapes import pair_share, pair_share_by_pairs

# JSON answers: numbers that equal each other across int/float/bool, text, null, and the
# unhashable lists and objects that take the pair-by-pair way.
SCALARS = st.one_of(
    st.sampled_from([0, 1, 2, 1.0, 2.0, 0.0, True, False, 2.5, "1", "yes", "", None]),
    st.integers(-3, 3),
    st.text(max_size=2),
)
ANSWERS = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=2),
    st.dictionaries(st.text(max_size=1), SCALARS, max_size=2),
)


@given(st.lists(SCALARS, max_size=9))
def test_counting_by_value_equals_comparing_every_pair(values):
    assert pair_share(values) == pair_share_by_pairs(values)


@given(st.lists(ANSWERS, max_size=6))
def test_unhashable_answers_give_the_same_share(values):
    assert pair_share(values) == pair_share_by_pairs(values)


def test_known_shares():
    assert pair_share([]) is None
    assert pair_share([4]) is None
    assert pair_share([4, 4.0, True, 1]) == 2 / 6  # 4 == 4.0, True == 1
    assert pair_share(["a", "a", "a"]) == 1.0
    assert pair_share([[1], [1], {"a": 1}]) == 1 / 3
