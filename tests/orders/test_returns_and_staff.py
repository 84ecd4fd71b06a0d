"""Staff move orders on; customers send delivered orders back within the withdrawal period."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.orders import service
from comptoir.orders.models import Order, ReturnRequest
from comptoir.stock import service as stock
from comptoir.tenants.resolution import directory
from tests.conftest import as_tenant
from tests.orders.conftest import add, checkout, log_in, staff_client


@pytest.fixture
def staff(app, shop):
    return staff_client(app, shop[1], "staff@acme.example")


@pytest.fixture
def ordered(app, client, shop):
    log_in(client)
    add(client, "LAPTOP-FR", "2")
    assert checkout(client).status_code == 303
    return shop


def move(staff, number, status):
    return staff.post(f"/s/acme/staff/orders/{number}/status", data={"status": status})


def status_of(app, tenant, number=1):
    with as_tenant(app, tenant):
        return db.session.scalars(select(Order.status).where(Order.number == number)).one()


def laptops(app, fr):
    from comptoir.catalog.models import Variant
    from comptoir.stock.models import StockLevel

    with as_tenant(app, fr):
        levels = db.session.scalars(select(StockLevel).join(Variant).where(
            Variant.sku == "LAPTOP-FR")).all()
        return sum(x.on_hand for x in levels), sum(x.reserved for x in levels)


def test_staff_ship_and_deliver_an_order(app, client, staff, ordered):
    fr, acme, _ = ordered
    assert laptops(app, fr) == (7, 2)
    assert move(staff, 1, "shipped").status_code == 303
    assert status_of(app, acme) == "shipped"
    assert laptops(app, fr) == (5, 0)  # left the shelves
    move(staff, 1, "delivered")
    page = staff.get("/s/acme/staff/orders/1").get_data(as_text=True)
    assert "staff@acme.example" in page and "Livrée" in page


def test_a_refused_transition_changes_nothing(app, staff, ordered):
    _, acme, _ = ordered
    response = move(staff, 1, "delivered")  # not shipped yet
    assert response.status_code == 303
    assert status_of(app, acme) == "placed"
    assert "cannot become delivered" in staff.get("/s/acme/staff/orders/1").get_data(
        as_text=True)


def test_return_within_the_period_restocks_and_refunds(app, client, staff, ordered):
    fr, acme, _ = ordered
    move(staff, 1, "shipped")
    move(staff, 1, "delivered")
    page = client.get("/s/acme/orders/1").get_data(as_text=True)
    assert "Demander un retour" in page
    client.post("/s/acme/orders/1/return", data={"reason": "Trop lourd"})
    with as_tenant(app, acme):
        request_id = db.session.scalars(select(ReturnRequest.id)).one()
    staff.post(f"/s/acme/staff/returns/{request_id}", data={"action": "accept"})
    staff.post(f"/s/acme/staff/returns/{request_id}", data={"action": "receive"})
    assert status_of(app, acme) == "returned"
    assert laptops(app, fr) == (7, 0)  # back on the shelves
    with as_tenant(app, acme):
        returned = db.session.get(ReturnRequest, request_id)
        assert (returned.status, returned.refund_reference) == ("refunded", "AVOIR-1")


def test_return_after_the_withdrawal_period_is_refused(app, staff, ordered):
    _, acme, _ = ordered
    move(staff, 1, "shipped")
    move(staff, 1, "delivered")
    with app.test_request_context("/"), as_tenant(app, acme):
        tenant = directory().by_id(acme.id)
        order = db.session.scalars(select(Order)).one()
        deadline = service.return_deadline(tenant, order)
        assert deadline == date.today() + timedelta(days=14)  # locale_fr's default
        with pytest.raises(service.CheckoutError, match="withdrawal period ended"):
            service.request_return(tenant, order, "buyer", "", today=deadline + timedelta(1))
        db.session.rollback()
        assert db.session.scalars(select(ReturnRequest)).all() == []


def test_an_undelivered_order_cannot_be_returned(app, client, ordered):
    _, acme, _ = ordered
    client.post("/s/acme/orders/1/return", data={"reason": "changed my mind"})
    with as_tenant(app, acme):
        assert db.session.scalars(select(ReturnRequest)).all() == []


def test_staff_pages_are_for_staff_only(app, client, ordered):
    assert client.get("/s/acme/staff/").status_code == 403  # a buyer
    anonymous = app.test_client()
    assert anonymous.get("/s/acme/staff/orders").status_code == 302


def test_staff_search_and_filter(app, client, staff, ordered):
    listing = staff.get("/s/acme/staff/orders?q=durand").get_data(as_text=True)
    assert "/s/acme/staff/orders/1" in listing
    assert "/s/acme/staff/orders/1" not in staff.get(
        "/s/acme/staff/orders?status=shipped").get_data(as_text=True)
    assert "/s/acme/staff/orders/1" in staff.get(
        "/s/acme/staff/orders?q=1").get_data(as_text=True)


def test_other_tenants_staff_see_nothing(app, ordered, make_tenant):
    _, _, gb = ordered
    uk = staff_client(app, gb, "staff@uk.example")
    assert uk.get("/s/gb/staff/orders/1").status_code == 404
    assert "/staff/orders/1" not in uk.get("/s/gb/staff/orders").get_data(as_text=True)


def test_office_staff_record_a_shop_sale_and_see_low_stock(app, ordered):
    fr, _, _ = ordered
    office = staff_client(app, fr, "staff@fr.example")
    office.post("/s/fr/staff/stock", data={"location": "paris", "sku": "LAPTOP-FR",
                                           "quantity": "1"})
    page = office.get("/s/fr/staff/stock").get_data(as_text=True)
    assert "Portable 14" in page.split("low-stock", 1)[1]  # 1 left at Paris, threshold 1
    with app.app_context():
        assert stock.sell_in_shop(fr.id, "paris", "LAPTOP-FR", 1) == 0


def test_staff_add_a_product_and_bad_input_names_the_field(app, staff, shop):
    _, acme, _ = shop
    bad = staff.post("/s/acme/staff/catalogue", data={
        "action": "create", "sku": "NEW-1", "name": "Nouveau", "price": "-5"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "price — &#39;-5&#39; must be zero or more" in page
    ok = staff.post("/s/acme/staff/catalogue", data={
        "action": "create", "sku": "NEW-1", "name": "Nouveau", "price": "12,50",
        "stocked": "yes"})
    assert ok.status_code == 303
    from decimal import Decimal

    from babel.numbers import format_currency

    listing = staff.get("/s/acme/staff/catalogue?q=nouv").get_data(as_text=True)
    assert "NEW-1" in listing
    assert 'name="price" value="12.50"' in listing  # its own product: the price is editable
    assert format_currency(Decimal("12.50"), "EUR", locale="fr_FR") not in listing
    assert "SCREEN" not in listing


def test_reseller_staff_hide_and_show_an_office_product(app, client, staff, shop):
    staff.post("/s/acme/staff/catalogue", data={"action": "hide", "sku": "SCREEN"})
    assert client.get("/s/acme/products/SCREEN").status_code == 404
    staff.post("/s/acme/staff/catalogue", data={"action": "unhide", "sku": "SCREEN"})
    assert client.get("/s/acme/products/SCREEN").status_code == 200
    refused = staff.post("/s/acme/staff/catalogue", data={"action": "deactivate",
                                                          "sku": "SCREEN"})
    assert refused.status_code == 400  # not its own product: the office's stays on sale


def test_office_staff_change_a_price_and_carts_are_told(app, client, ordered):
    fr, _, _ = ordered
    office = staff_client(app, fr, "prices@fr.example")
    add(client, "SCREEN")
    refused = office.post("/s/fr/staff/catalogue",
                          data={"action": "price", "sku": "SCREEN", "price": "abc"})
    assert refused.status_code == 400
    office.post("/s/fr/staff/catalogue", data={"action": "price", "sku": "SCREEN",
                                               "price": "310.00"})
    assert checkout(client).status_code == 400  # the buyer is asked to confirm 310
    reseller_staff = staff_client(app, ordered[1], "p@acme.example")
    assert reseller_staff.post("/s/acme/staff/catalogue", data={
        "action": "price", "sku": "SCREEN", "price": "1.00"}).status_code == 400
