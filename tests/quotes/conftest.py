"""ACME's salesperson writing quotes for Durand, e-mail through a real SMTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers import service as customers
from comptoir.customers.models import Company, User
from tests.conftest import as_tenant
from tests.mailserver import smtp_server  # noqa: F401  (fixture)
from tests.orders.conftest import log_in, shop  # noqa: F401  (fixture)


@pytest.fixture
def app(app_factory, smtp_server):  # noqa: F811  (the imported fixture)
    return app_factory(MAIL_URL=smtp_server.url)


@pytest.fixture
def quoting(app, shop):  # noqa: F811  (the imported fixture)
    """ACME's salesperson, and Durand's address book."""
    _fr, acme, _gb = shop
    with as_tenant(app, acme):
        seller = User(email="ventes@acme.example", name="Julie", role="staff")
        seller.set_password("password-1")
        db.session.add(seller)
        durand = db.session.scalars(select(Company).filter_by(name="Durand")).one()
        customers.add_address(durand, {"label": "Siège", "name": "Durand", "street": "1 rue",
                                       "postcode": "69002", "city": "Lyon", "country": "FR"})
        db.session.commit()
        durand_id = durand.id
        buyer_id = db.session.scalars(select(User.id).filter_by(
            email="buyer@durand.example")).one()
    sales = app.test_client()
    log_in(sales, email="ventes@acme.example")
    return sales, durand_id, buyer_id
