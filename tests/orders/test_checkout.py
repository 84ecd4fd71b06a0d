"""From cart to order: prices charged as shown, stock reserved, numbers without gaps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.customers import service as customers
from comptoir.orders import service
from comptoir.orders.models import Order
from comptoir.stock import service as stock
from tests.conftest import as_tenant
from tests.orders.conftest import ADDRESS, add, checkout, log_in


def orders(app, tenant):
    with as_tenant(app, tenant):
        return [(o.number, o.status, o.total_net) for o in
                db.session.scalars(select(Order).order_by(Order.number))]


def available(app, tenant, variant_sku):
    from comptoir.catalog.models import Variant

    with as_tenant(app, tenant):
        variant = db.session.scalars(select(Variant).where(Variant.sku == variant_sku)).one()
        return stock.availability([variant.id])[variant.id]


def test_company_buyer_orders_on_invoice_and_finds_the_order(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    assert add(client, "LAPTOP-FR", "2").status_code == 303
    assert add(client, "SUPPORT").status_code == 303
    response = checkout(client)
    assert response.status_code == 303 and response.location == "/s/acme/orders/1"
    page = client.get("/s/acme/orders/1").get_data(as_text=True)
    assert "Commande 1" in page and "Livraison prévue" in page
    assert orders(app, acme) == [(1, "placed", Decimal("2050.00"))]
    assert available(app, fr, "LAPTOP-FR") == 5  # 7 - 2 reserved
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert (order.total_vat, order.total_gross) == (Decimal("410.00"), Decimal("2460.00"))
        assert order.vat_breakdown == {"20": "410.00"}
        assert order.expected_delivery > date.today()
    assert "/s/acme/orders/1" in client.get("/s/acme/orders").get_data(as_text=True)


def test_the_price_charged_is_the_companys_price(app, client, shop):
    _, acme, _ = shop
    with as_tenant(app, acme):
        customers.set_discount(customers.get_company("Durand"), "10")
        db.session.commit()
    log_in(client)
    add(client, "SCREEN", "3")
    checkout(client)
    assert orders(app, acme) == [(1, "placed", Decimal("810.00"))]


def test_stale_cart_price_is_announced_then_confirmed(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    add(client, "SCREEN", "1")
    with as_tenant(app, fr):
        from comptoir.catalog.models import Product

        db.session.scalars(select(Product).where(Product.sku == "SCREEN")).one().price = \
            Decimal("320.00")
        db.session.commit()
    refused = checkout(client)
    assert refused.status_code == 400
    assert "Certains prix ont changé" in refused.get_data(as_text=True)
    assert orders(app, acme) == []
    assert available(app, fr, "SCREEN") == 7  # nothing reserved
    signature = refused.get_data(as_text=True).split('name="accepted_prices" value="')[1][:32]
    confirmed = checkout(client, accepted_prices=signature)
    assert confirmed.status_code == 303
    assert orders(app, acme) == [(1, "placed", Decimal("320.00"))]


def test_confirming_old_prices_does_not_accept_newer_ones(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    add(client, "SCREEN", "1")

    def reprice(amount):
        from comptoir.catalog.models import Product

        with as_tenant(app, fr):
            db.session.scalars(select(Product).where(Product.sku == "SCREEN")).one().price = \
                Decimal(amount)
            db.session.commit()

    reprice("320.00")
    shown = checkout(client).get_data(as_text=True)
    signature = shown.split('name="accepted_prices" value="')[1][:32]
    reprice("900.00")  # changes again while the shopper reads the page
    assert checkout(client, accepted_prices=signature).status_code == 400
    assert orders(app, acme) == []


def test_numbers_are_per_tenant_and_without_gaps(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    for _ in range(2):
        add(client, "SCREEN")
        checkout(client)
    add(client, "LAPTOP-FR", "999")  # more than there is: refused, and no number used
    assert checkout(client).status_code == 400
    client.post("/s/acme/cart/update", data={"line": _only_line(app, acme), "quantity": "1"})
    assert checkout(client).status_code == 303
    assert [n for n, *_ in orders(app, acme)] == [1, 2, 3]
    other = app.test_client()
    add(other, "SCREEN", slug="fr")
    assert checkout(other, slug="fr", email="guest@example.com",
                    payment_method="bank_transfer").status_code == 303
    assert [n for n, *_ in orders(app, fr)] == [1]


def _only_line(app, tenant):
    from comptoir.orders.models import CartLine

    with as_tenant(app, tenant):
        return str(db.session.scalars(select(CartLine.id)).one())


def test_shortage_is_refused_with_what_is_left_and_nothing_reserved(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    add(client, "SCREEN", "2")
    add(client, "LAPTOP-FR", "8")
    response = checkout(client)
    assert response.status_code == 400
    assert "il n’en reste que 7 LAPTOP-FR" in response.get_data(as_text=True) or \
        "7 of LAPTOP-FR" in response.get_data(as_text=True)
    assert orders(app, acme) == []
    assert (available(app, fr, "SCREEN"), available(app, fr, "LAPTOP-FR")) == (7, 7)


def test_physical_shop_sale_changes_web_availability_at_once(app, client, shop):
    fr, _, _ = shop
    before = client.get("/s/acme/products/LAPTOP").get_data(as_text=True)
    assert "7 disponible" in before
    with app.app_context():
        assert stock.sell_in_shop(fr.id, "paris", "LAPTOP-FR", 2) == 0
    after = client.get("/s/acme/products/LAPTOP").get_data(as_text=True)
    assert "5 disponible" in after
    with app.app_context(), pytest.raises(stock.Shortage):
        stock.sell_in_shop(fr.id, "paris", "LAPTOP-FR", 1)


def test_low_stock_is_listed_for_staff(app, shop):
    fr, _, _ = shop
    with app.app_context():
        stock.sell_in_shop(fr.id, "paris", "LAPTOP-FR", 1)
    with as_tenant(app, fr):
        low = [(row["code"], row["available"], row["propose"]) for row in stock.low_stock()]
    assert low == [("paris", 1, 1)]


def test_cancel_releases_the_stock(app, client, shop):
    fr, acme, _ = shop
    log_in(client)
    add(client, "LAPTOP-FR", "3")
    checkout(client)
    assert available(app, fr, "LAPTOP-FR") == 4
    with app.test_request_context("/"), as_tenant(app, acme):
        from comptoir.tenants.resolution import directory

        order = db.session.scalars(select(Order)).one()
        service.change_status(directory().by_id(acme.id), order, "cancelled", "staff@acme")
        assert [(e.from_status, e.to_status, e.actor) for e in order.events] == [
            (None, "placed", "buyer@durand.example"), ("placed", "cancelled", "staff@acme")]
        with pytest.raises(service.CheckoutError, match="cannot become shipped"):
            service.change_status(directory().by_id(acme.id), order, "shipped", "staff@acme")
    assert available(app, fr, "LAPTOP-FR") == 7


def test_guest_checkout_then_one_click_account(app, client, shop):
    _, acme, _ = shop
    add(client, "SCREEN")
    response = checkout(client, email="new@client.example", payment_method="bank_transfer")
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "Créer mon compte" in page
    created = client.post("/s/acme/orders/1/account",
                          data={"name": "Nouveau Client", "password": "un-bon-mot"})
    assert created.status_code == 303 and created.location == "/s/acme/orders"
    assert "/s/acme/orders/1" in client.get("/s/acme/orders").get_data(as_text=True)
    again = client.post("/s/acme/orders/1/account", data={"name": "X", "password": "autre-mot"})
    assert again.status_code == 303  # refused with a message, nothing changes
    with as_tenant(app, acme):
        from comptoir.customers.models import User

        assert db.session.scalar(select(func.count(User.id)).where(
            User.email == "new@client.example")) == 1


def test_cart_survives_logout_and_merges_at_login(app, client, shop):
    log_in(client)
    add(client, "SCREEN", "2")
    client.post("/s/acme/logout")
    add(client, "SCREEN", "1")  # as a visitor now
    add(client, "LAPTOP-FR", "1")
    log_in(client)
    cart = client.get("/s/acme/cart").get_data(as_text=True)
    assert 'name="quantity" value="3"' in cart and "LAPTOP-FR" in cart


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sku": "SCREEN", "quantity": "0"}, "de 1 à 999"),
        ({"sku": "SCREEN", "quantity": "-3"}, "de 1 à 999"),
        ({"sku": "SCREEN", "quantity": "1000"}, "de 1 à 999"),
        ({"sku": "SCREEN", "quantity": "1.5"}, "de 1 à 999"),
        ({"sku": "NOPE", "quantity": "1"}, "ne peut pas être acheté"),
        ({"sku": "UK-PC", "quantity": "1"}, "ne peut pas être acheté"),
    ],
)
def test_bad_cart_input_is_refused_and_the_cart_stays_empty(app, client, shop, data, message):
    response = client.post("/s/acme/cart/add", data=data, follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert "Votre panier est vide." in client.get("/s/acme/cart").get_data(as_text=True)


def test_restricted_company_cannot_buy_outside_its_catalogue(app, client, shop):
    _, acme, _ = shop
    with as_tenant(app, acme):
        customers.restrict_catalogue(customers.get_company("Durand"), products=["SCREEN"])
        db.session.commit()
    log_in(client)
    refused = add(client, "LAPTOP-FR", "1")
    assert refused.status_code == 303
    assert "Votre panier est vide." in client.get("/s/acme/cart").get_data(as_text=True)
    assert add(client, "SCREEN").status_code == 303
    assert "SCREEN" in client.get("/s/acme/cart").get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"billing_city": ""}, "billing_city"),
        ({"billing_country": "France"}, "billing_country"),
        ({"shipping_method": "teleport"}, "shipping_method"),
        ({"payment_method": "iou"}, "payment_method"),
    ],
)
def test_bad_checkout_is_refused_naming_the_field(app, client, shop, overrides, field):
    fr, acme, _ = shop
    log_in(client)
    add(client, "SCREEN")
    response = checkout(client, **overrides)
    assert response.status_code == 400
    assert orders(app, acme) == [] and available(app, fr, "SCREEN") == 7
    assert field in response.get_data(as_text=True) or "role=\"alert\"" in \
        response.get_data(as_text=True)


def test_invoice_is_for_companies_only(app, client, shop):
    add(client, "SCREEN")
    response = checkout(client, email="guest@example.com", payment_method="invoice")
    assert response.status_code == 400


def test_other_tenants_never_see_an_order(app, client, shop):
    _, acme, gb = shop
    log_in(client)
    add(client, "SCREEN")
    checkout(client)
    assert client.get("/s/gb/orders/1").status_code == 404
    assert client.get("/s/fr/orders/1").status_code == 404
    stranger = app.test_client()
    assert stranger.get("/s/acme/orders/1").status_code == 404
    assert orders(app, gb) == []


def test_company_admin_sees_the_companys_orders(app, client, shop):
    log_in(client)
    add(client, "SCREEN")
    checkout(client)
    admin = app.test_client()
    log_in(admin, email="admin@durand.example")
    assert "/s/acme/orders/1" in admin.get("/s/acme/orders").get_data(as_text=True)
    assert admin.get("/s/acme/orders/1").status_code == 200


def test_expected_delivery_counts_business_days():
    standard = service.SHIPPING_METHODS["standard"]
    friday = date(2026, 11, 20)
    assert service.expected_delivery(True, standard, friday) == date(2026, 11, 26)  # 1 + 3
    assert service.expected_delivery(False, standard, friday) == date(2026, 12, 9)  # 10 + 3


def test_address_fields_are_kept_on_the_order(app, client, shop):
    _, acme, _ = shop
    log_in(client)
    add(client, "SCREEN")
    checkout(client)
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert order.shipping_address["city"] == ADDRESS["billing_city"]


def test_invoice_in_html_and_pdf(app, client, shop):
    import io

    from babel.numbers import format_currency
    from pypdf import PdfReader

    log_in(client)
    add(client, "LAPTOP-FR", "2")
    checkout(client)
    html = client.get("/s/acme/orders/1/invoice").get_data(as_text=True)
    assert "Facture F-000001" in html and "Échéance" in html
    assert format_currency(Decimal("2400.00"), "EUR", locale="fr_FR") in html
    assert "Droit de rétractation" in html  # the locale plugin's legal mention
    response = client.get("/s/acme/orders/1/invoice.pdf")
    assert response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "F-000001" in text and "LAPTOP-FR" in text
    assert format_currency(Decimal("2400.00"), "EUR", locale="fr_FR") in text
    assert app.test_client().get("/s/acme/orders/1/invoice.pdf").status_code == 404


def test_company_address_book_prefills_checkout(app, client, shop):
    admin = app.test_client()
    log_in(admin, email="admin@durand.example")
    bad = admin.post("/s/acme/account/addresses", data={"label": "Siège", "name": "Durand",
                                                         "street": "", "postcode": "69002",
                                                         "city": "Lyon", "country": "FR"})
    assert bad.status_code == 400
    ok = admin.post("/s/acme/account/addresses", data={
        "label": "Siège", "name": "Durand SA", "street": "12 rue de la République",
        "postcode": "69002", "city": "Lyon", "country": "fr"})
    assert ok.status_code == 303
    log_in(client)
    assert client.get("/s/acme/account/addresses").status_code == 403  # a buyer
    add(client, "SCREEN")
    page = client.get("/s/acme/checkout").get_data(as_text=True)
    assert 'value="12 rue de la République"' in page and 'value="Durand SA"' in page
