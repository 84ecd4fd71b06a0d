"""A French office and its reseller with the approvals plugin, a company with a three-level
chain (buyer 0, supervisor 20,000, director 500,000), and e-mail through a real SMTP server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from plugins.approvals.chain import Link, save
from tests.conftest import as_tenant
from tests.mailserver import smtp_server  # noqa: F401  (fixture)

PEOPLE = (
    # e-mail, name, role, level, ceiling, reports to, approves budgets
    ("buyer@durand.example", "Marc", "buyer", 1, "0", "chef@durand.example", False),
    ("chef@durand.example", "Sophie", "approver", 2, "20000", "boss@durand.example", True),
    ("boss@durand.example", "Claire", "company_admin", 3, "500000", None, True),
)


@pytest.fixture
def app(app_factory, smtp_server):  # noqa: F811
    return app_factory(MAIL_URL=smtp_server.url)


@pytest.fixture
def shop(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    acme = make_tenant("acme", name="ACME", parent="fr", plugins=["approvals"])
    other = make_tenant("other", name="Autre", plugins=["approvals"])
    with as_tenant(app, fr):
        catalog.create_product("SERVER", "Serveur", "12500.00", stocked=False)
        catalog.create_product("RACK", "Baie", "300000.00", stocked=False)
        db.session.commit()
    with as_tenant(app, acme):
        durand = Company(name="Durand")
        rival = Company(name="Rival")
        db.session.add_all([durand, rival])
        users = {}
        for email, name, role, *_rest in PEOPLE:
            users[email] = User(email=email, name=name, role=role, company=durand)
        users["rival@rival.example"] = User(email="rival@rival.example", name="Rival",
                                            role="company_admin", company=rival)
        for user in users.values():
            user.set_password("password-1")
        db.session.add_all(users.values())
        db.session.flush()
        save(durand.id, [Link(users[e].id, level, Decimal(ceiling),
                              users[boss].id if boss else None, budget)
                         for e, _n, _r, level, ceiling, boss, budget in PEOPLE],
             {u.id: u.email for u in users.values() if u.company_id == durand.id})
        db.session.commit()
    return fr, acme, other


def log_in(client, email, slug="acme"):
    response = client.post(f"/s/{slug}/login", data={"email": email, "password": "password-1"})
    assert response.status_code == 302, response.get_data(as_text=True)


def order(client, sku, quantity, slug="acme"):
    client.post(f"/s/{slug}/cart/add", data={"sku": sku, "quantity": str(quantity)})
    return client.post(f"/s/{slug}/checkout", data={
        "billing_name": "Marc", "billing_street": "12 rue de la République",
        "billing_postcode": "69002", "billing_city": "Lyon", "billing_country": "FR",
        "same_address": "yes", "shipping_method": "standard", "payment_method": "invoice"})
