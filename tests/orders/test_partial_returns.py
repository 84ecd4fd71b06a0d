"""Customers send some units of some lines back; stock and money follow line by line."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from comptoir.catalog import service as catalog
from comptoir.catalog.models import Variant
from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.orders import service
from comptoir.orders.models import Order, OrderEvent, Refund, ReturnLine, ReturnRequest
from comptoir.stock.models import StockLevel, StockMovement, StockReservation
from comptoir.tenants.resolution import directory
from tests.conftest import as_tenant, translated
from tests.orders.conftest import add, checkout, log_in, staff_client


@pytest.fixture
def staff(app, shop):
    return staff_client(app, shop[1], "staff@acme.example")


@pytest.fixture
def events(monkeypatch):
    """The ``comptoir_order_event`` calls the core makes, in order."""
    seen: list[str] = []
    real = service.hooks

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def comptoir_order_event(self, **kwargs):
            seen.append(kwargs["event"])
            return self.inner.comptoir_order_event(**kwargs)

    monkeypatch.setattr(service, "hooks", lambda tenant: Spy(real(tenant)))
    return seen


def deliver(staff, number):
    for status in ("shipped", "delivered"):
        response = staff.post(f"/s/acme/staff/orders/{number}/status", data={"status": status})
        assert response.status_code == 303


@pytest.fixture
def delivered(app, client, shop, staff):
    """Order 1: two laptops, a screen and express delivery, delivered."""
    log_in(client)
    add(client, "LAPTOP-FR", "2")
    add(client, "SCREEN", "1")
    assert checkout(client, shipping_method="express").status_code == 303
    deliver(staff, 1)
    return shop


def line_ids(app, tenant, number=1):
    with as_tenant(app, tenant):
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        return {line.sku: line.id for line in order.lines}


def stock_of(app, fr, sku):
    """(on hand, reserved) of ``sku`` over the office's locations."""
    with as_tenant(app, fr):
        levels = db.session.scalars(select(StockLevel).join(Variant).where(
            Variant.sku == sku)).all()
        return sum(x.on_hand for x in levels), sum(x.reserved for x in levels)


def reservations(app, fr, acme, sku, number=1):
    """``(status, quantity)`` of the order's reservations of ``sku`` at the office."""
    with as_tenant(app, acme):
        reference = db.session.scalars(select(Order.reference).where(
            Order.number == number)).one()
    with as_tenant(app, fr):
        return sorted(db.session.execute(
            select(StockReservation.status, StockReservation.quantity)
            .join(StockLevel, StockLevel.id == StockReservation.level_id)
            .join(Variant, Variant.id == StockLevel.variant_id)
            .where(StockReservation.reference == reference, Variant.sku == sku)).all())


def ask(client, number=1, follow=False, **quantities):
    data = {"reason": "Trop lourd", **{f"qty-{k}": v for k, v in quantities.items()}}
    return client.post(f"/s/acme/orders/{number}/return", data=data,
                       follow_redirects=follow)


def handle(staff, return_id, *actions):
    for action in actions:
        response = staff.post(f"/s/acme/staff/returns/{return_id}", data={"action": action})
        assert response.status_code == 303


def last_return(app, acme):
    with as_tenant(app, acme):
        return db.session.scalars(select(ReturnRequest.id).order_by(
            ReturnRequest.id.desc())).first()


def returned(app, acme, number=1):
    with app.test_request_context("/"), as_tenant(app, acme):
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        return service.returned_quantities(order)


