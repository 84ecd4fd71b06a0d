"""The VAT a shopper sees and is charged, in each office, and on a reverse-charge invoice."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.orders.models import Order
from tests.conftest import as_tenant
from tests.orders.conftest import ADDRESS, add, checkout, log_in
from tests.tax.conftest import BELGIAN_VAT, OFFICES

BRUSSELS = {"billing_name": "Luc Peeters", "billing_street": "Rue de la Loi 16",
            "billing_postcode": "1000", "billing_city": "Bruxelles", "billing_country": "BE"}

# The same basket everywhere: the notebook (standard rate) and a printed guide (reduced
# rate, 10.00 in every currency). VAT worked out by hand from each country's rates and
# rounding: FR 20 % and 5.5 %, DE 19 % and 7 %, CH 8.1 % and 2.6 %, GB 20 % and 5 % (per
# line), CZ 21 % and 12 %.
GOLDEN_GROSS = {
    "fr": (Decimal("1269.95"), "Total TTC"),      # 1059.50 + 209.90 + 0.55
    "de": (Decimal("1259.61"), "Gesamt inkl. MwSt."),  # 1059.50 + 199.41 + 0.70
    "ch": (Decimal("1230.71"), "Gesamt inkl. MwSt."),  # 1139.00 + 91.45 + 0.26
    "gb": (Decimal("1113.30"), "Total incl. VAT"),  # 929.00 + 183.80 + 0.50
    "cz": (Decimal("32669.10"), "Celkem s DPH"),  # 27000.00 + 5667.90 + 1.20
}


@pytest.mark.parametrize("slug", sorted(OFFICES))
def test_the_same_basket_in_each_office_in_its_language_currency_and_vat(client, offices,
                                                                          slug):
    country, locale, currency, _plugin, _price = OFFICES[slug]
    add(client, "NOTEBOOK-14", slug=slug)
    add(client, "GUIDE", slug=slug)
    html = client.get(f"/s/{slug}/cart").get_data(as_text=True)
    gross, label = GOLDEN_GROSS[slug]
    assert f'<html lang="{locale.replace("_", "-")}">' in html
    assert format_currency(gross, currency, locale=locale) in html
    assert label in html or label.lower() in html.lower()




def test_a_belgian_company_gets_a_reverse_charge_invoice(app, client, reseller):
    log_in(client, email="buyer@benelux.example")
    add(client, "NOTEBOOK-14")
    response = checkout(client, **BRUSSELS)
    assert response.status_code == 303, response.get_data(as_text=True)
    with as_tenant(app, reseller):
        order = db.session.scalars(select(Order)).one()
        assert (order.vat_regime, order.total_vat, order.buyer_vat_number) == (
            "reverse_charge", Decimal("0.00"), BELGIAN_VAT)
        assert order.total_gross == order.total_net == Decimal("1049.50")
    html = client.get("/s/acme/orders/1/invoice").get_data(as_text=True)
    assert "Autoliquidation" in html and BELGIAN_VAT in html
    assert format_currency(Decimal("0"), "EUR", locale="fr_FR") in html
    # Between businesses, French invoices state the late-payment penalties and indemnity.
    assert "40" in html and "recouvrement" in html

    from pypdf import PdfReader

    pdf = client.get("/s/acme/orders/1/invoice.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Autoliquidation" in text and BELGIAN_VAT in text


def test_a_number_with_wrong_check_digits_pays_french_vat(app, client, reseller):
    log_in(client, email="buyer@faux.example")
    add(client, "NOTEBOOK-14")
    assert checkout(client, **BRUSSELS).status_code == 303
    with as_tenant(app, reseller):
        order = db.session.scalars(select(Order)).one()
        assert (order.vat_regime, order.total_vat) == ("domestic", Decimal("209.90"))


def test_a_consumer_invoice_has_no_b2b_penalties(app, client, reseller):
    add(client, "NOTEBOOK-14")
    response = checkout(client, email="claire@example.fr", payment_method="bank_transfer")
    assert response.status_code == 303
    html = client.get("/s/acme/orders/1/invoice").get_data(as_text=True)
    assert "recouvrement" not in html and "Autoliquidation" not in html
    assert "Droit de rétractation" in html


def test_when_the_address_changes_the_vat_the_shopper_confirms_new_totals(app, client,
                                                                         reseller):
    log_in(client, email="buyer@benelux.example")
    add(client, "NOTEBOOK-14")
    # The page was shown with French VAT (no address yet); the Brussels address changes it.
    refused = checkout(client, tax_basis="domestic:FR", **BRUSSELS)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "TVA" in html and 'name="tax_basis" value="reverse_charge:"' in html
    with as_tenant(app, reseller):
        assert db.session.scalars(select(Order)).first() is None
    confirmed = checkout(client, tax_basis="reverse_charge:", **BRUSSELS)
    assert confirmed.status_code == 303


def test_an_item_without_a_rate_in_the_country_is_refused_at_checkout(app, client, offices):
    from comptoir.catalog import service as catalog

    with as_tenant(app, offices["de"]):
        catalog.create_product("BUCH", "Buch", "20.00", stocked=False, tax_class="intermediate")
        db.session.commit()
    add(client, "BUCH", slug="de")
    response = checkout(client, slug="de", email="anna@example.de",
                        payment_method="bank_transfer",
                        **{**ADDRESS, "billing_country": "DE"})
    assert response.status_code == 400
    assert "intermediate" in response.get_data(as_text=True)
    with as_tenant(app, offices["de"]):
        assert db.session.scalars(select(Order)).first() is None


def test_companies_read_prices_excluding_vat_consumers_including_it(client, reseller):
    visitor = client.get("/s/fr/products/NOTEBOOK-14").get_data(as_text=True)
    assert format_currency(Decimal("1259.40"), "EUR", locale="fr_FR") in visitor  # 1049.50 TTC
    log_in(client, email="buyer@durand.example")
    company = client.get("/s/acme/products/NOTEBOOK-14").get_data(as_text=True)
    assert '<span class="net">' + format_currency(Decimal("1049.50"), "EUR",
                                                  locale="fr_FR") in company


def test_a_shopper_switches_the_price_display_for_the_visit(client, offices):
    switched = client.post("/s/fr/prices", data={"mode": "net", "next": "/s/fr/products/GUIDE"})
    assert switched.status_code == 303 and switched.location.endswith("/s/fr/products/GUIDE")
    html = client.get("/s/fr/products/GUIDE").get_data(as_text=True)
    assert '<span class="net">' + format_currency(Decimal("10.00"), "EUR", locale="fr_FR") in html
    bad = client.post("/s/fr/prices", data={"mode": "both"})
    assert bad.status_code == 400 and "both" in bad.get_data(as_text=True)
    outside = client.post("/s/fr/prices", data={"mode": "gross", "next": "//evil.example/"})
    assert outside.location.endswith("/s/fr/")


def test_another_office_sees_none_of_the_first_ones_orders_or_checks(app, client, reseller,
                                                                     offices):
    from comptoir.tax.models import VatNumberCheck

    log_in(client, email="buyer@benelux.example")
    add(client, "NOTEBOOK-14")
    assert checkout(client, **BRUSSELS).status_code == 303
    with as_tenant(app, offices["de"]):
        assert db.session.scalars(select(Order)).first() is None
        assert db.session.scalars(select(VatNumberCheck)).first() is None
    assert client.get("/s/de/orders/1/invoice").status_code == 404
