"""Ids in page URLs: a number too large for the database's integer is 404, never a 500
(Django answers an out-of-range lookup with no rows; this holds it on both databases)."""

import pytest


@pytest.mark.parametrize(
    "path",
    [
        "queues/99999999999999999999999/",
        "queues/99999999999999999999999/grade/",
        "jobs/12345678901234567890/",
    ],
)
def test_an_id_too_large_for_the_database_is_404(client, workspace, admin_user, path):
    client.force_login(admin_user)
    assert client.get(f"/w/{workspace.slug}/{path}").status_code == 404


def test_an_id_of_18_digits_still_reaches_the_view(client, workspace, admin_user):
    client.force_login(admin_user)
    response = client.get(f"/w/{workspace.slug}/queues/{'9' * 18}/")
    assert response.status_code == 404
    assert b"Quorum" in response.content  # the app's own 404 page, from the view's lookup
