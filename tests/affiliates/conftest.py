"""The orders tests' shop with the affiliates plugin on for the reseller ``acme``, a partner
site with its own link, and a second reseller ``bytes`` that must see none of it."""

from __future__ import annotations

import pytest

from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from tests.conftest import as_tenant
from tests.orders.conftest import shop, staff_client  # noqa: F401  (the fixture, reused)


@pytest.fixture
def partner_shop(app, shop, make_tenant):  # noqa: F811
    fr, acme, gb = shop
    other = make_tenant("bytes", name="Bytes SARL", parent="fr", plugins=["affiliates"])
    with app.app_context():
        row = db.session.get(Tenant, acme.id)
        tenants.set_plugin_enabled(row, "affiliates", True)
        tenants.update_plugin_settings(row, "affiliates", {"payout_minimum": "10.00"})
        db.session.commit()
    from comptoir.catalog import service as catalog
    from comptoir.stock import service as stock
    from plugins.affiliates import rules
    from plugins.affiliates.models import Affiliate

    with as_tenant(app, fr):
        catalog.create_category("ecrans", "Écrans", None)
        catalog.create_product("MONITOR", "Moniteur 24", "200.00", category="ecrans")
        db.session.commit()
    with app.app_context():
        stock.receive(fr.id, "lyon", "MONITOR", 10)
    with as_tenant(app, acme):
        blog = Affiliate(code="BLOGPRO", name="Blog Info Pro", kind="partner_site",
                         email="redaction@blog.example")
        db.session.add(blog)
        db.session.flush()
        rules.add_rule(blog, value="10")                       # 10 % on everything
        rules.add_rule(blog, category="ecrans", kind="flat", value="15")  # 15 per screen
        db.session.commit()
    return fr, acme, other


@pytest.fixture
def staff(app, partner_shop):
    return staff_client(app, partner_shop[1], "ventes@acme.example")


def customer(app, tenant, email, name="Léa Martin"):
    with as_tenant(app, tenant):
        user = User(email=email, name=name, role="customer")
        user.set_password("password-1")
        db.session.add(user)
        db.session.commit()
        return user.id

