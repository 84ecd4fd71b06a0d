"""``/settings/api-clients`` and ``comptoir api clients``: register, list, revoke."""

from __future__ import annotations

import re

from comptoir.api.models import ApiClient
from comptoir.core.db import db
from comptoir.customers.models import User
from tests.api.conftest import PASSWORD, basic
from tests.conftest import as_tenant, translated


def _user(app, tenant, email, role):
    with as_tenant(app, tenant):
        user = User(email=email, name="X", role=role)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()


def _login(app, slug, email):
    http = app.test_client()
    response = http.post(f"/s/{slug}/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return http


def _clients(app, tenant):
    with as_tenant(app, tenant):
        return [(c.client_id, c.name, c.revoked_at is not None)
                for c in db.session.query(ApiClient).all()]


def test_admin_registers_sees_secret_once_and_the_client_gets_a_token(app, make_tenant):
    fr = make_tenant("fr")
    _user(app, fr, "admin@fr.example", "tenant_admin")
    admin = _login(app, "fr", "admin@fr.example")
    page = admin.post("/s/fr/settings/api-clients",
                      data={"name": "ERP", "scope": ["orders:read", "catalog:read"]})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', html).group(1)
    assert translated(app, "fr_FR", "Copy the secret now: it is shown only once and cannot "
                      "be recovered.") in html
    listing = admin.get("/s/fr/settings/api-clients").get_data(as_text=True)
    assert client_id in listing and secret not in listing
    token = app.test_client().post("/s/fr/api/v1/oauth/token",
                                   data={"grant_type": "client_credentials"},
                                   headers=basic(client_id, secret))
    assert token.status_code == 200
    revoked = admin.post(f"/s/fr/settings/api-clients/{client_id}/revoke")
    assert revoked.status_code == 302
    assert _clients(app, fr) == [(client_id, "ERP", True)]
    again = app.test_client().get("/s/fr/api/v1/orders", headers={
        "Authorization": "Bearer " + token.get_json()["access_token"]})
    assert again.status_code == 401


def test_bad_registration_is_400_and_saves_nothing(app, make_tenant):
    fr = make_tenant("fr")
    _user(app, fr, "admin@fr.example", "tenant_admin")
    admin = _login(app, "fr", "admin@fr.example")
    no_scope = admin.post("/s/fr/settings/api-clients", data={"name": "ERP"})
    assert no_scope.status_code == 400
    assert translated(app, "fr_FR", "Choose at least one scope.") in no_scope.get_data(
        as_text=True)
    bad_scope = admin.post("/s/fr/settings/api-clients",
                           data={"name": "ERP", "scope": ["admin:all"]})
    assert bad_scope.status_code == 400
    no_name = admin.post("/s/fr/settings/api-clients", data={"scope": ["orders:read"]})
    assert no_name.status_code == 400
    assert _clients(app, fr) == []


def test_second_tenant_admin_sees_none_and_cannot_revoke(app, make_tenant):
    fr, gb = make_tenant("fr"), make_tenant("gb", country="GB", locale="en_GB", currency="GBP")
    for tenant in (fr, gb):
        _user(app, tenant, f"admin@{tenant.slug}.example", "tenant_admin")
    fr_admin = _login(app, "fr", "admin@fr.example")
    html = fr_admin.post("/s/fr/settings/api-clients",
                         data={"name": "French ERP", "scope": ["orders:read"]}).get_data(
        as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    gb_admin = _login(app, "gb", "admin@gb.example")
    page = gb_admin.get("/s/gb/settings/api-clients").get_data(as_text=True)
    assert client_id not in page and "French ERP" not in page
    assert gb_admin.post(f"/s/gb/settings/api-clients/{client_id}/revoke").status_code == 404
    assert _clients(app, fr)[0][2] is False


def test_customer_and_staff_get_403_visitor_logs_in(app, make_tenant):
    fr = make_tenant("fr")
    _user(app, fr, "buyer@fr.example", "customer")
    _user(app, fr, "staff@fr.example", "staff")
    for email in ("buyer@fr.example", "staff@fr.example"):
        http = _login(app, "fr", email)
        assert http.get("/s/fr/settings/api-clients").status_code == 403
        assert http.post("/s/fr/settings/api-clients",
                         data={"name": "x", "scope": ["orders:read"]}).status_code == 403
    assert app.test_client().get("/s/fr/settings/api-clients").status_code == 302
    assert _clients(app, fr) == []


def test_cli_create_list_revoke(app, make_tenant):
    fr = make_tenant("fr")
    make_tenant("gb", country="GB", locale="en_GB", currency="GBP")
    runner = app.test_cli_runner()
    created = runner.invoke(args=["api", "clients", "create", "fr", "ERP",
                                  "--scope", "orders:read", "--scope", "stock:read"])
    assert created.exit_code == 0, created.output
    client_id = re.search(r"client_id:\s+(\S+)", created.output).group(1)
    assert re.search(r"client_secret:\s+\S{20,}", created.output)
    listed = runner.invoke(args=["api", "clients", "list", "fr"])
    assert client_id in listed.output and "active" in listed.output
    assert client_id not in runner.invoke(args=["api", "clients", "list", "gb"]).output
    wrong_tenant = runner.invoke(args=["api", "clients", "revoke", "gb", client_id])
    assert wrong_tenant.exit_code != 0
    bad_scope = runner.invoke(args=["api", "clients", "create", "fr", "X", "--scope", "all"])
    assert bad_scope.exit_code != 0 and "all" in bad_scope.output
    revoked = runner.invoke(args=["api", "clients", "revoke", "fr", client_id])
    assert revoked.exit_code == 0
    assert _clients(app, fr) == [(client_id, "ERP", True)]
