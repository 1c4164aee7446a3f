"""The ``agreement`` management command on long-format CSV files."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

GOOD = """item,rater,value,criterion,level
1,ann,3,clarity,ordinal
1,bob,3,clarity,ordinal
2,ann,4,clarity,ordinal
2,bob,5,clarity,ordinal
3,ann,1,clarity,ordinal
3,bob,2,clarity,ordinal
3,cat,1,clarity,ordinal
1,ann,pass,safe,nominal
1,bob,pass,safe,nominal
2,ann,fail,safe,nominal
2,bob,pass,safe,nominal
3,ann,fail,safe,nominal
3,cat,fail,safe,nominal
"""


def run(path, *args) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("agreement", str(path), "--resamples", "50", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_it_prints_every_coefficient_per_criterion_as_json(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(GOOD)
    result, err = run(path)
    assert err == ""
    assert set(result["criteria"]) == {"clarity", "safe"}
    clarity = result["criteria"]["clarity"]
    assert clarity["level"] == "ordinal"
    assert set(clarity["coefficients"]) == {
        "krippendorff_alpha",
        "fleiss_kappa",
        "gwet_ac1",
        "percent_agreement",
        "cohen_kappa_mean",
    }
    assert clarity["n_items"] == 3 and clarity["n_raters"] == 3
    assert "kappa_quadratic" in clarity["cohen_pairs"][0]
    assert result["criteria"]["safe"]["level"] == "nominal"


def test_without_criterion_and_level_columns_it_uses_the_level_option(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("item,rater,value\na,x,1\na,y,2\nb,x,3\nb,y,3\nc,x,5\nc,y,4\n")
    result, _ = run(path, "--level", "interval")
    assert list(result["criteria"]) == ["all"]
    assert result["criteria"]["all"]["level"] == "interval"
    assert result["criteria"]["all"]["coefficients"]["krippendorff_alpha"]["value"] > 0.5


def test_bad_rows_get_clear_per_row_errors_and_the_rest_is_analysed(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        GOOD
        + "4,ann,high,clarity,ordinal\n"  # line 15: not a number
        + ",bob,3,clarity,ordinal\n"  # line 16: no item
        + "1,ann,2,clarity,ordinal\n"  # line 17: duplicate of line 2
        + "5,dan,3,clarity,fuzzy\n"  # line 18: unknown level
        + "5,dan,3,clarity,interval\n"  # line 19: conflicting level
        + "5,eve,3,clarity,ordinal,extra\n"  # line 20: too many fields
        + "6,,3,clarity,ordinal\n"  # line 21: no rater
    )
    result, err = run(path)
    lines = {error["line"]: error["error"] for error in result["errors"]}
    assert lines[15] == "value 'high' is not a number, and level 'ordinal' needs numbers."
    assert lines[16] == "the item is empty."
    assert lines[17] == "rater 'ann' already rated item '1' on line 2."
    assert "unknown level 'fuzzy'" in lines[18]
    assert "conflicts with 'ordinal' on line 2" in lines[19]
    assert "has 6 fields; the header has 5" in lines[20]
    assert lines[21] == "the rater is empty."
    assert "line 15: value 'high' is not a number" in err
    assert result["rows"] == 20 and result["rows_used"] == 13
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    clean, _ = run(good)
    assert result["criteria"] == clean["criteria"]


def test_strict_mode_fails_on_any_bad_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(GOOD + "4,ann,high,clarity,ordinal\n")
    with pytest.raises(CommandError, match="1 bad row"):
        run(path, "--strict")


def test_a_file_without_the_required_columns_is_rejected(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("unit,coder,label\n1,a,x\n")
    with pytest.raises(CommandError, match="Missing column\\(s\\): item, rater, value"):
        run(path)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "nope.csv")
