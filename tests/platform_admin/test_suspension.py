"""Suspending a shop takes its storefront and API offline with a clear page; nothing is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.tenants.models import Tenant
from tests.conftest import as_tenant, translated
from tests.platform_admin.conftest import add_order, add_shop_user


@pytest.fixture
def shops(make_tenant):
    fr = make_tenant("fr", name="Comptoir France")
    acme = make_tenant("acme", name="ACME Informatique", parent="fr")
    gb = make_tenant("gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP")
    return fr, acme, gb


PATHS = ["/", "/cart", "/login", "/staff/", "/api/v1/products", "/api/v1/openapi.json",
         "/no/such/page"]


def _suspend(client, slug, reason="Unpaid invoices since September"):
    return client.post(f"/platform/tenants/{slug}/suspend", data={"reason": reason})


def test_a_suspended_shop_answers_503_everywhere_and_resume_brings_it_back(
        app_factory, app, admin_client, shops):
    fr, acme, gb = shops
    add_shop_user(app, acme, "buyer@acme.example", "customer")
    add_order(app, acme, "120.00")
    other_worker = app_factory().test_client()
    assert other_worker.get("/s/acme/").status_code == 200  # cached as open

    response = _suspend(admin_client, "acme")
    assert response.status_code == 302
    closed_text = translated(app, "fr_FR", "This shop is closed for the moment")
    for client in (app.test_client(), other_worker):
        for path in PATHS:
            answer = client.get("/s/acme" + path)
            assert answer.status_code == 503, path
            if path.startswith("/api/"):
                assert answer.is_json
                assert answer.get_json()["error"]["code"] == "shop_suspended"
            else:
                page = answer.get_data(as_text=True)
                assert closed_text in page
                assert "Unpaid invoices" not in page  # the reason stays internal
        assert client.post("/s/acme/login", data={"email": "buyer@acme.example",
                                                  "password": "x"}).status_code == 503
    # The other shops are untouched, the office of the suspended reseller included.
    assert app.test_client().get("/s/fr/").status_code == 200
    assert app.test_client().get("/s/gb/").status_code == 200
    # The platform's home stops listing it; the platform admin still sees why.
    home = app.test_client().get("/").get_data(as_text=True)
    assert "ACME Informatique" not in home and "Comptoir UK" in home
    tenant_page = admin_client.get("/platform/tenants/acme").get_data(as_text=True)
    assert "Unpaid invoices since September" in tenant_page

    assert admin_client.post("/platform/tenants/acme/resume").status_code == 302
    for client in (app.test_client(), other_worker):
        assert client.get("/s/acme/").status_code == 200
    assert "ACME Informatique" in app.test_client().get("/").get_data(as_text=True)
    # Nothing was deleted meanwhile.
    with as_tenant(app, acme):
        assert db.session.scalars(select(User.email)).all() == ["buyer@acme.example"]
    with app.app_context():
        row = db.session.scalars(select(Tenant).where(Tenant.slug == "acme")).one()
        assert (row.status, row.suspended_at, row.suspension_reason) == ("active", None, None)


def test_a_suspended_office_leaves_its_resellers_open(app, admin_client, shops):
    assert _suspend(admin_client, "fr").status_code == 302
    assert app.test_client().get("/s/fr/").status_code == 503
    assert app.test_client().get("/s/acme/").status_code == 200


def test_a_suspended_shop_on_its_own_domain_is_closed_too(app_factory, make_tenant):
    from comptoir.tenants import service

    app = app_factory(PLATFORM_DOMAIN="comptoir.test")
    make_tenant("fr", domains=("boutique.example.fr",))
    with app.app_context():
        service.suspend_tenant(service.get_tenant("fr"), "test", "test")
        db.session.commit()
    client = app.test_client()
    assert client.get("/", base_url="http://boutique.example.fr").status_code == 503
    assert client.get("/", base_url="http://fr.comptoir.test").status_code == 503
    api = client.get("/api/v1/orders", base_url="http://fr.comptoir.test")
    assert api.headers["Retry-After"] == "3600"
    assert api.get_json() == {"error": {
        "code": "shop_suspended", "message": "This shop is closed for the moment.",
        "status": 503, "details": {}}}
    # The closed page keeps its stylesheet.
    assert client.get("/theme/comptoir.css", base_url="http://fr.comptoir.test"
                      ).status_code == 200


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
def test_suspending_needs_a_reason(app, admin_client, shops, reason):
    response = _suspend(admin_client, "acme", reason)
    assert response.status_code == 400 and "reason:" in response.get_data(as_text=True)
    assert app.test_client().get("/s/acme/").status_code == 200


def test_suspend_twice_or_resume_an_open_shop_is_refused(app, admin_client, shops):
    resume = admin_client.post("/platform/tenants/acme/resume")
    assert resume.status_code == 400 and "not suspended" in resume.get_data(as_text=True)
    _suspend(admin_client, "acme")
    again = _suspend(admin_client, "acme")
    assert again.status_code == 400 and "already suspended" in again.get_data(as_text=True)


def test_an_unknown_tenant_is_404_and_suspending_needs_an_admin(app, admin_client, shops):
    assert admin_client.get("/platform/tenants/nowhere").status_code == 404
    assert _suspend(admin_client, "nowhere").status_code == 404
    assert _suspend(app.test_client(), "acme").status_code == 401
    assert app.test_client().get("/s/acme/").status_code == 200


def test_the_dashboard_filters_suspended_shops(app, admin_client, shops):
    _suspend(admin_client, "gb")
    page = admin_client.get("/platform/?status=suspended").get_data(as_text=True)
    assert 'data-slug="gb"' in page and 'data-slug="acme"' not in page
