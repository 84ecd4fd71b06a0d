"""The checkout with promotions: the price shown is the price charged, per line and on the
invoice, VAT after discount, never a negative total; what the booking records; a changed
promotion re-asks; codes leave the cart with the order; another shop is untouched."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from comptoir.core.db import db
from tests.conftest import as_tenant, translated
from tests.promotions.conftest import (
    add,
    buy,
    checkout,
    last_order,
    login,
    make_customer,
    make_promotion,
    orders,
    said,
    set_status,
    shown_discounts,
    staff_client,
)

CHANGED = ("Your discounts changed (a promotion ended or changed): please check the new "
           "total and confirm.")


def redemptions(app, tenant) -> list[tuple]:
    from plugins.promotions.models import Redemption

    with as_tenant(app, tenant):
        return [(r.promotion_id, r.code, r.email, r.amount, r.status) for r in
                db.session.scalars(select(Redemption).order_by(Redemption.id))]


def usage(app, tenant) -> dict[tuple[int, str], int]:
    from plugins.promotions.models import Usage

    with as_tenant(app, tenant):
        return {(u.promotion_id, u.customer): u.used for u in db.session.scalars(select(Usage))}


def test_a_first_time_guest_gets_the_welcome_offer_on_lines_invoice_and_vat(app, shop,
                                                                            client):
    fr = shop[0]
    welcome = make_promotion(app, fr, name="Bienvenue -10 %", value=Decimal("10"),
                             first_order_only=True)
    add(client, "fr", "SCREEN")
    add(client, "fr", "BOOK")
    cart = client.get("/s/fr/cart").get_data(as_text=True)
    assert "Bienvenue -10 %" in cart
    buy(client, "fr", email="nouvelle@example.com")
    order = last_order(app, fr)
    lines = {line.sku: line for line in order.lines}
    assert (lines["SCREEN"].discount, lines["SCREEN"].line_net) == (Decimal("30.00"),
                                                                    Decimal("270.00"))
    assert (lines["BOOK"].discount, lines["BOOK"].line_net) == (Decimal("3.00"),
                                                                Decimal("27.00"))
    assert lines["SCREEN"].discount_label == "Bienvenue -10 %"
    assert order.total_net == Decimal("297.00")
    # VAT on the discounted lines: 270 × 20 % and 27 × 5.5 % (1.485, rounded up).
    assert order.vat_breakdown == {"20": "54.00", "5.5": "1.49"}
    assert order.total_vat == Decimal("55.49")
    invoice = client.get(f"/s/fr/orders/{order.number}/invoice").get_data(as_text=True)
    assert "Bienvenue -10 %" in invoice
    assert redemptions(app, fr) == [(welcome, "", "nouvelle@example.com", Decimal("33.00"),
                                     "booked")]
    assert usage(app, fr) == {(welcome, ""): 1, (welcome, "nouvelle@example.com"): 1}


def test_a_returning_guest_is_asked_to_confirm_a_total_without_the_welcome_offer(
        app, shop, client):
    fr = shop[0]
    make_promotion(app, fr, name="Bienvenue", value=Decimal("10"), first_order_only=True)
    buy(client, "fr", "SCREEN", email="claire@example.com")
    again = app.test_client()
    add(again, "fr", "SCREEN")
    response = buy(again, "fr", email="Claire@Example.com", expect=400)
    page = response.get_data(as_text=True)
    assert translated(app, "fr_FR", CHANGED) in page
    assert len(orders(app, fr)) == 1
    response = checkout(again, "fr", email="claire@example.com",
                        shown_discounts=re.search(r'name="shown_discounts" value="([^"]*)"',
                                                  page).group(1))
    assert response.status_code == 303
    assert last_order(app, fr).discounts == []


def test_a_discount_larger_than_the_cart_leaves_a_zero_total(app, shop, client):
    fr = shop[0]
    make_promotion(app, fr, code="GEANT", kind="fixed", value=Decimal("5000"))
    add(client, "fr", "MOUSE")
    client.post("/s/fr/cart/codes", data={"code": "GEANT"})
    buy(client, "fr", email="x@example.com")
    order = last_order(app, fr)
    assert (order.total_net, order.total_vat, order.total_gross) == (Decimal("0.00"),) * 3
    assert order.discounts[0]["amount"] == "20.00"


def test_offers_that_add_up_never_take_a_line_below_zero(app, shop, client):
    fr = shop[0]
    make_promotion(app, fr, name="Moitié", value=Decimal("50"))
    make_promotion(app, fr, name="Quatre-vingts", value=Decimal("80"))
    buy(client, "fr", "SCREEN", email="x@example.com")
    order = last_order(app, fr)
    assert order.lines[0].line_net == Decimal("0.00") and order.total_gross == 0
    assert [d["amount"] for d in order.discounts] == ["150.00", "150.00"]


def test_a_promotion_that_ended_after_the_summary_is_not_charged_silently(app, shop, client):
    fr = shop[0]
    promo = make_promotion(app, fr, name="Flash", value=Decimal("20"))
    add(client, "fr", "SCREEN")
    shown = shown_discounts(client, "fr")
    with as_tenant(app, fr):
        from plugins.promotions.models import Promotion

        db.session.get(Promotion, promo).active = False
        db.session.commit()
    response = checkout(client, "fr", email="x@example.com", shown_discounts=shown)
    assert response.status_code == 400
    assert translated(app, "fr_FR", CHANGED) in response.get_data(as_text=True)
    assert orders(app, fr) == [] and usage(app, fr) == {}


def test_the_codes_leave_the_cart_with_the_order(app, shop):
    fr = shop[0]
    make_promotion(app, fr, code="DIX")
    make_customer(app, fr, "lea@example.com")
    lea = app.test_client()
    login(lea, "fr", "lea@example.com")
    add(lea, "fr", "SCREEN")
    lea.post("/s/fr/cart/codes", data={"code": "DIX"})
    buy(lea, "fr")
    add(lea, "fr", "SCREEN")
    assert shown_discounts(lea, "fr") == ""
    assert 'class="code"' not in lea.get("/s/fr/cart").get_data(as_text=True)


def test_a_refused_booking_keeps_the_cart_and_takes_the_spent_code_off(app, shop):
    """Two shops of one office: a batch code used in the reseller's shop is refused at the
    office's booking, whose pricing could not know; the buyer reads why and keeps the cart."""
    fr, acme, _de = shop
    from plugins.promotions import coupons
    from plugins.promotions.models import Coupon, Promotion

    promo = make_promotion(app, fr, code="LETTRE", value=Decimal("10"))
    with as_tenant(app, fr):
        batch = coupons.make_batch(db.session.get(Promotion, promo), "Lettre", 1)
        code = db.session.scalars(select(Coupon.code).where(Coupon.batch_id == batch.id)).one()
    buyer = app.test_client()
    login(buyer, "acme", "buyer@durand.example")
    add(buyer, "acme", "SCREEN")
    buyer.post("/s/acme/cart/codes", data={"code": code})
    buy(buyer, "acme")
    guest = app.test_client()
    add(guest, "fr", "SCREEN", 2)
    guest.post("/s/fr/cart/codes", data={"code": code})
    response = buy(guest, "fr", email="x@example.com", expect=400)
    assert said(app, "The code %(code)s has just been used by another order: it is taken off "
                "your cart, which shows the new total.", code=code) in response.get_data(
        as_text=True)
    assert orders(app, fr) == [] and redemptions(app, fr) == [] and usage(app, fr) == {}
    cart = guest.get("/s/fr/cart").get_data(as_text=True)
    assert 'class="code"' not in cart and "Écran 27" in cart
    buy(guest, "fr", email="x@example.com")
    assert last_order(app, fr).total_net == Decimal("600.00")


