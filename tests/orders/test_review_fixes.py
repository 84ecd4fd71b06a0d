"""Defects a review found in checkout and stock, kept fixed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from comptoir.catalog import service as catalog
from comptoir.catalog.models import Configuration, Product
from comptoir.core.db import db
from comptoir.orders import service
from comptoir.orders.models import Order
from comptoir.stock import service as stock
from comptoir.tenants.resolution import directory
from tests.conftest import as_tenant
from tests.orders.conftest import add, checkout, log_in, staff_client


def test_a_guest_session_copied_to_another_shop_opens_no_order(app, shop):
    guest_uk, guest_acme = app.test_client(), app.test_client()
    add(guest_acme, "SCREEN")
    assert checkout(guest_acme, email="victim@example.com",
                    payment_method="bank_transfer").status_code == 303
    add(guest_uk, "UK-PC", slug="gb")
    assert checkout(guest_uk, slug="gb", email="attacker@example.com",
                    payment_method="bank_transfer", billing_country="GB").status_code == 303
    stolen = guest_uk.get_cookie("session-gb", path="/s/gb/")
    guest_uk.set_cookie("session-acme", stolen.value, path="/s/acme/")
    assert guest_uk.get("/s/acme/orders/1").status_code == 404
    taken = guest_uk.post("/s/acme/orders/1/account",
                          data={"name": "Attacker", "password": "attacker-pass"})
    assert taken.status_code == 404


def test_two_people_acting_on_one_order_at_once_one_wins(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    add(client, "LAPTOP-FR", "2")
    checkout(client)
    with app.test_request_context("/"), as_tenant(app, acme):
        tenant = directory().by_id(acme.id)
        stale = db.session.scalars(select(Order)).one()  # staff A opened the order
        with as_tenant(app, acme):  # staff B cancels it meanwhile
            other = db.session.scalars(select(Order)).one()
            service.change_status(tenant, other, "cancelled", "b@acme", by_staff=True)
        with pytest.raises(service.CheckoutError, match="changed meanwhile"):
            service.change_status(tenant, stale, "shipped", "a@acme", by_staff=True)
    from tests.orders.test_returns_and_staff import laptops

    assert laptops(app, fr) == (7, 0)  # released once, never shipped


def test_staff_cannot_approve_or_return_by_hand(app, shop):
    assert "placed" not in service.STAFF_TRANSITIONS[service.PENDING_APPROVAL]
    assert service.RETURNED not in service.STAFF_TRANSITIONS.get(service.DELIVERED, set())


def test_a_reseller_sku_wins_over_the_same_sku_of_its_office(app, client, shop):
    fr, acme, _ = shop
    with as_tenant(app, acme):
        catalog.create_product("KIT", "Kit ACME", "10.00", stocked=False)
        db.session.commit()
    with as_tenant(app, fr):
        catalog.create_product("KIT", "Kit bureau", "5000.00", stocked=False)
        db.session.commit()
    log_in(client)
    add(client, "KIT")
    assert checkout(client).status_code == 303
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert (order.lines[0].name, order.total_net) == ("Kit ACME", Decimal("10.00"))


def test_an_item_taken_off_sale_after_going_in_the_cart_is_refused(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    add(client, "SCREEN")
    with as_tenant(app, fr):
        db.session.scalars(select(Product).where(Product.sku == "SCREEN")).one().active = False
        db.session.commit()
    refused = checkout(client)
    assert refused.status_code == 400
    with as_tenant(app, acme):
        assert db.session.scalars(select(Order)).all() == []


def test_a_mixed_configuration_is_taxed_at_each_rate(app, client, shop):
    fr, acme, _ = shop
    with as_tenant(app, fr):
        catalog.create_product("GUIDE", "Guide de l'utilisateur", "20.00",
                               tax_class="reduced", stocked=False)
        db.session.commit()
    with as_tenant(app, acme):
        catalog.create_configuration("PACK", "Écran et guide", [("SCREEN", 1), ("GUIDE", 1)])
        db.session.commit()
    log_in(client)
    add(client, "PACK", kind="configuration")
    assert checkout(client).status_code == 303
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert order.vat_breakdown == {"5.5": "1.10", "20": "60.00"}
        assert order.total_net == Decimal("320.00")
        assert sorted(configuration.tax_class for configuration in order.lines) == [
            "reduced", "standard"]
    assert Configuration  # the model the pack is built from


def test_checkout_summary_shows_delivery_vat_and_gross(app, client, shop):
    from babel.numbers import format_currency

    add(client, "SCREEN")
    page = client.get("/s/acme/checkout").get_data(as_text=True)
    assert "Total TTC" in page
    assert format_currency(Decimal("360.00"), "EUR", locale="fr_FR") in page


def test_a_reseller_sells_its_own_stocked_products_from_its_own_shelves(app, client, shop):
    _, acme, _ = shop
    with as_tenant(app, acme):
        catalog.create_product("ACME-BAG", "Sacoche ACME", "30.00")
        stock.create_location("acme-shop", "Boutique ACME", kind="shop")
        db.session.commit()
    with app.app_context():
        stock.receive(acme.id, "acme-shop", "ACME-BAG", 2)
    log_in(client)
    add(client, "ACME-BAG", "2")
    add(client, "SCREEN", "1")
    assert checkout(client).status_code == 303
    with as_tenant(app, acme):
        bag = catalog.find_variant("ACME-BAG")
        assert stock.availability([bag.id])[bag.id] == 0


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/s/acme/cart/add", {"sku": "SCREEN", "quantity": "²"}),
        ("post", "/s/acme/cart/add", {"sku": "SCR\x00EEN", "quantity": "1"}),
        ("get", "/s/acme/?page=²", None),
        ("get", "/s/acme/search?q=a%00b", None),
        ("get", "/s/acme/orders/99999999999999999999", None),
        ("get", "/s/acme/images/99999999999999999999", None),
    ],
)
def test_odd_input_never_is_a_server_error(app, client, shop, method, url, data):
    response = getattr(client, method)(url, data=data) if data else getattr(client, method)(url)
    assert response.status_code in (200, 303, 400, 404)


def test_nul_in_checkout_fields_is_a_clear_error(app, client, shop):
    add(client, "SCREEN")
    response = checkout(client, email="a\x00@example.com", payment_method="bank_transfer")
    assert response.status_code == 400


def test_staff_search_with_odd_digits(app, shop):
    client = staff_client(app, shop[1], "s@acme.example")
    assert client.get("/s/acme/staff/orders?q=²").status_code == 200
    assert client.get("/s/acme/staff/orders/99999999999999").status_code == 404
