"""A France office with a small catalogue, its reseller, and an unrelated UK office."""

from __future__ import annotations

import pytest

from comptoir.catalog import service as catalog
from comptoir.catalog.service import VariantSpec
from comptoir.core.db import db
from tests.conftest import as_tenant

AZERTY = {"keyboard": "AZERTY", "plug": "E"}
QWERTZ = {"keyboard": "QWERTZ", "plug": "F"}


@pytest.fixture
def world(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    acme = make_tenant("acme", name="ACME", parent="fr")
    gb = make_tenant("gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP")
    with as_tenant(app, fr):
        catalog.create_category("computers", "Ordinateurs")
        catalog.create_category("laptops", "Portables", parent="computers")
        catalog.create_category("screens", "Écrans")
        db.session.flush()
        catalog.create_product(
            "LAPTOP", "Portable 14", "1000.00", category="laptops",
            variants=[VariantSpec("LAPTOP-FR", "FR", AZERTY),
                      VariantSpec("LAPTOP-DE", "DE", QWERTZ, price="1010.00")])
        catalog.create_product("DESKTOP", "PC Bureau", "600.00", category="computers",
                               variants=[VariantSpec("DESKTOP-FR", "FR", AZERTY)])
        catalog.create_product("SCREEN", "Écran 27", "300.00", category="screens")
        db.session.commit()
    with as_tenant(app, acme):
        catalog.create_category("services", "Services")
        db.session.flush()
        catalog.create_product("INSTALL", "Installation", "150.00", category="services")
        db.session.commit()
    with as_tenant(app, gb):
        catalog.create_product("UK-PC", "Office PC", "500.00")
        db.session.commit()
    return fr, acme, gb