def test_one_laptop_of_two_back_then_the_rest(app, client, staff, delivered, events):
    fr, acme, _ = delivered
    ids = line_ids(app, acme)
    assert stock_of(app, fr, "LAPTOP-FR") == (5, 0)  # two shipped from seven
    page = client.get("/s/acme/orders/1").get_data(as_text=True)
    assert f'name="qty-{ids["LAPTOP-FR"]}"' in page and f'name="qty-{ids["SCREEN"]}"' in page
    assert f'qty-{ids["SHIPPING-EXPRESS"]}' not in page  # the delivery is not sent back
    assert 'max="2" step="1" value="2"' in page  # everything by default

    assert ask(client, **{str(ids["LAPTOP-FR"]): "1", str(ids["SCREEN"]): "0"}
               ).status_code == 303
    first = last_return(app, acme)
    with as_tenant(app, acme):
        asked = db.session.scalars(select(ReturnLine)).all()
        assert [(x.return_id, x.order_line_id, x.quantity) for x in asked] == [
            (first, ids["LAPTOP-FR"], 1)]
    assert translated(app, "fr_FR", "%(units)s of %(quantity)s", units=1, quantity=2) in (
        staff.get("/s/acme/staff/orders/1").get_data(as_text=True))
    handle(staff, first, "accept")
    assert returned(app, acme) == {}  # accepted is not received
    handle(staff, first, "receive")

    assert stock_of(app, fr, "LAPTOP-FR") == (6, 0)  # one back on the shelf
    assert stock_of(app, fr, "SCREEN") == (6, 0)  # the screen stays with the customer
    assert reservations(app, fr, acme, "LAPTOP-FR") == [("returned", 1), ("shipped", 1)]
    with as_tenant(app, fr):
        journal = db.session.scalars(select(StockMovement).where(
            StockMovement.kind == "return")).all()
        assert [x.quantity for x in journal] == [1]
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert order.status == "delivered"
        refunds = db.session.scalars(select(Refund)).all()
        # 1 000,00 net + 20 % VAT: the laptop's share, not the rest of the order.
        assert [(r.amount, r.reference, r.return_id) for r in refunds] == [
            (Decimal("1200.00"), "AVOIR-1", first)]
        request = db.session.get(ReturnRequest, first)
        assert (request.status, request.refund_reference) == ("refunded", "AVOIR-1")
    assert events[-1] == "partly_returned" and "returned" not in events
    assert returned(app, acme) == {ids["LAPTOP-FR"]: 1}

    # The rest: the form now offers one laptop and the screen; sent back as they stand.
    page = client.get("/s/acme/orders/1").get_data(as_text=True)
    assert 'max="1" step="1" value="1"' in page
    assert ask(client).status_code == 303  # no quantities: everything left
    second = last_return(app, acme)
    assert second != first
    with as_tenant(app, acme):
        asked = db.session.scalars(select(ReturnLine).where(
            ReturnLine.return_id == second)).all()
        assert sorted((x.order_line_id, x.quantity) for x in asked) == sorted(
            [(ids["LAPTOP-FR"], 1), (ids["SCREEN"], 1)])
    handle(staff, second, "accept", "receive")

    assert stock_of(app, fr, "LAPTOP-FR") == (7, 0)
    assert stock_of(app, fr, "SCREEN") == (7, 0)
    assert reservations(app, fr, acme, "LAPTOP-FR") == [("returned", 2)]
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert order.status == "returned"
        # The last parcel refunds what is left: laptop 1 200 + screen 360 + delivery 18.
        assert [(r.amount, r.reference) for r in order.refunds] == [
            (Decimal("1200.00"), "AVOIR-1"), (Decimal("1578.00"), "AVOIR-1-2")]
        assert order.refundable == 0
    assert events[-1] == "returned"
    assert returned(app, acme) == {ids["LAPTOP-FR"]: 2, ids["SCREEN"]: 1}
    assert "qty-" not in client.get("/s/acme/orders/1").get_data(as_text=True)


