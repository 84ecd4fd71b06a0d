"""Quotes both ways: the reseller's offer accepted in one click from its e-mail, the
customer's request answered with a new version; expired, tampered and superseded links."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.orders.models import Order
from comptoir.quotes.models import Quote
from tests.conftest import as_tenant
from tests.orders.conftest import log_in


def _offer(sales, durand_id, buyer_id, lines="LAPTOP-FR 3 900.00\nSCREEN 2", **extra):
    return sales.post("/s/acme/staff/quotes/", data={
        "company": str(durand_id), "recipient": str(buyer_id), "lines": lines, **extra})


def _link(smtp_server):
    return re.search(r"https?://\S+/quotes/accept/\S+", smtp_server.messages[-1].get_content()
                     ).group(0).split("localhost", 1)[1]


def _quote(app, acme):
    with as_tenant(app, acme):
        quote = db.session.scalars(select(Quote)).one()
        return quote.status, quote.version, quote.order_id


def test_an_offer_is_accepted_in_one_click_from_its_email(app, quoting, shop, smtp_server):
    _fr, acme, _gb = shop
    sales, durand_id, buyer_id = quoting
    response = _offer(sales, durand_id, buyer_id)
    assert response.status_code == 303, response.get_data(as_text=True)
    (mail,) = smtp_server.messages
    assert mail["To"] == "buyer@durand.example"
    link = _link(smtp_server)
    visitor = app.test_client()  # not logged in: the signed link speaks for the buyer
    page = visitor.get(link)
    assert page.status_code == 200
    assert _quote(app, acme)[0] == "sent"  # opening the link accepts nothing
    accepted = visitor.post(link)
    assert accepted.status_code == 200
    status, version, order_id = _quote(app, acme)
    assert (status, version) == ("accepted", 1) and order_id is not None
    with as_tenant(app, acme):
        order = db.session.get(Order, order_id)
        # 3 x 900.00 (quoted) + 2 x 300.00 (the company's price), French VAT on top.
        assert order.total_net == Decimal("3300.00") and order.total_vat == Decimal("660.00")
        assert order.status == "placed" and order.payment_method == "invoice"
    # Accepting twice changes nothing.
    assert visitor.post(link).status_code == 400
    with as_tenant(app, acme):
        assert db.session.scalars(select(Order)).all().__len__() == 1


def test_a_tampered_link_is_refused(app, quoting, shop, smtp_server):
    sales, durand_id, buyer_id = quoting
    _offer(sales, durand_id, buyer_id)
    link = _link(smtp_server)
    bad = app.test_client().post(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert bad.status_code == 400
    assert _quote(app, shop[1])[0] == "sent"


def test_an_expired_quote_cannot_be_accepted(app, quoting, shop, smtp_server):
    _fr, acme, _gb = shop
    sales, durand_id, buyer_id = quoting
    _offer(sales, durand_id, buyer_id)
    with as_tenant(app, acme):
        db.session.scalars(select(Quote)).one().valid_until = date.today() - timedelta(days=1)
        db.session.commit()
    refused = app.test_client().post(_link(smtp_server))
    assert refused.status_code in (200, 400)
    assert _quote(app, acme)[0] == "sent" and _quote(app, acme)[2] is None


def test_a_superseded_version_cannot_be_accepted(app, quoting, shop, smtp_server):
    _fr, acme, _gb = shop
    sales, durand_id, buyer_id = quoting
    _offer(sales, durand_id, buyer_id)
    old = _link(smtp_server)
    revised = sales.post("/s/acme/staff/quotes/1", data={"lines": "LAPTOP-FR 3 850.00",
                                                         "recipient": str(buyer_id)})
    assert revised.status_code == 303
    assert app.test_client().post(old).status_code == 400
    assert app.test_client().post(_link(smtp_server)).status_code == 200
    with as_tenant(app, acme):
        assert db.session.scalars(select(Order.total_net)).one() == Decimal("2550.00")


@pytest.mark.parametrize(("lines", "problem"), [
    ("NOPE 1", "is not sold"), ("LAPTOP-FR 0", "quantity"), ("LAPTOP-FR 1 -5", "price"),
    ("LAPTOP-FR 1 1.234", "price"), ("", "at least one line"),
])
def test_a_wrong_offer_is_refused_and_nothing_sent(app, quoting, shop, smtp_server,
                                                   lines, problem):
    sales, durand_id, buyer_id = quoting
    response = _offer(sales, durand_id, buyer_id, lines=lines)
    assert response.status_code == 400 and problem in response.get_data(as_text=True)
    assert smtp_server.messages == []
    with as_tenant(app, shop[1]):
        assert db.session.scalars(select(Quote)).first() is None


def test_a_validity_date_in_the_past_is_refused(app, quoting, shop):
    sales, durand_id, buyer_id = quoting
    response = _offer(sales, durand_id, buyer_id, valid_until="2020-01-01")
    assert response.status_code == 400


def test_a_customer_asks_for_a_quote_and_the_reseller_answers(app, quoting, shop,
                                                              smtp_server):
    _fr, acme, _gb = shop
    sales, _durand_id, buyer_id = quoting
    buyer = app.test_client()
    log_in(buyer)
    buyer.post("/s/acme/cart/add", data={"sku": "SCREEN", "quantity": "5"})
    asked = buyer.post("/s/acme/quotes/request", data={"note": "Remise pour 5 ?"})
    assert asked.status_code == 303
    assert _quote(app, acme)[:2] == ("requested", 1)
    assert smtp_server.messages[-1]["To"] == "ventes@acme.example"
    answer = sales.post("/s/acme/staff/quotes/1", data={"lines": "SCREEN 5 270.00",
                                                        "note": "10 % offerts"})
    assert answer.status_code == 303
    assert _quote(app, acme)[:2] == ("sent", 2)
    changes = buyer.post("/s/acme/quotes/1", data={"action": "changes", "note": ""})
    assert changes.status_code == 400  # say what should change
    accepted = buyer.post("/s/acme/quotes/1", data={"action": "accept"})
    assert accepted.status_code == 303, re.findall(r'role="alert">([^<]*)',
                                                   accepted.get_data(as_text=True))
    assert _quote(app, acme)[0] == "accepted"
    pdf = buyer.get("/s/acme/quotes/1.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_other_companies_and_tenants_see_no_quote(app, quoting, shop, smtp_server):
    _fr, acme, gb = shop
    sales, durand_id, buyer_id = quoting
    _offer(sales, durand_id, buyer_id)
    with as_tenant(app, acme):
        rival = Company(name="Rival")
        user = User(email="r@rival.example", name="R", role="buyer", company=rival)
        user.set_password("password-1")
        db.session.add_all([rival, user])
        db.session.commit()
    other = app.test_client()
    log_in(other, email="r@rival.example")
    assert other.get("/s/acme/quotes/1").status_code == 404
    assert other.post("/s/acme/quotes/1", data={"action": "accept"}).status_code == 404
    # The link is acme's: on another shop it names no quote.
    assert app.test_client().get(_link(smtp_server).replace("/s/acme/", "/s/gb/")
                                 ).status_code == 400
    assert _quote(app, acme)[0] == "sent"


def test_customers_cannot_reach_the_staff_pages(app, quoting):
    buyer = app.test_client()
    log_in(buyer)
    assert buyer.get("/s/acme/staff/quotes/").status_code == 403


def test_an_accepted_quote_above_the_accepters_ceiling_waits_for_approval(
        app, quoting, shop, smtp_server):
    from comptoir.tenants import service as tenants
    from plugins.approvals.chain import Link, save

    _fr, acme, _gb = shop
    sales, durand_id, buyer_id = quoting
    with app.app_context():
        tenants.set_plugin_enabled(tenants.get_tenant("acme"), "approvals", True)
        db.session.commit()
    with as_tenant(app, acme):
        admin_id = db.session.scalars(select(User.id).filter_by(
            email="admin@durand.example")).one()
        save(durand_id, [Link(buyer_id, 1, Decimal("0"), admin_id),
                         Link(admin_id, 2, Decimal("50000"), None, budget=True)],
             {buyer_id: "buyer@durand.example", admin_id: "admin@durand.example"})
        db.session.commit()
    _offer(sales, durand_id, buyer_id)
    assert app.test_client().post(_link(smtp_server)).status_code == 200
    status, _version, order_id = _quote(app, acme)
    assert status == "accepted"
    with as_tenant(app, acme):
        assert db.session.get(Order, order_id).status == "pending_approval"
    assert smtp_server.messages[-1]["To"] == "admin@durand.example"
