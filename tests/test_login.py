"""Logging in: same answer for unknown users and wrong passwords; throttling and lock-out."""

import re

import pytest
from django.test import override_settings


def _attempt(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_a_right_password_logs_in(client, reviewer, password):
    response = _attempt(client, reviewer.username, password)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_unknown_users_and_wrong_passwords_get_identical_answers(client, reviewer):
    wrong = _attempt(client, reviewer.username, "not-the-password")
    unknown = _attempt(client, "nobody-by-this-name", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200

    def body(response):
        html = response.content.decode()
        # The username the person typed is echoed back; everything else must match.
        return html.replace(reviewer.username, "U").replace("nobody-by-this-name", "U")

    assert "did not match" in body(wrong)
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')
    assert token.sub("", body(wrong)) == token.sub("", body(unknown))


@override_settings(AXES_FAILURE_LIMIT=3)
@pytest.mark.parametrize("username", ["carla-clinician", "nobody-by-this-name"])
def test_repeated_failures_lock_the_username_out_even_with_the_right_password(
    client, reviewer, password, username
):
    for _ in range(3):
        _attempt(client, username, "wrong")
    locked = _attempt(client, username, password)
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_sessions_expire(settings, client, reviewer, password):
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    _attempt(client, reviewer.username, password)
    assert client.session.get_expiry_age() <= settings.SESSION_COOKIE_AGE


def test_an_htmx_request_without_a_session_is_sent_to_login_and_back_to_its_page(client):
    response = client.post(
        "/w/some-team/queues/1/assignments/2/submit/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/w/some-team/queues/1/grade/",
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/login/?next=%2Fw%2Fsome-team%2Fqueues%2F1%2Fgrade%2F"


def test_a_plain_request_without_a_session_gets_the_usual_redirect(client):
    response = client.get("/w/some-team/queues/1/grade/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
