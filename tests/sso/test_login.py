"""The SSO log-in end to end against a real OpenID provider process."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.customers.models import User
from tests.conftest import as_tenant, translated
from tests.sso.conftest import (
    add_company,
    add_user,
    configure,
    query,
    sso_login,
)

LOCALE = "fr_FR"


@pytest.fixture
def shops(app, make_tenant, oidc_provider):
    """``acme`` with company Acme Corp using the provider; ``beta`` with no SSO at all."""
    acme = make_tenant("acme", name="Acme Shop")
    beta = make_tenant("beta", name="Beta Shop")
    company = add_company(app, acme, "Acme Corp")
    other = add_company(app, acme, "Other Corp")
    configure(app, acme, company, oidc_provider)
    return {"acme": acme, "beta": beta, "company": company, "other": other}


def users(app, tenant):
    with as_tenant(app, tenant):
        return {u.email: (u.role, u.company_id, u.password_hash)
                for u in db.session.scalars(select(User))}


def user_count(app, tenant):
    with as_tenant(app, tenant):
        return db.session.scalar(select(func.count()).select_from(User))


def error_text(journey):
    assert journey.result.status_code == 400, journey.result.get_data(as_text=True)
    return journey.result.get_data(as_text=True)


def test_first_login_creates_the_user_in_the_company_and_logs_in(app, client, shops):
    journey = sso_login(client, "acme", "alice@acme.example", "alice")
    # What went to the provider: PKCE S256, a nonce, a state, the per-shop callback.
    sent = query(journey.authorize_url)
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["nonce"] and sent["state"] and sent["scope"] == "openid email profile"
    assert sent["redirect_uri"] == "http://localhost/s/acme/auth/sso/callback"
    assert sent["login_hint"] == "alice@acme.example"
    assert journey.result.status_code == 303, journey.result.get_data(as_text=True)
    role, company_id, password_hash = users(app, shops["acme"])["alice@acme.example"]
    assert (role, company_id) == ("buyer", shops["company"])
    assert password_hash.startswith("!")  # no password logs this account in
    with as_tenant(app, shops["acme"]):
        alice = db.session.scalars(select(User).where(User.email == "alice@acme.example")).one()
        assert alice.name == "Alice Martin" and alice.email_verified_at is not None
    page = client.get(journey.result.headers["Location"]).get_data(as_text=True)
    assert translated(app, LOCALE, "Welcome, %(name)s.", name="Alice Martin") in page
    # Logged in: the company-only pages answer (a buyer is not the company admin: 403).
    assert client.get("/s/acme/account/sso").status_code == 403


def test_second_login_reuses_the_account(app, client, shops):
    assert sso_login(client, "acme", "alice@acme.example", "alice").result.status_code == 303
    before = user_count(app, shops["acme"])
    again = app.test_client()
    assert sso_login(again, "acme", "alice@acme.example", "alice").result.status_code == 303
    assert user_count(app, shops["acme"]) == before


def test_an_existing_user_of_the_company_keeps_their_role(app, client, shops):
    add_user(app, shops["acme"], "erin@acme.example", "approver", shops["company"])
    assert sso_login(client, "acme", "erin@acme.example", "erin").result.status_code == 303
    assert users(app, shops["acme"])["erin@acme.example"][:2] == ("approver", shops["company"])


def test_next_page_is_kept(app, client, shops):
    journey = sso_login(client, "acme", "alice@acme.example", "alice", next_url="/s/acme/cart")
    assert journey.result.headers["Location"].endswith("/s/acme/cart")


def test_default_role_approver(app, make_tenant, oidc_provider, client):
    gamma = make_tenant("acme", name="Acme Shop")
    company = add_company(app, gamma, "Acme Corp")
    configure(app, gamma, company, oidc_provider, role="approver")
    assert sso_login(client, "acme", "alice@acme.example", "alice").result.status_code == 303
    assert users(app, gamma)["alice@acme.example"][0] == "approver"


def test_another_tenant_is_untouched_and_offers_no_sso(app, client, shops):
    add_user(app, shops["beta"], "alice@acme.example", "customer")
    before = users(app, shops["beta"])
    assert sso_login(client, "acme", "alice@acme.example", "alice").result.status_code == 303
    assert users(app, shops["beta"]) == before
    # beta has no configuration: the same e-mail finds no provider there.
    other = app.test_client()
    journey = sso_login(other, "beta", "alice@acme.example", "alice")
    assert journey.start.status_code == 400
    assert translated(app, LOCALE, "No company uses single sign-on for this e-mail domain "
                      "here. Log in with your password instead.") in \
        journey.start.get_data(as_text=True)
    # And acme's session is not a session at beta.
    assert client.get("/s/beta/account/sso").status_code in (302, 303)


def test_userinfo_only_provider(app, make_tenant, oidc_provider_userinfo, client):
    acme = make_tenant("acme", name="Acme Shop")
    company = add_company(app, acme, "Acme Corp")
    configure(app, acme, company, oidc_provider_userinfo)
    assert sso_login(client, "acme", "alice@acme.example", "alice").result.status_code == 303
    assert users(app, acme)["alice@acme.example"][:2] == ("buyer", company)


def test_login_page_links_to_company_login(app, client, shops):
    page = client.get("/s/acme/login?next=/s/acme/cart").get_data(as_text=True)
    assert translated(app, LOCALE, "Log in with your company account") in page
    assert "/s/acme/auth/sso?next=/s/acme/cart" in page
    start = client.get("/s/acme/auth/sso")
    assert start.status_code == 200
    assert translated(app, LOCALE, "Work e-mail") in start.get_data(as_text=True)


def test_sso_pages_need_a_storefront(app, client, shops):
    assert client.get("/auth/sso").status_code == 404
    assert client.get("/auth/sso/callback").status_code == 404
