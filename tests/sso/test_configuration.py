"""The company admin's SSO page and the shop admin's approval console: who may see what,
field-by-field validation, the discovery check against the real provider."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import Company
from comptoir.sso import secrets, service
from comptoir.sso.models import CompanySSO, SSODomain
from tests.conftest import as_tenant, translated
from tests.sso.conftest import add_company, add_user, configure, logged_in, sso_login

LOCALE = "fr_FR"


@pytest.fixture
def shop(app, make_tenant, oidc_provider):
    acme = make_tenant("acme", name="Acme Shop")
    beta = make_tenant("beta", name="Beta Shop")
    company = add_company(app, acme, "Acme Corp")
    other = add_company(app, acme, "Other Corp")
    beta_company = add_company(app, beta, "Beta Corp")
    add_user(app, acme, "boss@acme.example", "company_admin", company)
    add_user(app, acme, "boss@other.example", "company_admin", other)
    add_user(app, acme, "buyer@acme.example", "buyer", company)
    add_user(app, acme, "admin@shop.example", "tenant_admin")
    add_user(app, beta, "admin@beta.example", "tenant_admin")
    add_user(app, beta, "boss@beta.example", "company_admin", beta_company)
    return {"acme": acme, "beta": beta, "company": company, "other": other}


def form(provider, **changes):
    data = {"issuer": provider.issuer, "client_id": provider.client_id,
            "client_secret": provider.client_secret, "email_domains": "acme.example\nAcme.FR",
            "default_role": "buyer", "enabled": "yes", "action": "save"}
    data.update(changes)
    return data


def stored(app, tenant, company_id):
    with as_tenant(app, tenant):
        sso = service.config_of(db.session.get(Company, company_id))
        if sso is None:
            return None
        return {"issuer": sso.issuer, "client_id": sso.client_id, "secret": sso.client_secret,
                "plain": secrets.decrypt(sso.client_secret), "role": sso.default_role,
                "enabled": sso.enabled,
                "domains": {d.domain: d.approved_at is not None for d in sso.domains}}


def test_company_admin_saves_the_configuration(app, shop, oidc_provider):
    boss = logged_in(app, "acme", "boss@acme.example")
    page = boss.get("/s/acme/account/sso")
    assert page.status_code == 200
    assert "http://localhost/s/acme/auth/sso/callback" in page.get_data(as_text=True)
    saved = boss.post("/s/acme/account/sso", data=form(oidc_provider))
    assert saved.status_code == 303, saved.get_data(as_text=True)
    row = stored(app, shop["acme"], shop["company"])
    assert row["issuer"] == oidc_provider.issuer and row["role"] == "buyer" and row["enabled"]
    assert row["plain"] == oidc_provider.client_secret
    assert oidc_provider.client_secret not in row["secret"]  # encrypted at rest
    assert row["domains"] == {"acme.example": False, "acme.fr": False}  # awaiting approval
    page = boss.get("/s/acme/account/sso").get_data(as_text=True)
    assert oidc_provider.client_secret not in page  # write-only
    # A blank secret keeps the stored one; the role may become approver.
    boss.post("/s/acme/account/sso", data=form(oidc_provider, client_secret="",
                                               default_role="approver"))
    row = stored(app, shop["acme"], shop["company"])
    assert row["plain"] == oidc_provider.client_secret and row["role"] == "approver"


@pytest.mark.parametrize(("field", "value", "msgid", "params"), [
    ("issuer", "", "Enter the issuer URL of your provider.", {}),
    ("issuer", "ftp://idp.example", "%(url)s is not a web address.",
     {"url": "ftp://idp.example"}),
    ("issuer", "http://idp.example", "%(url)s must use https.", {"url": "http://idp.example"}),
    ("client_id", "", "Enter the client ID (up to 255 characters).", {}),
    ("client_secret", "", "Enter the client secret.", {}),
    ("email_domains", "acme.example, not a domain!", "Not a domain name: %(entries)s.",
     {"entries": "not, a, domain!"}),
    ("email_domains", " ", "Enter at least one e-mail domain of your company.", {}),
    ("default_role", "company_admin", "The default role must be buyer or approver.", {}),
])
def test_validation_errors_name_the_field_and_store_nothing(app, shop, oidc_provider, field,
                                                            value, msgid, params):
    boss = logged_in(app, "acme", "boss@acme.example")
    answer = boss.post("/s/acme/account/sso", data=form(oidc_provider, **{field: value}))
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert f'data-field="{field}"' in page
    assert translated(app, LOCALE, msgid, **params) in page
    assert stored(app, shop["acme"], shop["company"]) is None


def test_a_domain_claimed_by_another_company_is_refused(app, shop, oidc_provider):
    configure(app, shop["acme"], shop["other"], oidc_provider, domains="acme.example")
    before = stored(app, shop["acme"], shop["other"])
    boss = logged_in(app, "acme", "boss@acme.example")
    answer = boss.post("/s/acme/account/sso", data=form(oidc_provider))
    assert answer.status_code == 400
    assert translated(app, LOCALE, "Already claimed by another company of this shop: "
                      "%(domains)s.", domains="acme.example") in answer.get_data(as_text=True)
    assert stored(app, shop["acme"], shop["company"]) is None
    assert stored(app, shop["acme"], shop["other"]) == before


def test_the_same_domain_in_another_shop_is_independent(app, shop, oidc_provider):
    configure(app, shop["acme"], shop["other"], oidc_provider, domains="acme.example")
    boss = logged_in(app, "beta", "boss@beta.example")
    assert boss.post("/s/beta/account/sso", data=form(oidc_provider)).status_code == 303


def test_who_may_see_the_page(app, shop, oidc_provider):
    configure(app, shop["acme"], shop["company"], oidc_provider)
    assert app.test_client().get("/s/acme/account/sso").status_code in (302, 303)
    assert logged_in(app, "acme", "buyer@acme.example").get("/s/acme/account/sso") \
        .status_code == 403
    assert logged_in(app, "acme", "admin@shop.example").get("/s/acme/account/sso") \
        .status_code == 403
    # Another company's admin sees their own (empty) page, never Acme Corp's settings.
    page = logged_in(app, "acme", "boss@other.example").get("/s/acme/account/sso")
    assert page.status_code == 200 and oidc_provider.issuer not in page.get_data(as_text=True)
    page = logged_in(app, "beta", "boss@beta.example").get("/s/beta/account/sso")
    assert page.status_code == 200 and oidc_provider.issuer not in page.get_data(as_text=True)


@pytest.fixture
def static_site(tmp_path):
    """A plain web server whose 'discovery document' is an HTML page."""
    (tmp_path / ".well-known").mkdir()
    (tmp_path / ".well-known" / "openid-configuration").write_text("<html>hello</html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_discovery_check(app, shop, oidc_provider, static_site):
    from tests.servers import free_port

    boss = logged_in(app, "acme", "boss@acme.example")

    def discover(issuer):
        return boss.post("/s/acme/account/sso", data={"issuer": issuer, "action": "discover"})

    ok = discover(oidc_provider.issuer)
    assert ok.status_code == 200
    assert translated(app, LOCALE, "The provider answered: %(issuer)s, sign-in at "
                      "%(endpoint)s.", issuer=oidc_provider.issuer,
                      endpoint=f"{oidc_provider.issuer}/auth") in ok.get_data(as_text=True)
    closed = f"http://127.0.0.1:{free_port()}"
    down = discover(closed)
    assert down.status_code == 400
    assert translated(app, LOCALE, "%(what)s at %(url)s cannot be reached (%(reason)s).",
                      what=translated(app, LOCALE, "The discovery document"),
                      url=f"{closed}/.well-known/openid-configuration",
                      reason="ConnectionError") in down.get_data(as_text=True)
    html = discover(static_site)
    assert translated(app, LOCALE, "%(what)s at %(url)s is not JSON.",
                      what=translated(app, LOCALE, "The discovery document"),
                      url=f"{static_site}/.well-known/openid-configuration") in \
        html.get_data(as_text=True)
    renamed = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    mismatch = discover(renamed)
    assert translated(app, LOCALE, "The provider names itself %(found)s, not %(expected)s: "
                      "the issuer must match exactly.", found=oidc_provider.issuer,
                      expected=renamed) in mismatch.get_data(as_text=True)
    assert stored(app, shop["acme"], shop["company"]) is None  # a check stores nothing


def test_shop_admin_approves_domains_and_turns_sso_off(app, shop, oidc_provider):
    sso_id = configure(app, shop["acme"], shop["company"], oidc_provider, approve=False)
    visitor = app.test_client()
    assert sso_login(visitor, "acme", "alice@acme.example", "alice").start.status_code == 400
    admin = logged_in(app, "acme", "admin@shop.example")
    page = admin.get("/s/acme/staff/settings/sso/")
    assert page.status_code == 200 and "acme.example" in page.get_data(as_text=True)
    with as_tenant(app, shop["acme"]):
        domain_id = db.session.scalars(select(SSODomain.id)).one()
    approved = admin.post(f"/s/acme/staff/settings/sso/{sso_id}/domains/{domain_id}/approve")
    assert approved.status_code == 303
    assert stored(app, shop["acme"], shop["company"])["domains"] == {"acme.example": True}
    assert sso_login(visitor, "acme", "alice@acme.example", "alice").result.status_code == 303
    off = admin.post(f"/s/acme/staff/settings/sso/{sso_id}/enabled", data={"enabled": "no"})
    assert off.status_code == 303
    assert stored(app, shop["acme"], shop["company"])["enabled"] is False
    later = app.test_client()
    assert sso_login(later, "acme", "alice@acme.example", "alice").start.status_code == 400


def test_shop_console_isolation(app, shop, oidc_provider):
    sso_id = configure(app, shop["acme"], shop["company"], oidc_provider, approve=False)
    with as_tenant(app, shop["acme"]):
        domain_id = db.session.scalars(select(SSODomain.id)).one()
    other_shop = logged_in(app, "beta", "admin@beta.example")
    assert "acme.example" not in other_shop.get("/s/beta/staff/settings/sso/") \
        .get_data(as_text=True)
    assert other_shop.post(f"/s/beta/staff/settings/sso/{sso_id}/enabled",
                           data={"enabled": "no"}).status_code == 404
    assert other_shop.post(f"/s/beta/staff/settings/sso/{sso_id}/domains/{domain_id}/approve") \
        .status_code == 404
    boss = logged_in(app, "acme", "boss@acme.example")
    assert boss.get("/s/acme/staff/settings/sso/").status_code == 403
    assert boss.post(f"/s/acme/staff/settings/sso/{sso_id}/domains/{domain_id}/approve") \
        .status_code == 403
    row = stored(app, shop["acme"], shop["company"])
    assert row["enabled"] is True and row["domains"] == {"acme.example": False}
    with as_tenant(app, shop["acme"]):
        assert db.session.get(CompanySSO, sso_id).enabled


def _resolving(monkeypatch, answers):
    """Name resolution as a DNS server would answer, without the network."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port)) for a in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(("issuer", "host", "address"), [
    ("https://10.1.2.3", "10.1.2.3", "10.1.2.3"),
    ("https://169.254.169.254", "169.254.169.254", "169.254.169.254"),
    ("https://idp.acme.example", "idp.acme.example", "192.168.0.10"),
    ("https://v6.acme.example", "v6.acme.example", "fd00::1"),
    ("https://mapped.acme.example", "mapped.acme.example", "10.9.9.9"),
])
def test_a_provider_on_a_private_network_is_refused_before_any_request(
        app, shop, oidc_provider, monkeypatch, issuer, host, address):
    """A company admin cannot make the shop fetch from the servers' own network (SSRF): a
    private, link-local or reserved address, typed or behind a name, is refused by name."""
    import requests

    _resolving(monkeypatch, {"idp.acme.example": ["8.8.8.8", "192.168.0.10"],
                             "v6.acme.example": ["fd00::1"],
                             "mapped.acme.example": ["::ffff:10.9.9.9"]})
    fetched = []
    monkeypatch.setattr(requests, "get", lambda *a, **k: fetched.append(a) or 1 / 0)
    boss = logged_in(app, "acme", "boss@acme.example")
    answer = boss.post("/s/acme/account/sso", data={"issuer": issuer, "action": "discover"})
    assert answer.status_code == 400
    assert translated(app, LOCALE, "%(host)s is on a private or reserved network (%(address)s): "
                      "the shop only talks to providers on the public internet.",
                      host=host, address=address) in answer.get_data(as_text=True)
    assert fetched == []
    assert stored(app, shop["acme"], shop["company"]) is None


def test_public_addresses_pass_and_a_deployment_may_allow_private_providers(app, monkeypatch):
    from comptoir.sso.provider import address_problem

    _resolving(monkeypatch, {"idp.acme.example": ["8.8.8.8", "2001:4860:4860::8888"],
                             "intranet.acme.example": ["10.0.0.5"]})
    with app.test_request_context():
        assert address_problem("https://idp.acme.example/") is None
        assert address_problem("https://intranet.acme.example/") is not None
        assert address_problem("https://no-such-host.invalid/") is not None
        app.config["SSO_PRIVATE_PROVIDERS"] = True
        assert address_problem("https://intranet.acme.example/") is None