@pytest.mark.parametrize(("quantities", "problem"), [
    ({"LAPTOP-FR": "3"}, "at most 2 of 'Portable 14' can still be sent back"),
    ({"LAPTOP-FR": "0", "SCREEN": "0"}, "choose at least one item to send back"),
    ({"SHIPPING-EXPRESS": "1"}, "the delivery cannot be sent back"),
    ({"LAPTOP-FR": "abc"}, "'abc' is not a whole number of units"),
    ({"LAPTOP-FR": "-1"}, "'-1' is not a whole number of units"),
    ({"LAPTOP-FR": "1.5"}, "'1.5' is not a whole number of units"),
    ({"LAPTOP-FR": ""}, "'' is not a whole number of units"),
    ({"999999": "1"}, "line '999999' is not in this order"),
    ({"x": "1"}, "line 'x' is not in this order"),
])
def test_bad_return_requests_are_refused_and_change_nothing(
        app, client, staff, delivered, quantities, problem):
    _, acme, _ = delivered
    ids = line_ids(app, acme)
    with as_tenant(app, acme):
        trail = len(db.session.scalars(select(OrderEvent)).all())
    form = {str(ids.get(key, key)): value for key, value in quantities.items()}
    page = ask(client, follow=True, **form).get_data(as_text=True)
    assert translated(app, "fr_FR", "Return refused: %(problem)s.", problem=problem) in page
    with as_tenant(app, acme):
        assert db.session.scalars(select(ReturnRequest)).all() == []
        assert db.session.scalars(select(ReturnLine)).all() == []
        assert len(db.session.scalars(select(OrderEvent)).all()) == trail


def test_a_line_of_another_order_is_refused(app, client, staff, delivered):
    _, acme, _ = delivered
    add(client, "SCREEN", "1")
    assert checkout(client).status_code == 303  # order 2, same buyer
    other = line_ids(app, acme, number=2)["SCREEN"]
    page = ask(client, follow=True, **{str(other): "1"}).get_data(as_text=True)
    assert translated(app, "fr_FR", "Return refused: %(problem)s.",
                      problem=f"line '{other}' is not in this order") in page
    with app.test_request_context("/"), as_tenant(app, acme):
        tenant = directory().by_id(acme.id)
        order = db.session.scalars(select(Order).where(Order.number == 1)).one()
        with pytest.raises(service.CheckoutError, match="is not in this order"):
            service.request_return(tenant, order, "buyer", "", lines={other: 1})
        db.session.rollback()
        assert db.session.scalars(select(ReturnRequest)).all() == []


def test_units_in_an_earlier_return_cannot_be_asked_again(app, client, staff, delivered):
    _, acme, _ = delivered
    laptop = line_ids(app, acme)["LAPTOP-FR"]
    ask(client, **{str(laptop): "1"})
    first = last_return(app, acme)
    refused = ask(client, follow=True, **{str(laptop): "1"}).get_data(as_text=True)
    assert translated(app, "fr_FR", "Return refused: %(problem)s.",
                      problem="a return is already under way for this order") in refused
    handle(staff, first, "reject")  # a rejected return holds nothing
    with app.test_request_context("/"), as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert service.returnable_quantities(order)[laptop] == 2
    ask(client, **{str(laptop): "1"})
    handle(staff, last_return(app, acme), "accept", "receive")
    page = ask(client, follow=True, **{str(laptop): "2"}).get_data(as_text=True)
    assert translated(app, "fr_FR", "Return refused: %(problem)s.",
                      problem="at most 1 of 'Portable 14' can still be sent back") in page
    assert returned(app, acme) == {laptop: 1}  # the rejected request counts for nothing


def test_a_whole_order_return_without_lines_still_works(app, client, staff, delivered, events):
    """A request made before returns went line by line has no lines: the whole order."""
    fr, acme, _ = delivered
    ids = line_ids(app, acme)
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        old = ReturnRequest(order_id=order.id, reason="ancienne demande")
        db.session.add(old)
        db.session.commit()
        old_id = old.id
    page = staff.get("/s/acme/staff/orders/1").get_data(as_text=True)
    shown = [translated(app, "fr_FR", "%(units)s of %(quantity)s", units=n, quantity=n)
             for n in (2, 1)]
    assert all(text in page for text in shown)  # shown as every goods line in full
    handle(staff, old_id, "accept", "receive")
    assert stock_of(app, fr, "LAPTOP-FR") == (7, 0)
    assert stock_of(app, fr, "SCREEN") == (7, 0)
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert order.status == "returned"
        assert [(r.amount, r.reference) for r in order.refunds] == [
            (Decimal("2778.00"), "AVOIR-1")]  # 2 × 1 200 + 360 + 18 of delivery
        assert db.session.get(ReturnRequest, old_id).status == "refunded"
    assert events[-1] == "returned" and "partly_returned" not in events
    assert returned(app, acme) == {ids["LAPTOP-FR"]: 2, ids["SCREEN"]: 1}


