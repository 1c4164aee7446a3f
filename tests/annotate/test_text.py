"""The one text rule: no NUL, no lone surrogate; where the first problem is, at any depth."""

import pytest

from annotate.models import Cohort
from annotate.text import check_fields, nested_text_problem, replace_bad_text, text_problem


@pytest.mark.parametrize("good", ["", "plain", "émoji 😀 and CJK 漢字", "tab\tand\nnewline"])
def test_text_that_can_be_stored_has_no_problem(good):
    assert text_problem(good) is None


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("a\x00b", "contains a NUL character (\\u0000)"),
        ("x\ud800", "contains a lone surrogate (\\ud800), which is not valid Unicode"),
        ("\udfff", "contains a lone surrogate (\\udfff), which is not valid Unicode"),
    ],
)
def test_nul_and_lone_surrogates_are_problems(bad, problem):
    assert text_problem(bad) == problem


def test_the_first_problem_is_named_by_its_path_keys_included():
    value = {"a": ["ok", {"b": "x\x00"}], "c": "\ud800"}
    assert nested_text_problem(value, "metadata") == (
        "metadata['a'][1]['b']: contains a NUL character (\\u0000)"
    )
    assert nested_text_problem({"t\x00": 1}) == "a key 't\\x00' contains a NUL character (\\u0000)"
    assert nested_text_problem({"ok": [1, 2.5, None, True]}) is None


def test_replace_bad_text_keeps_the_rest():
    assert replace_bad_text("a\x00b\ud800c") == "a\ufffdb\ufffdc"


def test_check_fields_holds_text_to_the_models_max_length():
    assert check_fields(Cohort, name="n" * 100, description="") == {}
    assert check_fields(Cohort, name="n" * 101) == {
        "name": "Keep it to 100 characters (this is 101)."
    }
    assert check_fields(Cohort, description="a\x00") == {
        "description": "This text contains a NUL character (\\u0000)."
    }
