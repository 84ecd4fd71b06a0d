"""Points spent twice: one customer's points meet two checkouts at once, or one after the
other with a summary shown before the first was booked. The guarded debit at booking
(``UPDATE ... SET balance = balance - :n WHERE balance >= :n``) lets one through; the others
are refused with a sentence, nothing of them is kept, and the balance never goes below zero.

The concurrent tests need PostgreSQL (concurrent writers, row locks); the sequential ones run
everywhere. The German office ``de`` sees none of it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.toolkit import tenant_by_id
from plugins.promotions import loyalty
from plugins.promotions.loyalty_models import SPEND, PointsAccount, PointsEntry
from tests.conftest import as_tenant, requires_postgresql, translated
from tests.promotions.conftest import (
    add,
    advance,
    buy,
    hidden,
    last_order,
    login,
    make_customer,
    orders,
)
from tests.promotions.test_loyalty import CHANGED, LEA, balance, entries, said_n

GONE_ONE = ("Your loyalty points were just used on another order: %(left)s point is left. "
            "Nothing was charged and your cart is unchanged; please check the new total.")
GONE_MANY = ("Your loyalty points were just used on another order: %(left)s points are "
             "left. Nothing was charged and your cart is unchanged; please check the new "
             "total.")
BROWSERS = 6
POINTS = 1000
REF = f"{loyalty.REF_PREFIX}{POINTS}"


def rich_customer(app, tenant) -> int:
    """Léa, with exactly 1000 points earned on a paid laptop; her user id."""
    user_id = make_customer(app, tenant, LEA)
    client = app.test_client()
    login(client, tenant.slug, LEA)
    buy(client, tenant.slug, "LAPTOP-FR")
    advance(app, tenant, last_order(app, tenant).number, "paid")
    assert balance(app, tenant, user_id) == POINTS
    return user_id


def browser_with_points(app, slug: str):
    """A browser of Léa's that chose to spend all her points."""
    client = app.test_client()
    login(client, slug, LEA)
    response = client.post(f"/s/{slug}/account/loyalty/spend",
                           data={"action": "all", "next": "cart"})
    assert response.status_code == 303
    return client


def summary(client, slug: str) -> dict[str, str]:
    """The checkout form a browser would post after reading the summary."""
    from tests.promotions.conftest import ADDRESS

    page = client.get(f"/s/{slug}/checkout").get_data(as_text=True)
    return {**ADDRESS, "payment_method": "bank_transfer",
            "tax_basis": hidden(page, "tax_basis") or "",
            "shown_discounts": hidden(page, "shown_discounts") or ""}


def spends(app, tenant) -> list[int]:
    with as_tenant(app, tenant):
        return list(db.session.scalars(select(PointsEntry.points).where(
            PointsEntry.kind == SPEND)))


def nothing_in(app, tenant) -> None:
    with as_tenant(app, tenant):
        assert db.session.scalar(select(func.count()).select_from(PointsAccount)) == 0
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0


def stand_in(order_id: int, number: int) -> SimpleNamespace:
    """An order as the booking hook sees it, carrying all of Léa's points."""
    return SimpleNamespace(id=order_id, number=number, discounts=[
        {"ref": REF, "label": "1000 loyalty points", "amount": "10.00"}])


def claim_as(app, tenant, user_id: int, order: SimpleNamespace) -> str | None:
    """Book ``order``'s points in a transaction of its own: commit if claimed."""
    with app.test_request_context("/"), as_tenant(app, tenant):
        user = db.session.get(User, user_id)
        refusal = loyalty.claim(tenant_by_id(tenant.id), order, user)
        if refusal is None:
            db.session.commit()
        else:
            db.session.rollback()
        return refusal


def placed_orders(app, tenant, user_id: int) -> list[tuple[int, int]]:
    """``(order id, number)`` of Léa's orders, without points."""
    return [(o.id, o.number) for o in orders(app, tenant) if o.user_id == user_id]


# -- one after the other (every database) ---------------------------------------------------


def test_two_bookings_one_after_the_other_spend_the_points_once(app, shop):
    fr, _acme, de = shop
    user_id = rich_customer(app, fr)
    client = app.test_client()
    login(client, "fr", LEA)
    buy(client, "fr", "MOUSE")
    buy(client, "fr", "CABLE")
    (first, n1), (second, n2) = placed_orders(app, fr, user_id)[1:]
    assert claim_as(app, fr, user_id, stand_in(first, n1)) is None
    refusal = claim_as(app, fr, user_id, stand_in(second, n2))
    assert refusal == ("Your loyalty points were just used on another order: 0 points are "
                       "left. Nothing was charged and your cart is unchanged; please check "
                       "the new total.")
    assert balance(app, fr, user_id) == 0
    assert spends(app, fr) == [-POINTS]
    nothing_in(app, de)


