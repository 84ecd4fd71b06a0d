"""With CSRF protection on, as in production."""

import re

import pytest

from tests.accounts.conftest import CHEAP, PASSWORD, add_user


@pytest.fixture
def app(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True, PASSWORD_HASH_PARAMETERS=CHEAP)


def _token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_post_without_token_is_refused(app, make_tenant):
    make_tenant("shop-a", name="Shop A")
    client = app.test_client()
    add_user(app, make_tenant("shop-b", name="Shop B"), "ann@b.example")
    answer = client.post("/s/shop-b/login", data={"email": "ann@b.example",
                                                  "password": PASSWORD})
    assert answer.status_code == 400
    assert client.post("/s/shop-b/password/forgot",
                       data={"email": "ann@b.example"}).status_code == 400


def test_session_rotated_at_login_and_old_csrf_token_refused(app, make_tenant):
    add_user(app, make_tenant("shop-a", name="Shop A"), "ann@a.example")
    client = app.test_client()
    before = _token(client, "/s/shop-a/login")
    cookie_before = client.get_cookie("session-shop-a", path="/s/shop-a/").value
    answer = client.post("/s/shop-a/login", data={"email": "ann@a.example",
                                                  "password": PASSWORD, "csrf_token": before})
    assert answer.status_code == 302
    assert client.get_cookie("session-shop-a", path="/s/shop-a/").value != cookie_before
    # The token known before the login (a fixation attacker's) no longer works.
    assert client.post("/s/shop-a/logout", data={"csrf_token": before}).status_code == 400
    after = _token(client, "/s/shop-a/password/forgot")
    assert after != before
    assert client.post("/s/shop-a/logout", data={"csrf_token": after}).status_code == 302
