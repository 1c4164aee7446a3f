"""Reviewers driven through the HTTP views, as a browser with htmx would, for load tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.test import Client

from tests.factories import good_answers

SUBMIT = re.compile(r'hx-post="(/w/[^"]+/assignments/(\d+)/submit/)"')
PAIR_SUBMIT = re.compile(r'hx-post="(/w/[^"]+/pairs/([^/"]+)/submit/)"')
PAIR_ANSWERS = {"choice": "left", "strength": "1"}
HTMX = {"HX-Request": "true"}


@dataclass
class Tally:
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    saved: int = 0
    duplicates: int = 0


class Reviewer:
    """One reviewer's browser: fetches the item fragment, submits it, takes the next."""

    def __init__(self, user, grade_url: str, tally: Tally, pairwise: bool = False) -> None:
        self.client = Client(raise_request_exception=False)
        self.client.force_login(user)
        self.grade_url = grade_url
        self.tally = tally
        self.pairwise = pairwise
        self.form: tuple[str, int] | None = None

    def _check(self, response, what: str) -> str:
        self.tally.requests += 1
        if response.status_code >= 500:
            self.tally.server_errors.append(f"{what}: {response.status_code}")
        body = response.content.decode()
        found = (PAIR_SUBMIT if self.pairwise else SUBMIT).search(body)
        # The second part identifies the task: an assignment id, or a hash of the pair's ticket.
        key = (
            (int(found.group(2)) if not self.pairwise else sum(found.group(2).encode()))
            if found
            else 0
        )
        self.form = (found.group(1), key) if found else None
        return body

    def open(self) -> bool:
        """Load the grading fragment; True when it holds an item."""
        self._check(self.client.get(self.grade_url, headers=HTMX), f"GET {self.grade_url}")
        return self.form is not None

    def submit(self, times: int = 1) -> bool:
        """Submit the current item ``times`` times (a double click); True when a next item came."""
        assert self.form is not None
        url, _ = self.form
        answers = (
            PAIR_ANSWERS if self.pairwise else {f"c-{k}": v for k, v in good_answers().items()}
        )
        for _ in range(times):
            body = self._check(self.client.post(url, answers, headers=HTMX), f"POST {url}")
            if "already saved" in body:
                self.tally.duplicates += 1
        return self.form is not None
