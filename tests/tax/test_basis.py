"""Whose VAT a sale pays: domestic, reverse charge, One-Stop Shop, export."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from comptoir.core.db import db
from comptoir.orders.models import Order
from comptoir.tax import basis as tax
from comptoir.tenants.models import Tenant
from comptoir.tenants.resolution import directory
from tests.conftest import as_tenant
from tests.tax.conftest import BELGIAN_VAT

TODAY = date(2026, 11, 22)


def info(app, slug):
    with app.app_context():
        return directory().by_slug(slug)


def determine(app, slug, destination, vat_number=None):
    shop = info(app, slug)
    with app.test_request_context(), as_tenant(app, shop.id):
        return tax.determine(shop, destination=destination, vat_number=vat_number,
                             on_date=TODAY)


def test_a_sale_at_home_pays_the_shops_vat(app, offices):
    found = determine(app, "fr", "FR")
    assert (found.regime, found.country, found.rate("standard")) == ("domestic", "FR",
                                                                    Decimal("20"))


def test_an_eu_company_with_a_valid_number_pays_no_vat(app, offices):
    found = determine(app, "fr", "BE", BELGIAN_VAT)
    assert (found.regime, found.vat_number, found.rate("standard")) == (
        "reverse_charge", BELGIAN_VAT, Decimal("0"))


def test_a_french_number_gets_french_vat_even_when_delivered_abroad(app, offices):
    assert determine(app, "fr", "BE", "FR40303265045").regime == "domestic"


def test_goods_leaving_the_eu_are_exports_and_swiss_exports_too(app, offices):
    assert determine(app, "fr", "CH").regime == "export"
    assert determine(app, "ch", "FR").regime == "export"
    assert determine(app, "gb", "FR").rate("standard") == Decimal("0")


def test_a_consumer_abroad_pays_the_sellers_vat_below_the_oss_threshold(app, offices):
    found = determine(app, "fr", "DE")
    assert (found.regime, found.country) == ("domestic", "FR")


def _settings(app, slug, values):
    with app.app_context():
        row = db.session.query(Tenant).filter_by(slug=slug).one()
        row.settings = {**(row.settings or {}), **values}
        db.session.commit()


def test_opted_in_to_oss_a_german_consumer_pays_german_vat(app, offices):
    _settings(app, "fr", {"oss_opted_in": True})
    found = determine(app, "fr", "DE")
    assert (found.regime, found.country, found.rate("standard")) == ("oss", "DE", Decimal("19"))
    assert found.rate("reduced") == Decimal("7")


def test_above_the_threshold_the_destinations_vat_applies(app, offices):
    _settings(app, "fr", {"oss_threshold": "1000"})
    assert determine(app, "fr", "DE").regime == "domestic"
    with as_tenant(app, offices["fr"]):
        db.session.add(Order(
            number=1, reference="fr-1", status="placed", email="a@b.example",
            billing_address={}, shipping_address={}, shipping_method="standard",
            payment_method="bank_transfer", currency="EUR", total_net=Decimal("1000.01"),
            total_vat=Decimal("0"), total_gross=Decimal("1000.01"), vat_breakdown={},
            expected_delivery=TODAY, destination_country="DE"))
        db.session.commit()
    assert determine(app, "fr", "DE").regime == "oss"
    # Another office's sales do not count towards France's threshold.
    _settings(app, "de", {"oss_threshold": "1000"})
    assert determine(app, "de", "FR").regime == "domestic"


def test_oss_to_a_country_without_a_table_is_refused_not_guessed(app, offices):
    _settings(app, "fr", {"oss_opted_in": True})
    with pytest.raises(tax.NoVatTable, match="IT"):
        determine(app, "fr", "IT")


def test_a_shop_without_a_locale_plugin_charges_no_vat(app, make_tenant):
    make_tenant("xx", country="FR")
    found = determine(app, "xx", "FR")
    assert (found.regime, found.rate("standard")) == ("untaxed", None)


def test_a_scheduled_rate_change_of_the_office_applies_from_its_date(app, offices):
    _settings(app, "fr", {"vat_rate_changes": [
        {"tax_class": "standard", "rate": "21", "valid_from": "2026-11-22"}]})
    assert determine(app, "fr", "FR").rate("standard") == Decimal("21")
    assert determine(app, "de", "DE").rate("standard") == Decimal("19")
