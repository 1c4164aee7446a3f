"""One world per module for the security tests, rolled back at the end of the module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress

import pytest
from django.db import transaction
from django.test import Client

from tests.security.routes import api_operations, page_routes
from tests.security.world import ROLES, MissingResolver, World, build_world, resolve_kwargs


def prepare(world: World) -> None:
    """Make every object a route needs now, inside the module's transaction (objects made
    lazily inside one test would vanish with that test's savepoint)."""
    # A missing resolver is reported by the route's own test.
    for route in page_routes():
        with suppress(MissingResolver):
            resolve_kwargs(world, route.name, list(route.keywords))
    for operation in api_operations():
        with suppress(MissingResolver):
            resolve_kwargs(world, "api", list(operation.params))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = build_world()
            prepare(world)
            # A second, complete workspace: its object ids go into the first one's URLs.
            world.objects["twin"] = build_world(prefix="twin")
            prepare(world.objects["twin"])
            yield world
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(scope="module")
def clients(world, django_db_blocker) -> dict[str, Client]:
    """A logged-in test client per role of the matrix (no login for ``anonymous``)."""
    made = {}
    with django_db_blocker.unblock():
        for role in ROLES:
            client = Client()
            if role != "anonymous":
                client.force_login(world.users[role])
            made[role] = client
    return made
