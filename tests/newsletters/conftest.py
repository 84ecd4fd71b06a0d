"""The newsletters tests' shops, with a real SMTP server (aiosmtpd) receiving the mail.

- ``fr``: the French office, ``locale_fr`` and ``newsletters`` on, offering French and
  English; a product in the ``imprimantes`` category with stock.
- ``acme``: a reseller of ``fr`` (inherits the plugins), co-branded.
- ``de``: an unrelated German office with the plugin on, that must see nothing of the others.

Links in mail sent by jobs lead to ``COMPTOIR_PUBLIC_URL`` = ``http://localhost``, the test
client's own host, so a test can follow a link from a message with ``client.get(url)``.
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


@pytest.fixture
def app(app_factory, smtp_server):  # noqa: F811
    return app_factory(MAIL_URL=smtp_server.url, PUBLIC_URL=PUBLIC_URL,
                       MAIL_FROM="Comptoir <news@comptoir.example>")


@dataclass
class Shops:
    fr: Tenant
    acme: Tenant
    de: Tenant
    smtp: SmtpServer


@pytest.fixture
def shops(app, make_tenant, smtp_server) -> Shops:  # noqa: F811
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr", "newsletters"])
    acme = make_tenant("acme", name="ACME Informatique", parent="fr")
    de = make_tenant("de", name="Comptoir Deutschland", country="DE", locale="de_DE",
                     plugins=["locale_de", "newsletters"])
    with app.app_context():
        db.session.get(Tenant, fr.id).settings = {"languages": ["en"]}
        db.session.commit()
    with as_tenant(app, fr):
        catalog.create_category("imprimantes", "Imprimantes", None)
        catalog.create_product("PRINTER", "Imprimante laser couleur", "300.00",
                               category="imprimantes")
        stock.create_location("lyon", "Entrepôt de Lyon")
        db.session.commit()
    with app.app_context():
        stock.receive(fr.id, "lyon", "PRINTER", 10)
    return Shops(fr, acme, de, smtp_server)


def make_customer(app: Any, tenant: Tenant, email: str, name: str = "Léa Martin",
                  role: str = "customer") -> int:
    """A customer account in ``tenant``; returns its id."""
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


def mails_to(smtp: SmtpServer, address: str) -> list[Any]:
    """What the SMTP server received for ``address``, oldest first."""
    return [r.message for r in smtp.received if address in r.rcpt_tos]
