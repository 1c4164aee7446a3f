"""Stored XSS: payloads in every field a person or a model fills, every page and fragment rendered.

The world of the permission test is built with ``PayloadText``: every free-text field
holds attack payloads. For every route the written matrix lets a role GET, Chromium
loads the page as that role, then swaps the route's htmx fragment into the page with
``htmx.ajax`` (so htmx processes whatever attributes the fragment carries). Then every
POST route the role may use is sent with payloads as form values and its answer swapped
in too. Nothing may run: no dialog, no ``window.__xss``, no request to ``/xss-canary/``
or to another host, no element carrying a payload's ``data-xss`` attribute and no
``javascript:`` link in the DOM. And every page's own scripts run through a full load
without an uncaught error.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.visits import visits_by_role
from tests.conftest import login
from tests.security.payloads import CANARY, PAYLOADS, PayloadText
from tests.security.world import ROLES, build_world

PROBE = """() => ({
  xss: window.__xss === undefined ? null : String(window.__xss),
  planted: Array.from(document.querySelectorAll('[data-xss]')).map(e => e.outerHTML.slice(0, 120)),
  js_links: Array.from(document.querySelectorAll(
      '[href^="javascript:" i],[src^="javascript:" i],[action^="javascript:" i]'
  )).map(e => e.outerHTML.slice(0, 120)),
})"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_payload_runs_on_any_page_or_fragment_for_any_role(browser, live_server, settings):
    text = PayloadText()
    world = build_world(text)
    assert len(PAYLOADS) >= 200
    values = {name: PAYLOADS[i % len(PAYLOADS)] for i, name in enumerate(
        ["name", "reason", "comment", "description", "instructions", "c-comment", "c-accuracy",
         "c-harm", "c-safe", "title", "label", "q", "search", "username", "password"]
    )}  # fmt: skip
    findings: list[str] = []
    rendered = 0
    planned = visits_by_role(world)
    # Every role's GETs before anyone's POST: a POST (accepting an invitation, deleting a
    # rubric) changes what later pages show.
    passes = [
        (role, [v for v in planned[role] if v[1] == m]) for m in ("GET", "POST") for role in ROLES
    ]
    for role, visits in passes:
        if not visits:
            continue
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        canary_hits: list[str] = []
        foreign: list[str] = []

        def on_request(request, hits=canary_hits, out=foreign):
            if CANARY in request.url:
                hits.append(request.url)
            elif not request.url.startswith((live_server.url, "data:", "about:")):
                out.append(request.url)

        page.on("request", on_request)
        context.route(f"**{CANARY}**", lambda r: r.fulfill(status=204, body=""))
        dialogs: list[str] = []
        page.on("dialog", lambda d, out=dialogs: (out.append(d.message), d.dismiss()))
        script_errors: list[str] = []
        page.on("pageerror", lambda exc, out=script_errors: out.append(str(exc)))
        if role != "anonymous":
            login(page, world.users[role].username)
        for name, method, url in visits:
            where = f"{role} {method} {name} {url}"
            if method == "GET":
                script_errors.clear()  # (fragments swapped into a page are not its own scripts)
                try:
                    response = page.goto(url)
                    if response is None or response.status >= 400:
                        status = response.status if response else None
                        findings.append(f"{where}: answered {status}; the page was not rendered")
                except PlaywrightError as exc:
                    if "Download is starting" in str(exc):
                        continue  # a file download (test_headers checks it is an attachment)
                    raise
                page.wait_for_load_state("networkidle")
                rendered += 1
                findings += _check(page, where, dialogs, canary_hits, foreign)
                # A page's own scripts must run through without an uncaught error.
                findings += [f"{where}: script error {e}" for e in script_errors]
            swap = (
                "async ([m, u, v]) => { if (!window.htmx) return 'no htmx';"
                " await htmx.ajax(m, u, {target: '#main', swap: 'innerHTML',"
                " values: m === 'POST' ? v : {}}); return 'ok'; }"
            )
            if method == "POST" and page.evaluate("() => !window.htmx"):
                page.goto("/healthz" if role == "anonymous" else f"/w/{world.workspace.slug}/")
            page.evaluate(swap, [method, url, values])
            page.wait_for_load_state("networkidle")
            rendered += 1
            findings += _check(page, where + " (htmx fragment)", dialogs, canary_hits, foreign)
        context.close()
    print(f"XSS: {len(PAYLOADS)} payloads, {len(text.fields)} fields, {rendered} renders")
    assert rendered > 0
    assert not findings, "\n".join(findings[:50])


def _check(page, where, dialogs, canary_hits, foreign) -> list[str]:
    found = []
    state = page.evaluate(PROBE)
    if state["xss"] is not None:
        found.append(f"{where}: window.__xss = {state['xss']}")
    for html in state["planted"]:
        found.append(f"{where}: planted element {html}")
    for html in state["js_links"]:
        found.append(f"{where}: javascript: URL {html}")
    for message in dialogs:
        found.append(f"{where}: dialog {message!r}")
    for url in canary_hits:
        found.append(f"{where}: canary request {url}")
    for url in foreign:
        found.append(f"{where}: request to another host {url}")
    dialogs.clear()
    canary_hits.clear()
    foreign.clear()
    return found
