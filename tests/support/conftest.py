"""The support tests' shops, with a real SMTP server (aiosmtpd) receiving the mail.

- ``fr``: the French office with ``locale_fr`` and ``support`` on, in English and French,
  its help desk at ``support@comptoir-france.example``; a printer in stock and a customer
  with a delivered order.
- ``acme``: a reseller of ``fr`` (inherits the plugins), co-branded.
- ``de``: an unrelated German office with the plugin on, that must see nothing of the others.

Links in mail lead to ``COMPTOIR_PUBLIC_URL`` = ``http://localhost``, the test client's own
host, so a test can follow a link from a message with ``client.get(url)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.stock import service as stock
from comptoir.tenants.models import Tenant
from tests.conftest import as_tenant
from tests.mailserver import SmtpServer, smtp_server  # noqa: F401  (the fixture)

PUBLIC_URL = "http://localhost"
INBOUND = "support@comptoir-france.example"


@pytest.fixture
def app(app_factory, smtp_server):  # noqa: F811
    return app_factory(MAIL_URL=smtp_server.url, PUBLIC_URL=PUBLIC_URL,
                       MAIL_FROM="Comptoir <shop@comptoir.example>")


@dataclass
class Shops:
    fr: Tenant
    acme: Tenant
    de: Tenant
    smtp: SmtpServer


@pytest.fixture
def shops(app, make_tenant, smtp_server) -> Shops:  # noqa: F811
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr", "support"])
    acme = make_tenant("acme", name="ACME Informatique", parent="fr")
    de = make_tenant("de", name="Comptoir Deutschland", country="DE", locale="de_DE",
                     plugins=["locale_de", "support"])
    with app.app_context():
        tenant = db.session.get(Tenant, fr.id)
        tenant.settings = {"languages": ["en"]}
        db.session.commit()
    set_support_settings(app, fr, inbound_address=INBOUND)
    for shop in (fr, de):
        with as_tenant(app, shop):
            catalog.create_category("imprimantes", "Imprimantes", None)
            catalog.create_product("PRINTER", "Imprimante laser couleur", "300.00",
                                   category="imprimantes")
            stock.create_location("lyon", "Entrepôt")
            db.session.commit()
        with app.app_context():
            stock.receive(shop.id, "lyon", "PRINTER", 10)
    return Shops(fr, acme, de, smtp_server)


def set_support_settings(app: Any, tenant: Tenant, **values: Any) -> None:
    """Change the support plugin's settings of ``tenant`` (through the core's service)."""
    from comptoir.tenants import service

    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        service.update_plugin_settings(row, "support", values)
        db.session.commit()


def make_customer(app: Any, tenant: Tenant, email: str, name: str = "Léa Martin",
                  role: str = "customer") -> int:
    """An account in ``tenant`` (``role="staff"`` for the help desk); returns its id."""
    with as_tenant(app, tenant):
        user = User(email=email, name=name, role=role)
        user.set_password("password-1")
        db.session.add(user)
        db.session.commit()
        return user.id


def login(client: Any, tenant: Tenant, email: str, password: str = "password-1") -> None:
    response = client.post(f"/s/{tenant.slug}/login",
                           data={"email": email, "password": password})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]


def make_order(app: Any, tenant: Tenant, user_id: int | None, email: str = "lea@example.fr",
               status: str = "placed") -> int:
    """An order as the order service writes it (addresses, totals, one printer) of
    ``user_id`` (``None``: a guest's) in ``tenant``; returns its number."""
    from datetime import date
    from decimal import Decimal

    from sqlalchemy import func, select

    from comptoir.orders.models import Order, OrderLine

    address = {"name": "Léa Martin", "street": "1 rue de la Paix", "postcode": "75002",
               "city": "Paris", "country": "FR", "company": ""}
    net, gross = Decimal("300.00"), Decimal("360.00")
    with as_tenant(app, tenant):
        number = (db.session.scalar(select(func.max(Order.number))) or 1000) + 1
        order = Order(
            number=number, reference=f"T-{tenant.id}-{number}", status=status, email=email,
            user_id=user_id, billing_address=address, shipping_address=address,
            shipping_method="standard", payment_method="bank_transfer", currency="EUR",
            total_net=net, total_vat=gross - net, total_gross=gross, vat_breakdown={},
            tax_country="FR", destination_country="FR", expected_delivery=date.today())
        order.lines = [OrderLine(sku="PRINTER", name="Imprimante laser couleur", quantity=1,
                                 unit_public=net, unit_net=net, line_net=net,
                                 tax_class="standard", vat_rate=Decimal("20"))]
        db.session.add(order)
        db.session.commit()
        return number
