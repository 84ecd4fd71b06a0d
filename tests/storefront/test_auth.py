"""Logging in to a storefront, and why one shop's session opens nothing in another."""

from __future__ import annotations

import pytest

from comptoir.core.db import db
from comptoir.customers.models import User
from tests.conftest import as_tenant


@pytest.fixture
def shoppers(app, make_tenant):
    made = {}
    for slug in ("alpha", "beta"):
        tenant = make_tenant(slug, country="GB", locale="en_GB", currency="GBP")
        with as_tenant(app, tenant):
            user = User(email="buyer@example.com", name=f"Buyer of {slug}", role="buyer")
            user.set_password(f"password-{slug}")
            db.session.add(user)
            db.session.commit()
        made[slug] = tenant
    return made


def login(client, slug, password, email="buyer@example.com"):
    return client.post(f"/s/{slug}/login", data={"email": email, "password": password})


def test_login_and_logout(client, shoppers):
    response = login(client, "alpha", "password-alpha")
    assert response.status_code == 302 and response.location == "/s/alpha/"
    assert "Buyer of alpha" in client.get("/s/alpha/").get_data(as_text=True)
    client.post("/s/alpha/logout")
    assert "Buyer of alpha" not in client.get("/s/alpha/").get_data(as_text=True)


def test_same_email_in_two_shops_are_two_accounts(client, shoppers):
    assert login(client, "beta", "password-alpha").status_code == 400
    assert login(client, "beta", "password-beta").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, shoppers):
    response = login(client, "alpha", "nope")
    assert response.status_code == 400
    assert "Unknown e-mail or wrong password." in response.get_data(as_text=True)
    assert "Buyer of alpha" not in client.get("/s/alpha/").get_data(as_text=True)


def test_malformed_email_names_the_problem(client, shoppers):
    response = login(client, "alpha", "password-alpha", email="not-an-email")
    assert response.status_code == 400
    assert "Invalid email address" in response.get_data(as_text=True)


def test_session_from_one_shop_logs_nobody_in_at_another(client, shoppers):
    login(client, "alpha", "password-alpha")
    assert "Buyer of alpha" in client.get("/s/alpha/").get_data(as_text=True)
    html = client.get("/s/beta/").get_data(as_text=True)
    assert "Buyer of" not in html and "Log in" in html


def test_login_redirects_to_the_page_asked_for(client, shoppers):
    ok = client.post("/s/alpha/login?next=/s/alpha/products/x",
                     data={"email": "buyer@example.com", "password": "password-alpha"})
    assert ok.location == "/s/alpha/products/x"


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/%09/evil.example/", "/%0a/evil.example/", "https://evil.example/",
     "/\\evil.example/", "/s/beta/", "javascript:alert(1)"],
)
def test_login_never_redirects_off_the_storefront(client, shoppers, target):
    response = client.post(f"/s/alpha/login?next={target}",
                           data={"email": "buyer@example.com", "password": "password-alpha"})
    assert response.status_code == 302 and response.location == "/s/alpha/"


def test_two_shops_on_one_host_keep_separate_sessions(client, shoppers):
    login(client, "alpha", "password-alpha")
    login(client, "beta", "password-beta")
    assert "Buyer of alpha" in client.get("/s/alpha/").get_data(as_text=True)
    assert "Buyer of beta" in client.get("/s/beta/").get_data(as_text=True)
    client.post("/s/beta/logout")
    assert "Buyer of alpha" in client.get("/s/alpha/").get_data(as_text=True)


def test_forms_need_a_csrf_token_outside_tests(app_factory, make_tenant):
    app = app_factory(WTF_CSRF_ENABLED=True)
    make_tenant("alpha", country="GB", locale="en_GB", currency="GBP")
    response = app.test_client().post("/s/alpha/login", data={"email": "a@b.co", "password": "x"})
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
