"""Every way an SSO log-in is refused: a clear page, no user created, nobody logged in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.sso.models import CompanySSO
from comptoir.sso.views import PENDING
from tests.conftest import as_tenant, translated
from tests.sso.conftest import (
    add_company,
    add_user,
    configure,
    provider_answer,
    shop_session,
    sso_login,
)

LOCALE = "fr_FR"


@pytest.fixture
def acme(app, make_tenant, oidc_provider):
    tenant = make_tenant("acme", name="Acme Shop")
    company = add_company(app, tenant, "Acme Corp")
    other = add_company(app, tenant, "Other Corp")
    sso_id = configure(app, tenant, company, oidc_provider)
    return {"tenant": tenant, "company": company, "other": other, "sso": sso_id}


def emails(app, tenant):
    with as_tenant(app, tenant):
        return sorted(db.session.scalars(select(User.email)))


def refused(app, journey, msgid, **params):
    page = journey.result.get_data(as_text=True)
    assert journey.result.status_code == 400, page
    assert translated(app, LOCALE, msgid, **params) in page, page


def assert_logged_out(client):
    # The company admin page asks a visitor to log in, and says 403 to anyone logged in.
    assert client.get("/s/acme/account/sso").status_code in (302, 303)


def test_provider_error_access_denied(app, client, acme):
    journey = sso_login(client, "acme", "alice@acme.example", "alice", deny=True)
    refused(app, journey, "The provider refused the log-in: %(error)s.",
            error="The user refused to sign in.")
    assert emails(app, acme["tenant"]) == []
    assert_logged_out(client)


def test_wrong_state(app, client, acme):
    start = client.post("/s/acme/auth/sso", data={"email": "alice@acme.example"})
    callback = provider_answer(start.headers["Location"], "alice")
    forged = callback.replace("state=", "state=x")
    result = client.get(forged)
    assert result.status_code == 400
    assert translated(app, LOCALE, "This log-in answer does not match the log-in you "
                      "started.") in result.get_data(as_text=True)
    assert emails(app, acme["tenant"]) == []
    # The attempt is spent: the genuine answer afterwards finds no log-in in progress.
    again = client.get(callback)
    assert translated(app, LOCALE, "This log-in has expired or was already used. Please "
                      "start again.") in again.get_data(as_text=True)
    assert emails(app, acme["tenant"]) == []


def test_callback_without_a_login_in_progress(app, client, acme):
    result = client.get("/s/acme/auth/sso/callback?code=abc&state=def")
    assert result.status_code == 400
    assert translated(app, LOCALE, "This log-in has expired or was already used. Please "
                      "start again.") in result.get_data(as_text=True)


def test_replayed_callback(app, client, acme):
    start = client.post("/s/acme/auth/sso", data={"email": "alice@acme.example"})
    with shop_session(client, "acme") as session:
        pending = dict(session[PENDING])
    callback = provider_answer(start.headers["Location"], "alice")
    assert client.get(callback).status_code == 303
    # Same browser again: the log-in in progress was used up.
    again = client.get(callback)
    assert again.status_code == 400
    assert translated(app, LOCALE, "This log-in has expired or was already used. Please "
                      "start again.") in again.get_data(as_text=True)
    # An attacker who copied the cookie too: the provider refuses a code used once.
    thief = app.test_client()
    with shop_session(thief, "acme") as session:
        session[PENDING] = pending
    stolen = thief.get(callback)
    assert stolen.status_code == 400
    # Our message, carrying the provider's invalid_grant (its description, else the code).
    page = stolen.get_data(as_text=True)
    assert any(translated(app, LOCALE, "The provider refused the authorization code: "
                          "%(error)s.", error=error) in page
               for error in ("grant request is invalid", "invalid_grant")), page
    assert_logged_out(thief)


def test_bad_nonce(app, client, acme):
    start = client.post("/s/acme/auth/sso", data={"email": "alice@acme.example"})
    with shop_session(client, "acme") as session:
        session[PENDING] = {**session[PENDING], "nonce": "not-the-nonce-sent"}
    journey = type("J", (), {})()
    journey.result = client.get(provider_answer(start.headers["Location"], "alice"))
    refused(app, journey, "The identity token from the provider is not valid (%(reason)s).",
            reason="invalid_claim")
    assert emails(app, acme["tenant"]) == []
    assert_logged_out(client)


def test_email_not_verified(app, client, acme):
    journey = sso_login(client, "acme", "bob@acme.example", "bob")
    refused(app, journey, "The provider has not verified the e-mail address %(email)s.",
            email="bob@acme.example")
    assert emails(app, acme["tenant"]) == []


def test_domain_not_claimed_by_the_company(app, client, acme):
    # The user typed a claimed address, but the provider vouches for another domain.
    journey = sso_login(client, "acme", "alice@acme.example", "carol")
    refused(app, journey, "%(domain)s is not an approved e-mail domain of %(company)s.",
            domain="unclaimed.example", company="Acme Corp")
    assert emails(app, acme["tenant"]) == []


def test_unclaimed_domain_offers_no_sso(app, client, acme):
    journey = sso_login(client, "acme", "carol@unclaimed.example", "carol")
    assert journey.start.status_code == 400
    assert translated(app, LOCALE, "No company uses single sign-on for this e-mail domain "
                      "here. Log in with your password instead.") in \
        journey.start.get_data(as_text=True)


def test_domain_awaiting_approval_is_not_used(app, make_tenant, oidc_provider, client):
    tenant = make_tenant("acme", name="Acme Shop")
    company = add_company(app, tenant, "Acme Corp")
    configure(app, tenant, company, oidc_provider, approve=False)
    journey = sso_login(client, "acme", "alice@acme.example", "alice")
    assert journey.start.status_code == 400
    assert emails(app, tenant) == []


def test_disabled_configuration(app, client, acme):
    with as_tenant(app, acme["tenant"]):
        db.session.get(CompanySSO, acme["sso"]).enabled = False
        db.session.commit()
    assert sso_login(client, "acme", "alice@acme.example", "alice").start.status_code == 400


def test_disabled_between_redirect_and_callback(app, client, acme):
    start = client.post("/s/acme/auth/sso", data={"email": "alice@acme.example"})
    callback = provider_answer(start.headers["Location"], "alice")
    with as_tenant(app, acme["tenant"]):
        db.session.get(CompanySSO, acme["sso"]).enabled = False
        db.session.commit()
    result = client.get(callback)
    assert result.status_code == 400
    assert translated(app, LOCALE, "Single sign-on is turned off for this company.") in \
        result.get_data(as_text=True)
    assert emails(app, acme["tenant"]) == []


def test_user_of_another_company_is_refused(app, client, acme):
    add_user(app, acme["tenant"], "dave@acme.example", "buyer", acme["other"])
    journey = sso_login(client, "acme", "dave@acme.example", "dave")
    refused(app, journey, "The account %(email)s of this shop does not belong to "
            "%(company)s: log in with its password instead.",
            email="dave@acme.example", company="Acme Corp")
    with as_tenant(app, acme["tenant"]):
        dave = db.session.scalars(select(User).where(User.email == "dave@acme.example")).one()
        assert (dave.company_id, dave.role) == (acme["other"], "buyer")
    assert_logged_out(client)


def test_individual_customer_with_that_email_is_refused(app, client, acme):
    add_user(app, acme["tenant"], "dave@acme.example", "customer")
    journey = sso_login(client, "acme", "dave@acme.example", "dave")
    refused(app, journey, "The account %(email)s of this shop does not belong to "
            "%(company)s: log in with its password instead.",
            email="dave@acme.example", company="Acme Corp")
    assert_logged_out(client)


def test_deactivated_user_is_refused(app, client, acme):
    add_user(app, acme["tenant"], "dave@acme.example", "buyer", acme["company"])
    with as_tenant(app, acme["tenant"]):
        db.session.scalars(select(User).where(User.email == "dave@acme.example")).one() \
            .active = False
        db.session.commit()
    journey = sso_login(client, "acme", "dave@acme.example", "dave")
    refused(app, journey, "The account %(email)s is deactivated.", email="dave@acme.example")
    assert_logged_out(client)


@pytest.mark.parametrize("client_id", ["tampered-payload", "tampered-key"])
def test_tampered_id_token_is_refused(app, make_tenant, oidc_provider, client, client_id):
    tenant = make_tenant("acme", name="Acme Shop")
    company = add_company(app, tenant, "Acme Corp")
    configure(app, tenant, company, oidc_provider, client_id=client_id)
    with as_tenant(app, tenant):
        from comptoir.sso import secrets
        sso = db.session.scalars(select(CompanySSO)).one()
        sso.client_secret = secrets.encrypt({"tampered-payload": "t1",
                                             "tampered-key": "t2"}[client_id])
        db.session.commit()
    journey = sso_login(client, "acme", "alice@acme.example", "alice")
    refused(app, journey, "The identity token from the provider is not valid (%(reason)s).",
            reason="bad_signature")
    assert emails(app, tenant) == []
    assert_logged_out(client)


def test_wrong_client_secret(app, make_tenant, oidc_provider, client):
    tenant = make_tenant("acme", name="Acme Shop")
    company = add_company(app, tenant, "Acme Corp")
    configure(app, tenant, company, oidc_provider)
    with as_tenant(app, tenant):
        from comptoir.sso import secrets
        db.session.scalars(select(CompanySSO)).one().client_secret = secrets.encrypt("nope")
        db.session.commit()
    journey = sso_login(client, "acme", "alice@acme.example", "alice")
    assert journey.result.status_code == 400
    assert emails(app, tenant) == []


def test_unreachable_provider_at_start(app, make_tenant, client):
    from tests.servers import free_port
    from tests.sso.conftest import Provider

    tenant = make_tenant("acme", name="Acme Shop")
    company = add_company(app, tenant, "Acme Corp")
    configure(app, tenant, company, Provider(f"http://127.0.0.1:{free_port()}"))
    journey = sso_login(client, "acme", "alice@acme.example", "alice")
    assert journey.start.status_code == 400
    assert "ConnectionError" in journey.start.get_data(as_text=True)
