"""What a shopper sees: co-branding, the tenant's language and formats, products, 404s."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from tests.conftest import as_tenant

LOGO = b"<svg xmlns='http://www.w3.org/2000/svg'><title>acme</title></svg>"


@pytest.fixture
def shops(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    acme = make_tenant("acme", name="ACME Informatique", parent="fr", logo=LOGO,
                       logo_type="image/svg+xml", primary_color="#0b7a75")
    gb = make_tenant("gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP")
    for tenant, price in ((fr, "1234.56"), (acme, "899.00"), (gb, "1234.56")):
        with as_tenant(app, tenant):
            catalog.create_product(f"PC-{tenant.slug}", f"PC {tenant.slug}", price)
            db.session.commit()
    return fr, acme, gb


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_reseller_shows_its_logo_beside_the_platforms(client, shops):
    html = page(client, "/s/acme/")
    assert 'class="logo logo-reseller" src="/s/acme/brand/logo"' in html
    assert 'class="logo logo-platform"' in html
    assert "--brand: #0b7a75" in html
    assert client.get("/s/acme/brand/logo").data == LOGO


def test_office_shows_the_platform_brand_only(client, shops):
    html = page(client, "/s/fr/")
    assert 'class="logo logo-platform"' in html
    assert "logo-reseller" not in html
    assert client.get("/s/fr/brand/logo").status_code == 404


def test_french_shop_speaks_french_with_french_formats(client, shops):
    html = page(client, "/s/fr/")
    assert '<html lang="fr-FR">' in html
    # A visitor is a consumer: prices include French VAT (20 %), "TTC".
    assert "Se connecter" in html and "TTC" in html
    gross = (Decimal("1234.56") * Decimal("1.20")).quantize(Decimal("0.01"))
    assert format_currency(gross, "EUR", locale="fr_FR") in html
    assert "Droit de rétractation" in html  # the locale_fr plugin's mention, translated


def test_reseller_speaks_its_offices_language(client, shops):
    html = page(client, "/s/acme/")
    assert "en partenariat avec" in html
    assert format_currency(Decimal("899.00") * Decimal("1.20"), "EUR", locale="fr_FR") in html
    assert "revendeur Comptoir France" in html


def test_uk_shop_speaks_english_and_pounds(client, shops):
    html = page(client, "/s/gb/")
    assert '<html lang="en-GB">' in html and "Log in" in html
    assert format_currency(Decimal("1234.56"), "GBP", locale="en_GB") in html
    assert "Droit de rétractation" not in html  # locale_fr is the French office's plugin


def test_each_shop_lists_only_its_own_products(client, shops):
    assert "PC-fr" in page(client, "/s/fr/") and "PC-gb" not in page(client, "/s/fr/")
    assert "PC-gb" in page(client, "/s/gb/") and "PC-fr" not in page(client, "/s/gb/")


def test_other_tenants_product_page_is_a_404(client, shops):
    assert client.get("/s/fr/products/PC-fr").status_code == 200
    assert client.get("/s/gb/products/PC-fr").status_code == 404
    assert client.get("/s/fr/products/PC-acme").status_code == 404  # a reseller's own product
    assert client.get("/s/acme/products/PC-fr").status_code == 200  # its office's catalogue


def test_empty_catalogue_says_so(client, make_tenant):
    make_tenant("empty", name="Empty Office", country="GB", locale="en_GB", currency="GBP")
    assert "This shop has no products on sale yet." in page(client, "/s/empty/")


def test_french_404_page(client, shops):
    response = client.get("/s/fr/nothing-here")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_product_page_shows_gross_price_from_the_locale_plugin(client, shops):
    html = page(client, "/s/fr/products/PC-fr")
    assert format_currency(Decimal("1481.47"), "EUR", locale="fr_FR") in html  # 1234.56 * 1.2
    assert "TTC" in html and "TVA 20\xa0%" in html


def test_product_page_says_when_no_vat_rate_is_known(client, shops):
    html = page(client, "/s/gb/products/PC-gb")
    assert "VAT is not configured for this shop yet." in html
    assert "incl. VAT" not in html
