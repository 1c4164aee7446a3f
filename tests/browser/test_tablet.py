"""Every page a role can open fits a tablet's width: wide tables scroll inside the page,
the page itself never scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.visits import visits_by_role
from tests.conftest import login
from tests.factories import make_queue
from tests.security.world import build_world

TABLET = {"width": 768, "height": 1024}
# Elements reaching past the right edge, for the failure message.
WIDE = """() => Array.from(document.querySelectorAll('main *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 3).map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_fits_a_tablet_for_every_role(page_at):
    world = build_world()
    too_wide: list[str] = []
    seen = 0
    for role, visits in visits_by_role(world, every_role=True).items():
        pages = [(name, url) for name, method, url in visits if method == "GET"]
        if role == "anonymous" or not pages:
            continue
        page = page_at(TABLET["width"], TABLET["height"])
        login(page, world.users[role].username)
        for name, url in pages:
            try:
                page.goto(url)
            except PlaywrightError as exc:
                if "Download is starting" in str(exc):
                    continue  # a file, not a page
                raise
            seen += 1
            # Wider than the window's content area (a vertical scroll bar takes its part).
            width, room = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if width > room:
                too_wide.append(f"{role} {name} {url}: {width} px, {page.evaluate(WIDE)}")
    assert seen > 50
    assert not too_wide, "\n".join(too_wide)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_on_a_phone_reaches_start_grading_without_scrolling_sideways(
    page_at, workspace, clinicians, reviewer
):
    make_queue(workspace, cohorts=[clinicians], items=2, k=1)
    phone = page_at(390, 844)
    login(phone, reviewer.username)
    phone.goto(f"/w/{workspace.slug}/")
    fits = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    assert phone.evaluate(fits)
    phone.click("text=Start grading", timeout=5000)
    phone.wait_for_selector("#grade-form")
    assert phone.evaluate(fits)
    assert phone.js_errors == []
