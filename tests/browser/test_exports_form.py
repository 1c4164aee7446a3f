"""The export form offers only the formats the chosen shape comes in."""

import pytest
from playwright.sync_api import expect

from tests.conftest import login


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_choosing_a_shape_offers_only_its_formats(page, live_server, workspace, engineer):
    login(page, engineer.username)
    page.goto(f"/w/{workspace.slug}/exports/")
    fmt = page.locator("#id_format")
    page.select_option("#id_format", "csv")
    page.select_option("#id_shape", "sft")
    expect(fmt).to_have_value("jsonl")
    assert page.locator("#id_format option:disabled").all_inner_texts() == ["csv", "parquet"]
    page.select_option("#id_shape", "preferences")
    assert page.locator("#id_format option:disabled").all_inner_texts() == ["csv"]
    page.select_option("#id_format", "parquet")
    page.select_option("#id_shape", "judgments")
    expect(fmt).to_have_value("parquet")  # still offered: kept
    assert page.locator("#id_format option:disabled").count() == 0
    assert page.js_errors == []
