"""A France office with stock, its reseller with a company buyer, and an unrelated UK office."""

from __future__ import annotations

import pytest

from comptoir.catalog import service as catalog
from comptoir.catalog.service import VariantSpec
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.stock import service as stock
from tests.conftest import as_tenant

ADDRESS = {
    "billing_name": "Claire Durand", "billing_street": "12 rue de la République",
    "billing_postcode": "69002", "billing_city": "Lyon", "billing_country": "FR",
    "same_address": "yes", "shipping_method": "standard",
}


@pytest.fixture
def shop(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    acme = make_tenant("acme", name="ACME", parent="fr")
    gb = make_tenant("gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP")
    with as_tenant(app, fr):
        catalog.create_product("LAPTOP", "Portable 14", "1000.00",
                               variants=[VariantSpec("LAPTOP-FR", "FR", {"keyboard": "AZERTY"})])
        catalog.create_product("SCREEN", "Écran 27", "300.00")
        catalog.create_product("SUPPORT", "Assistance", "50.00", stocked=False)
        stock.create_location("lyon", "Entrepôt de Lyon")
        stock.create_location("paris", "Boutique Paris", kind="shop")
        db.session.commit()
    with app.app_context():
        for location, units in (("lyon", 5), ("paris", 2)):
            stock.receive(fr.id, location, "LAPTOP-FR", units, low_threshold=1)
            stock.receive(fr.id, location, "SCREEN", units)
    with as_tenant(app, acme):
        company = Company(name="Durand")
        db.session.add(company)
        for email, role in (("buyer@durand.example", "buyer"),
                            ("admin@durand.example", "company_admin")):
            user = User(email=email, name=email.split("@")[0].title(), role=role,
                        company=company)
            user.set_password("password-1")
            db.session.add(user)
        db.session.commit()
    with as_tenant(app, gb):
        catalog.create_product("UK-PC", "Office PC", "500.00", stocked=False)
        db.session.commit()
    return fr, acme, gb


def staff_client(app, tenant, email, slug=None):
    """A logged-in test client for a new staff user of ``tenant``."""
    with as_tenant(app, tenant):
        user = User(email=email, name=email.split("@")[0].title(), role="staff")
        user.set_password("password-1")
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    log_in(client, slug=slug or tenant.slug, email=email)
    return client


def log_in(client, slug="acme", email="buyer@durand.example"):
    response = client.post(f"/s/{slug}/login", data={"email": email, "password": "password-1"})
    assert response.status_code == 302, response.get_data(as_text=True)


def add(client, sku, quantity="1", slug="acme", kind=None):
    data = {"sku": sku, "quantity": quantity}
    if kind:
        data["kind"] = kind
    return client.post(f"/s/{slug}/cart/add", data=data)


def checkout(client, slug="acme", **overrides):
    data = {**ADDRESS, "payment_method": "invoice", **overrides}
    return client.post(f"/s/{slug}/checkout", data=data)