def test_a_whole_order_return_by_the_service_names_every_goods_line(app, staff, delivered):
    _, acme, _ = delivered
    ids = line_ids(app, acme)
    with app.test_request_context("/"), as_tenant(app, acme):
        tenant = directory().by_id(acme.id)
        order = db.session.scalars(select(Order)).one()
        request = service.request_return(tenant, order, "buyer", "")
        assert sorted((line.sku, units) for line, units in service.return_lines(request)) == [
            ("LAPTOP-FR", 2), ("SCREEN", 1)]
        assert {x.order_line_id for x in request.lines} == {ids["LAPTOP-FR"], ids["SCREEN"]}


def test_a_configuration_goes_back_whole_with_its_vat_parts(app, client, shop, staff):
    fr, acme, _ = shop
    with as_tenant(app, fr):
        catalog.create_product("GUIDE", "Guide de l'utilisateur", "20.00",
                               tax_class="reduced", stocked=False)
        db.session.commit()
    with as_tenant(app, acme):
        catalog.create_configuration("PACK", "Écran et guide", [("SCREEN", 1), ("GUIDE", 1)])
        db.session.commit()
    log_in(client)
    add(client, "PACK", "2", kind="configuration")
    assert checkout(client).status_code == 303
    deliver(staff, 1)
    with as_tenant(app, acme):
        parts = [line.id for line in db.session.scalars(select(Order)).one().lines]
    assert len(parts) == 2  # one line per VAT class, both "PACK"
    page = ask(client, follow=True, **{str(parts[0]): "1", str(parts[1]): "2"})
    assert translated(app, "fr_FR", "Return refused: %(problem)s.",
                      problem="the parts of 'Écran et guide' go back together: ask the "
                              "same quantity for each") in page.get_data(as_text=True)
    ask(client, **{str(parts[0]): "1"})  # the other part follows
    with as_tenant(app, acme):
        assert sorted((x.order_line_id, x.quantity) for x in db.session.scalars(
            select(ReturnLine))) == [(parts[0], 1), (parts[1], 1)]
    handle(staff, last_return(app, acme), "accept", "receive")
    assert stock_of(app, fr, "SCREEN") == (6, 0)  # 7 - 2 shipped + 1 back
    assert reservations(app, fr, acme, "SCREEN") == [("returned", 1), ("shipped", 1)]
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert order.status == "delivered"
        # One pack: screen 300 + 20 % and guide 20 + 5.5 %, each rounded per line.
        assert [r.amount for r in order.refunds] == [Decimal("381.10")]


def test_another_tenant_cannot_see_or_act_on_a_return(app, client, staff, delivered):
    fr, acme, gb = delivered
    laptop = line_ids(app, acme)["LAPTOP-FR"]
    ask(client, **{str(laptop): "1"})
    request_id = last_return(app, acme)
    for tenant, slug in ((gb, "gb"), (fr, "fr")):  # a stranger, and even the office
        other = staff_client(app, tenant, f"staff@{slug}.example")
        assert other.get(f"/s/{slug}/staff/orders/1").status_code == 404
        for action in ("accept", "reject", "receive"):
            assert other.post(f"/s/{slug}/staff/returns/{request_id}",
                              data={"action": action}).status_code == 404
    with as_tenant(app, acme):
        neighbour = User(email="voisin@durand.example", name="Voisin", role="customer")
        neighbour.set_password("password-1")
        db.session.add(neighbour)
        db.session.commit()
    stranger = app.test_client()
    log_in(stranger, email="voisin@durand.example")
    assert stranger.get("/s/acme/orders/1").status_code == 404
    assert stranger.post("/s/acme/orders/1/return",
                         data={f"qty-{laptop}": "1"}).status_code == 404
    with as_tenant(app, acme):
        assert db.session.get(ReturnRequest, request_id).status == "requested"
        assert len(db.session.scalars(select(ReturnRequest)).all()) == 1