def test_a_cancelled_order_gives_its_uses_back_once(app, shop):
    fr = shop[0]
    promo = make_promotion(app, fr, code="UNIQUE", max_uses=1, max_uses_per_customer=1)
    make_customer(app, fr, "lea@example.com")
    lea = app.test_client()
    login(lea, "fr", "lea@example.com")
    add(lea, "fr", "SCREEN")
    lea.post("/s/fr/cart/codes", data={"code": "UNIQUE"})
    buy(lea, "fr")
    assert usage(app, fr) == {(promo, ""): 1, (promo, "lea@example.com"): 1}
    staff = staff_client(app, fr)
    set_status(staff, "fr", 1, "cancelled")
    assert usage(app, fr) == {(promo, ""): 0, (promo, "lea@example.com"): 0}
    from comptoir.toolkit import Order
    from plugins.promotions import coupons

    with as_tenant(app, fr):  # the event again (a retried job): nothing given twice
        order = db.session.scalars(select(Order).where(Order.number == 1)).one()
        assert coupons.release(order) == 0
        db.session.commit()
    assert usage(app, fr) == {(promo, ""): 0, (promo, "lea@example.com"): 0}
    assert [r[-1] for r in redemptions(app, fr)] == ["cancelled"]
    add(lea, "fr", "SCREEN")
    lea.post("/s/fr/cart/codes", data={"code": "UNIQUE"})
    buy(lea, "fr")
    assert last_order(app, fr).discounts[0]["amount"] == "30.00"


def test_an_office_promotion_booked_in_a_resellers_shop_is_counted_there(app, shop):
    fr, acme, _de = shop
    promo = make_promotion(app, fr, name="Réseau", value=Decimal("10"), max_uses=1)
    buyer = app.test_client()
    login(buyer, "acme", "buyer@durand.example")
    buy(buyer, "acme", "SCREEN")
    assert orders(app, acme)[0].discounts[0]["ref"] == f"promotions:promo:{promo}"
    assert usage(app, acme) == {(promo, ""): 1, (promo, "buyer@durand.example"): 1}
    assert usage(app, fr) == {}
    # Limits count per shop: the office's own shop still has its use.
    make_customer(app, fr, "lea@example.com")
    lea = app.test_client()
    login(lea, "fr", "lea@example.com")
    buy(lea, "fr", "SCREEN")
    assert last_order(app, fr).discounts[0]["amount"] == "30.00"


def test_the_german_office_checks_out_as_if_nothing_existed(app, shop):
    fr, _acme, de = shop
    make_promotion(app, fr, name="France", value=Decimal("10"))
    make_customer(app, de, "max@example.de")
    client = app.test_client()
    login(client, "de", "max@example.de")
    buy(client, "de", "DE-PC", billing_country="DE")
    order = last_order(app, de)
    assert order.discounts == [] and order.total_net == Decimal("500.00")
    assert redemptions(app, de) == [] and usage(app, de) == {}