def test_a_summary_shown_before_another_browser_spent_the_points_is_not_charged_twice(
        app, shop):
    fr, _acme, de = shop
    user_id = rich_customer(app, fr)
    one, two = browser_with_points(app, "fr"), browser_with_points(app, "fr")
    add(one, "fr", "SCREEN")
    stale = summary(two, "fr")  # the second browser shows the points too...
    assert stale["shown_discounts"] == f"{REF}=10.00"
    first = one.post("/s/fr/checkout", data=summary(one, "fr"))
    assert first.status_code == 303  # ...but the first one books them
    add(two, "fr", "SCREEN")  # the cart was the first order's: fill it again
    refused = two.post("/s/fr/checkout", data=stale)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert translated(app, "fr_FR", CHANGED) in page
    assert hidden(page, "shown_discounts") == ""  # the new total: no points left
    assert balance(app, fr, user_id) == 0
    assert spends(app, fr) == [-POINTS]
    assert len(placed_orders(app, fr, user_id)) == 2  # the laptop and the first screen
    again = two.post("/s/fr/checkout", data=summary(two, "fr"))
    assert again.status_code == 303  # confirmed at the new total
    assert balance(app, fr, user_id) == 0
    assert entries(app, fr, user_id)[-1] == (SPEND, -POINTS, 0)
    nothing_in(app, de)


# -- at the same moment (PostgreSQL) --------------------------------------------------------


@requires_postgresql
def test_concurrent_bookings_of_the_same_points_let_exactly_one_through(app_factory, shop):
    fr, _acme, de = shop
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 20})
    user_id = rich_customer(app, fr)
    client = app.test_client()
    login(client, "fr", LEA)
    for _n in range(BROWSERS):
        buy(client, "fr", "CABLE")
    booked = placed_orders(app, fr, user_id)[1:]
    start = threading.Barrier(len(booked))

    def book(order: tuple[int, int]) -> str | None:
        start.wait(30)  # every booking debits at the same moment
        return claim_as(app, fr, user_id, stand_in(*order))

    with ThreadPoolExecutor(len(booked)) as pool:
        answers = list(pool.map(book, booked))

    assert answers.count(None) == 1
    assert all("were just used on another order" in a for a in answers if a is not None)
    assert balance(app, fr, user_id) == 0
    assert spends(app, fr) == [-POINTS]
    nothing_in(app, de)


@requires_postgresql
def test_concurrent_checkouts_with_the_same_points_spend_them_once(app_factory, shop):
    fr, _acme, de = shop
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 30, "max_overflow": 30})
    user_id = rich_customer(app, fr)
    browsers = [browser_with_points(app, "fr") for _n in range(BROWSERS)]
    add(browsers[0], "fr", "SUPPORT")  # one customer, one cart: every browser sees it
    forms = [summary(browser, "fr") for browser in browsers]
    assert {form["shown_discounts"] for form in forms} == {f"{REF}=10.00"}
    start = threading.Barrier(BROWSERS)

    def checkout(n: int) -> tuple[int, str, str]:
        start.wait(30)  # every browser confirms at the same moment
        response = browsers[n].post("/s/fr/checkout", data=forms[n])
        return (response.status_code, response.headers.get("Location", ""),
                response.get_data(as_text=True))

    with ThreadPoolExecutor(BROWSERS) as pool:
        answers = list(pool.map(checkout, range(BROWSERS)))

    gone = said_n(app, GONE_ONE, GONE_MANY, 0, left="0")
    changed = translated(app, "fr_FR", CHANGED)
    placed = [a for a in answers if a[0] == 303 and "/orders/" in a[1]]
    assert len(placed) == 1
    for status, location, page in answers:
        if (status, location) == placed[0][:2]:
            continue
        # Refused with a sentence, or (come after the winner took the cart) sent back to
        # the empty cart: never a second order, never an error page.
        assert (status == 400 and (gone in page or changed in page)) or (
            status == 303 and location.endswith("/cart")), (status, location)
    assert balance(app, fr, user_id) == 0
    assert spends(app, fr) == [-POINTS]
    assert len(placed_orders(app, fr, user_id)) == 2
    nothing_in(app, de)
