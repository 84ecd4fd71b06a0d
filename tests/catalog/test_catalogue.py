"""Browsing the catalogue: inheritance from the office, hiding, search, facets, pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from sqlalchemy import select, text, update

from comptoir.catalog import service as catalog
from comptoir.catalog.models import Product
from comptoir.core.db import db
from comptoir.core.scoping import TenantIsolationError
from tests.conftest import as_tenant, requires_postgresql


def names(client, url):
    html = client.get(url).get_data(as_text=True)
    return [part.split("</h2>", 1)[0] for part in html.split('<h2>')[1:]
            if "</a>" in part.split("</h2>", 1)[1][:10]]


def listed(client, url):
    html = client.get(url).get_data(as_text=True)
    return sorted(chunk.split('"', 1)[0] for chunk in html.split('href="')
                  if "/products/" in chunk.split('"', 1)[0] and "variant=" not in chunk)


def test_reseller_sells_its_offices_catalogue_plus_its_own(client, world):
    assert listed(client, "/s/acme/") == [
        "/s/acme/products/DESKTOP", "/s/acme/products/INSTALL", "/s/acme/products/LAPTOP",
        "/s/acme/products/SCREEN"]
    assert listed(client, "/s/fr/") == [
        "/s/fr/products/DESKTOP", "/s/fr/products/LAPTOP", "/s/fr/products/SCREEN"]


def test_other_office_sees_nothing_of_france(client, world):
    assert listed(client, "/s/gb/") == ["/s/gb/products/UK-PC"]
    for sku in ("LAPTOP", "LAPTOP-FR", "INSTALL"):
        assert client.get(f"/s/gb/products/{sku}").status_code == 404
    assert client.get("/s/gb/c/computers").status_code == 404


def test_reseller_may_hide_an_office_product(app, client, world):
    _, acme, _ = world
    with as_tenant(app, acme):
        catalog.hide_product("SCREEN")
        db.session.commit()
    assert "/s/acme/products/SCREEN" not in listed(client, "/s/acme/")
    assert client.get("/s/acme/products/SCREEN").status_code == 404
    assert "/s/fr/products/SCREEN" in listed(client, "/s/fr/")  # the office still sells it


def test_hiding_ones_own_product_is_refused(app, world):
    _, acme, _ = world
    with as_tenant(app, acme), pytest.raises(catalog.CatalogError, match="your own product"):
        catalog.hide_product("INSTALL")


def test_reseller_cannot_change_office_rows(app, world):
    _, acme, _ = world
    with as_tenant(app, acme):
        laptop = db.session.scalars(select(Product).where(Product.sku == "LAPTOP")).one()
        laptop.price = Decimal("1.00")
        with pytest.raises(TenantIsolationError):
            db.session.commit()
        db.session.rollback()
        db.session.execute(update(Product).values(price=Decimal("2.00")))
        db.session.commit()
    with as_tenant(app, world[0]):
        prices = dict(db.session.execute(select(Product.sku, Product.price)).all())
    assert prices == {"LAPTOP": Decimal("1000.00"), "DESKTOP": Decimal("600.00"),
                      "SCREEN": Decimal("300.00")}


def test_category_page_includes_sub_categories(client, world):
    assert listed(client, "/s/fr/c/computers") == [
        "/s/fr/products/DESKTOP", "/s/fr/products/LAPTOP"]
    assert listed(client, "/s/fr/c/laptops") == ["/s/fr/products/LAPTOP"]
    assert client.get("/s/fr/c/services").status_code == 404  # acme's category
    assert client.get("/s/acme/c/services").status_code == 200


def test_search_by_name_and_variant_sku(client, world):
    assert listed(client, "/s/fr/search?q=portable") == ["/s/fr/products/LAPTOP"]
    assert listed(client, "/s/fr/search?q=laptop-de") == ["/s/fr/products/LAPTOP"]
    html = client.get("/s/fr/search?q=zzz").get_data(as_text=True)
    assert "Aucun produit ne correspond à votre recherche." in html


def test_facets_count_and_filter(client, world):
    html = client.get("/s/fr/").get_data(as_text=True)
    assert ">QWERTZ</a> <span class=\"meta\">(1)" in html
    assert ">AZERTY</a> <span class=\"meta\">(2)" in html
    assert listed(client, "/s/fr/?keyboard=QWERTZ") == ["/s/fr/products/LAPTOP"]
    assert listed(client, "/s/fr/?keyboard=DVORAK") == []


def test_pagination(app, client, world):
    fr = world[0]
    with as_tenant(app, fr):
        for n in range(30):
            catalog.create_product(f"CABLE-{n:02}", f"Zz câble {n:02}", "5.00")
        db.session.commit()
    first, second = listed(client, "/s/fr/"), listed(client, "/s/fr/?page=2")
    assert len(first) == 24 and len(second) == 9 and not set(first) & set(second)
    assert listed(client, "/s/fr/?page=99") == second  # past the end: the last page
    assert listed(client, "/s/fr/?page=abc") == first


def test_product_page_offers_the_shops_country_variant_first(client, world):
    html = client.get("/s/fr/products/LAPTOP").get_data(as_text=True)
    assert "Référence LAPTOP-FR" in html
    german = client.get("/s/fr/products/LAPTOP?variant=LAPTOP-DE").get_data(as_text=True)
    assert "Référence LAPTOP-DE" in german
    assert format_currency(Decimal("1010.00"), "EUR", locale="fr_FR") in german


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sku": "bad sku"}, "sku"),
        ({"sku": "LAPTOP"}, "sku"),  # already in the office's catalogue
        ({"price": "-1"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"price": "douze"}, "price"),
        ({"price": 12.5}, "price"),
        ({"category": "nowhere"}, "category"),
        ({"tax_class": "luxury"}, "tax_class"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_product_is_refused_and_nothing_is_added(app, world, kwargs, field):
    _, acme, _ = world
    values = {"sku": "NEW", "name": "New", "price": "10.00", **kwargs}
    with as_tenant(app, acme):
        with pytest.raises(catalog.CatalogError) as refused:
            catalog.create_product(values.pop("sku"), values.pop("name"), values.pop("price"),
                                   **values)
        db.session.rollback()
        assert refused.value.field == field
        count = db.session.scalar(select(Product.id).where(Product.sku == "NEW"))
    assert count is None


@requires_postgresql
def test_rls_lets_a_reseller_read_but_not_write_office_rows(app, world):
    fr, acme, gb = world
    with as_tenant(app, acme):
        rows = db.session.execute(text("SELECT sku FROM products ORDER BY sku")).scalars().all()
        assert rows == ["DESKTOP", "INSTALL", "LAPTOP", "SCREEN"]
        assert db.session.execute(text("UPDATE products SET price = 1")).rowcount == 1
        deleted = db.session.execute(text("DELETE FROM variants WHERE sku = 'LAPTOP-FR'"))
        assert deleted.rowcount == 0
        db.session.rollback()
    with as_tenant(app, gb):
        rows = db.session.execute(text("SELECT sku FROM products")).scalars().all()
        assert rows == ["UK-PC"]


@pytest.mark.parametrize(("current", "pages", "window"), [
    (1, 1, [1]),
    (1, 3, [1, 2, 3]),
    (1, 209, [1, 2, 3, None, 209]),
    (100, 209, [1, None, 98, 99, 100, 101, 102, None, 209]),
    (209, 209, [1, None, 207, 208, 209]),
    (4, 9, [1, 2, 3, 4, 5, 6, None, 9]),
])
def test_the_pager_shows_a_window_of_pages_not_all_of_them(current, pages, window):
    from comptoir.storefront.views import page_window

    assert page_window(current, pages) == window
