"""Shops of every office with their locale plugin, a French reseller's company customers."""

from __future__ import annotations

import pytest

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from tests.conftest import as_tenant

OFFICES = {
    # slug: country, locale, currency, plugin, price of the notebook (office currency)
    "fr": ("FR", "fr_FR", "EUR", "locale_fr", "1049.50"),
    "de": ("DE", "de_DE", "EUR", "locale_de", "1049.50"),
    "ch": ("CH", "de_CH", "CHF", "locale_ch", "1129.00"),
    "gb": ("GB", "en_GB", "GBP", "locale_gb", "919.00"),
    "cz": ("CZ", "cs_CZ", "CZK", "locale_cz", "26990.00"),
}
BELGIAN_VAT = "BE0403170701"


@pytest.fixture
def offices(app, make_tenant):
    made = {}
    for slug, (country, locale, currency, plugin, price) in OFFICES.items():
        tenant = made[slug] = make_tenant(slug, country=country, locale=locale,
                                          currency=currency, plugins=[plugin])
        with as_tenant(app, tenant):
            catalog.create_product("NOTEBOOK-14", "Notebook 14", price, stocked=False)
            catalog.create_product("GUIDE", "Printed guide", "10.00", stocked=False,
                                   tax_class="reduced")
            db.session.commit()
    return made


@pytest.fixture
def reseller(app, make_tenant, offices):
    """ACME, reseller of the French office, with a French and a Belgian company."""
    acme = make_tenant("acme", name="ACME", parent="fr")
    with as_tenant(app, acme):
        for name, vat_number, email in (("Durand", "FR40303265045", "buyer@durand.example"),
                                        ("Durand Benelux", BELGIAN_VAT, "buyer@benelux.example"),
                                        ("Faux", "BE0403170702", "buyer@faux.example")):
            company = Company(name=name, vat_number=vat_number)
            user = User(email=email, name=name, role="buyer", company=company)
            user.set_password("password-1")
            db.session.add_all([company, user])
        db.session.commit()
    return acme
