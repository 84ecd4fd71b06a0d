"""Loyalty points: earned on paid orders, spent at checkout as a discount before VAT, taken
back on returns and cancellations (never below zero), expiring oldest first and exactly, a
reminder before they do, and a statement in the shop's language. The German office ``de``
runs the programme too and sees none of it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import escape
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.orders.models import Order
from comptoir.toolkit import tenant_by_id
from plugins.promotions import loyalty
from plugins.promotions.loyalty_models import (
    EARN,
    EXPIRE,
    REVERSE,
    SPEND,
    PointsAccount,
    PointsEntry,
    PointsLot,
)
from tests.conftest import as_tenant
from tests.promotions.conftest import (
    add,
    advance,
    buy,
    last_order,
    login,
    make_customer,
    plugin_settings,
    return_order,
    shown_discounts,
    staff_client,
)

LEA = "lea@example.fr"


# -- helpers --------------------------------------------------------------------------------

#: The core's words when the discounts changed between the summary and the booking.
CHANGED = ("Your discounts changed (a promotion ended or changed): please check the new "
           "total and confirm.")


def said(app, msgid: str, *, html: bool = True, **params: Any) -> str:
    """``msgid`` as the promotions plugin says it in the French test shops (HTML-escaped
    as a page shows it, unless ``html`` is false): compared with the plugin's catalogue, so
    a missing or untranslated message still fails."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("fr_FR"):
        text = loyalty.translations.gettext(msgid, **params)
    return str(escape(text)) if html else text


def said_n(app, singular: str, plural: str, n: int, *, html: bool = True,
           **params: Any) -> str:
    """The plural-aware ``said`` (French says "0 point", English "0 points")."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("fr_FR"):
        text = loyalty.translations.ngettext(singular, plural, n, **params)
    return str(escape(text)) if html else text


def fr_number(n: int) -> str:
    """``n`` as a French page writes it (``1 600``)."""
    return format_decimal(n, locale="fr_FR")


def points_words(app, n: int, html: bool = True) -> str:
    """The discount line of ``n`` points ("500 loyalty points")."""
    return said_n(app, "%(points)s loyalty point", "%(points)s loyalty points", n,
                  html=html, points=fr_number(n))



def balance(app, tenant, user_id: int) -> int:
    """The customer's balance, after checking that it equals the sum of the ledger and
    the sum of what is left in the lots (the invariants every scenario must keep)."""
    with as_tenant(app, tenant):
        account = db.session.scalars(select(PointsAccount).where(
            PointsAccount.user_id == user_id)).first()
        if account is None:
            return 0
        ledger = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                                   .where(PointsEntry.account_id == account.id))
        lots = db.session.scalar(select(func.coalesce(func.sum(PointsLot.remaining), 0))
                                 .where(PointsLot.account_id == account.id))
        assert account.balance >= 0
        assert account.balance == ledger == lots, (account.balance, ledger, lots)
        return account.balance


def entries(app, tenant, user_id: int) -> list[tuple[str, int, int]]:
    """``(kind, points, shortfall)`` of the customer's ledger, oldest first."""
    with as_tenant(app, tenant):
        return [(e.kind, e.points, e.shortfall) for e in db.session.scalars(
            select(PointsEntry).join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
            .where(PointsAccount.user_id == user_id).order_by(PointsEntry.id))]


def choose(client, slug: str, points: Any, next_page: str = "cart", action: str = ""):
    data = {"points": str(points), "next": next_page}
    if action:
        data["action"] = action
    return client.post(f"/s/{slug}/account/loyalty/spend", data=data)


def chosen(client, tenant) -> dict:
    """The plugin's part of the shop's session (its cookie is the shop's own)."""
    from comptoir.tenants.resolution import ENVIRON_SLUG

    with client.session_transaction(f"/s/{tenant.slug}/cart",
                                    environ_overrides={ENVIRON_SLUG: tenant.slug}) as state:
        return dict(state.get(f"promotions:{tenant.id}") or {})


def earn_points(app, client, tenant, *items: Any) -> Order:
    """The logged-in customer buys ``items`` and the order is paid: its points are earned."""
    buy(client, tenant.slug, *items)
    order = last_order(app, tenant)
    advance(app, tenant, order.number, "paid")
    return order


def run_in(app, tenant, work, *args: Any) -> Any:
    """Run ``work(tenant_info, *args)`` as a job of ``tenant`` would."""
    with as_tenant(app, tenant):
        return work(tenant_by_id(tenant.id), *args)


@pytest.fixture
def lea(app, shop):
    """A French consumer, logged in at ``fr``: ``(client, user id)``."""
    fr, _acme, _de = shop
    user_id = make_customer(app, fr, LEA)
    client = app.test_client()
    login(client, "fr", LEA)
    return client, user_id


# -- earning --------------------------------------------------------------------------------


def test_a_paid_order_earns_a_point_per_euro_of_goods_after_discounts(app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    buy(client, "fr", "LAPTOP-FR", ("SCREEN", 2), shipping_method="express")
    order = last_order(app, fr)
    assert balance(app, fr, user_id) == 0  # placed, not paid: nothing yet
    advance(app, fr, order.number, "paid")
    # 1000 + 2 x 300 = 1600 € of goods; the 15 € express delivery and the VAT never count.
    assert balance(app, fr, user_id) == 1600
    advance(app, fr, order.number, "shipped")  # no second earning on another event
    assert entries(app, fr, user_id) == [(EARN, 1600, 0)]


def test_the_statement_speaks_the_shops_language(app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    empty = client.get("/s/fr/account/loyalty/").get_data(as_text=True)
    assert 'id="points-empty"' in empty
    order = earn_points(app, client, fr, "LAPTOP-FR", ("SCREEN", 2))
    page = client.get("/s/fr/account/loyalty/").get_data(as_text=True)
    assert 'id="points-empty"' not in page
    assert str(escape(format_decimal(1600, locale="fr_FR"))) in page  # "1 600"
    today = run_in(app, fr, lambda tenant: loyalty.shop_today(tenant))
    assert format_date(today, "medium", locale="fr_FR") in page
    expires = loyalty.add_months(today, 12) - timedelta(days=1)
    assert format_date(expires, "long", locale="fr_FR") in page
    assert said(app, "Earned on order %(number)s", number=order.number) in page
    assert "16,00\xa0€" in page  # the points' worth, formatted as money in French


def test_a_guest_who_registers_after_paying_earns_the_orders_points(app, shop):
    fr, _acme, _de = shop
    client = app.test_client()
    buy(client, "fr", "SCREEN", email="nina@example.fr")
    order = last_order(app, fr)
    advance(app, fr, order.number, "paid")
    response = client.post(f"/s/fr/orders/{order.number}/account",
                           data={"name": "Nina", "password": "password-1"})
    assert response.status_code == 303
    with as_tenant(app, fr):
        user_id = db.session.scalar(select(Order.user_id).where(Order.id == order.id))
    assert balance(app, fr, user_id) == 300


def test_the_shops_rate_and_its_resellers_inherit_it(app, shop):
    fr, acme, _de = shop
    plugin_settings(app, fr, points_per_unit="2.5")
    client = app.test_client()
    login(client, "acme", "buyer@durand.example")
    order = earn_points(app, client, acme, "SCREEN")
    with as_tenant(app, acme):
        user_id = db.session.scalar(select(Order.user_id).where(Order.id == order.id))
    assert balance(app, acme, user_id) == 750  # 300 € x 2.5, in the reseller's own ledger
    with as_tenant(app, fr):
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0


def test_a_shop_that_turned_the_programme_off_gives_no_points_and_no_page(app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    plugin_settings(app, fr, loyalty_enabled=False)
    earn_points(app, client, fr, "SCREEN")
    assert balance(app, fr, user_id) == 0
    assert client.get("/s/fr/account/loyalty/").status_code == 404


def test_the_account_pages_want_a_login(app, shop):
    response = app.test_client().get("/s/fr/account/loyalty/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- spending -------------------------------------------------------------------------------


def test_points_chosen_come_off_the_goods_before_vat_and_are_debited_once(app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    earn_points(app, client, fr, "LAPTOP-FR")  # 1000 points
    response = choose(client, "fr", "500")
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    assert chosen(client, fr)["points"] == 500
    add(client, "fr", "SCREEN")
    cart = client.get("/s/fr/cart").get_data(as_text=True)
    assert points_words(app, 500) in cart and 'id="points-form"' in cart
    buy(client, "fr")
    order = last_order(app, fr)
    assert order.discounts == [{"ref": "promotions:points:500",
                                "label": points_words(app, 500, html=False),
                                "amount": "5.00"}]
    assert order.total_net == Decimal("295.00")
    assert order.total_vat == Decimal("59.00")  # 20 % of the price after the points
    assert balance(app, fr, user_id) == 500
    assert entries(app, fr, user_id) == [(EARN, 1000, 0), (SPEND, -500, 0)]
    assert "points" not in chosen(client, fr)  # the next order starts with none
    page = client.get(f"/s/fr/orders/{order.number}").get_data(as_text=True)
    assert said_n(app, "%(points)s point was used on it.",
                  "%(points)s points were used on it.", 500, points="500") in page


def test_points_never_pay_more_than_the_goods(app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    earn_points(app, client, fr, "LAPTOP-FR", "SCREEN")  # 1300 points = 13 €
    assert choose(client, "fr", 0, action="all").status_code == 303
    assert chosen(client, fr)["points"] == 1300
    buy(client, "fr", "CABLE", shipping_method="express")  # 10 € of goods, 15 € delivery
    order = last_order(app, fr)
    assert order.discounts[0]["ref"] == "promotions:points:1000"  # only what the goods take
    assert order.total_net == Decimal("15.00")  # the delivery is still paid
    assert balance(app, fr, user_id) == 300


@pytest.mark.parametrize("typed", ["abc", "-5", "12.5", "5000"])
def test_a_bad_number_of_points_is_refused_and_changes_nothing(app, shop, lea, typed):
    fr, _acme, _de = shop
    client, user_id = lea
    earn_points(app, client, fr, "LAPTOP-FR")
    choose(client, "fr", 200, next_page="account")
    response = choose(client, "fr", typed, next_page="account")
    assert response.status_code == 303
    page = client.get("/s/fr/account/loyalty/").get_data(as_text=True)
    if typed == "5000":
        problem = said_n(app, "You have %(points)s point to spend: %(asked)s is too many. "
                         "Nothing was changed.", "You have %(points)s points to spend: "
                         "%(asked)s is too many. Nothing was changed.", 1000,
                         points=fr_number(1000), asked=fr_number(5000))
    else:
        problem = said(app, "“%(value)s” is not a number of points: enter a whole number "
                       "such as 500. Nothing was changed.", value=typed)
    assert problem in page
    assert chosen(client, fr)["points"] == 200
    assert balance(app, fr, user_id) == 1000


def test_a_customer_without_points_gets_no_form_and_cannot_choose_any(app, shop, lea):
    fr, _acme, _de = shop
    client, _user_id = lea
    add(client, "fr", "SCREEN")
    assert 'id="points-form"' not in client.get("/s/fr/cart").get_data(as_text=True)
    choose(client, "fr", 10)
    assert "points" not in chosen(client, fr)
    assert said_n(app, "You have %(points)s point to spend: %(asked)s is too many. Nothing "
                  "was changed.", "You have %(points)s points to spend: %(asked)s is too "
                  "many. Nothing was changed.", 0, points="0", asked="10"
                  ) in client.get("/s/fr/cart").get_data(as_text=True)


def test_a_choice_belongs_to_the_account_that_made_it(app, shop, lea):
    fr, _acme, _de = shop
    client, _user_id = lea
    earn_points(app, client, fr, "LAPTOP-FR")
    paul = app.test_client()
    make_customer(app, fr, "paul@example.fr", name="Paul")
    login(paul, "fr", "paul@example.fr")
    earn_points(app, paul, fr, "LAPTOP-FR")
    choose(client, "fr", 300)  # Léa's choice, in the browser Paul will use next
    client.post("/s/fr/logout")
    login(client, "fr", "paul@example.fr")
    add(client, "fr", "SCREEN")
    assert shown_discounts(client, "fr") == ""  # Paul has points but chose none
    choose(client, "fr", 300)
    assert shown_discounts(client, "fr") == "promotions:points:300=3.00"


# -- taking back ----------------------------------------------------------------------------


@pytest.fixture
def staff(app, shop):
    fr, _acme, _de = shop
    return staff_client(app, fr)


def deliver(app, tenant, number: int) -> None:
    advance(app, tenant, number, "shipped", "delivered")


def test_a_return_takes_back_the_returned_goods_share_and_the_last_one_the_rest(
        app, shop, lea, staff):
    fr, _acme, _de = shop
    client, user_id = lea
    order = earn_points(app, client, fr, ("SCREEN", 2), "MOUSE")  # 620 €: 620 points
    deliver(app, fr, order.number)
    return_order(app, client, staff, "fr", order.number, fr, SCREEN=1)
    assert balance(app, fr, user_id) == 320  # 300 of the 620 € came back
    page = client.get(f"/s/fr/orders/{order.number}").get_data(as_text=True)
    assert said_n(app, "This order earned %(points)s loyalty point.",
                  "This order earned %(points)s loyalty points.", 620, points="620") in page
    assert said_n(app, "%(points)s point was taken back.", "%(points)s points were taken "
                  "back.", 300, points="300") in page
    return_order(app, client, staff, "fr", order.number, fr, SCREEN=1, MOUSE=1)
    assert balance(app, fr, user_id) == 0  # everything back: exactly what was earned
    assert entries(app, fr, user_id) == [(EARN, 620, 0), (REVERSE, -300, 0),
                                         (REVERSE, -320, 0)]


def test_points_spent_already_are_recorded_as_not_taken_back_never_below_zero(
        app, shop, lea, staff):
    fr, _acme, _de = shop
    client, user_id = lea
    first = earn_points(app, client, fr, "LAPTOP-FR")  # 1000 points
    choose(client, "fr", 800)
    buy(client, "fr", "SCREEN")  # 8 € off, 200 points left
    deliver(app, fr, first.number)
    return_order(app, client, staff, "fr", first.number, fr)
    assert balance(app, fr, user_id) == 0
    assert entries(app, fr, user_id)[-1] == (REVERSE, -200, 800)
    page = client.get("/s/fr/account/loyalty/").get_data(as_text=True)
    assert said_n(app, "(%(points)s point could not be taken back: it was spent already)",
                  "(%(points)s points could not be taken back: they were spent already)",
                  800, points="800") in page
    # The event seen again reverses nothing more.
    with as_tenant(app, fr):
        order = db.session.get(Order, first.id)
        loyalty.reverse(tenant_by_id(fr.id), order)
    assert len(entries(app, fr, user_id)) == 3


def test_a_cancelled_order_gives_its_points_back_and_takes_its_earnings(app, shop, lea,
                                                                         staff):
    fr, _acme, _de = shop
    client, user_id = lea
    earn_points(app, client, fr, "LAPTOP-FR")  # 1000
    choose(client, "fr", 500)
    second = earn_points(app, client, fr, "SCREEN")  # 500 points off; earns 295
    assert balance(app, fr, user_id) == 795
    response = staff.post(f"/s/fr/staff/orders/{second.number}/status",
                          data={"status": "cancelled"})
    assert response.status_code == 303
    assert balance(app, fr, user_id) == 1000
    assert entries(app, fr, user_id) == [(EARN, 1000, 0), (SPEND, -500, 0), (EARN, 295, 0),
                                         (REVERSE, 500, 0), (REVERSE, -295, 0)]
    with as_tenant(app, fr):  # the 500 went back to the lot they came from
        lots = db.session.scalars(select(PointsLot).order_by(PointsLot.id)).all()
        assert [(lot.points, lot.remaining) for lot in lots] == [(1000, 1000), (295, 0)]


# -- expiry and reminders -------------------------------------------------------------------


def _age_first_lot(app, tenant, expires_on: date) -> None:
    with as_tenant(app, tenant):
        lot = db.session.scalars(select(PointsLot).order_by(PointsLot.id)).first()
        lot.earned_on = expires_on - timedelta(days=365)
        lot.expires_on = expires_on
        db.session.commit()


def test_points_are_spent_oldest_first_and_expire_exactly_after_their_last_day(
        app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    today = run_in(app, fr, lambda tenant: loyalty.shop_today(tenant))
    earn_points(app, client, fr, "LAPTOP-FR")  # 1000 points...
    _age_first_lot(app, fr, today + timedelta(days=10))  # ...that expire in ten days
    earn_points(app, client, fr, "SCREEN")  # 300 points for a year
    choose(client, "fr", 400)
    buy(client, "fr", "CABLE")  # 4 € off the cable: 400 points from the oldest lot
    with as_tenant(app, fr):
        assert [lot.remaining for lot in db.session.scalars(
            select(PointsLot).order_by(PointsLot.id))] == [600, 300]
    assert run_in(app, fr, loyalty.expire_due, today + timedelta(days=10)) == 0
    assert run_in(app, fr, loyalty.expire_due, today + timedelta(days=11)) == 600
    assert balance(app, fr, user_id) == 300
    assert entries(app, fr, user_id)[-1] == (EXPIRE, -600, 0)
    assert run_in(app, fr, loyalty.expire_due, today + timedelta(days=12)) == 0
    page = client.get("/s/fr/account/loyalty/").get_data(as_text=True)
    last_day = today + timedelta(days=10)
    assert said(app, "Expired: points earned on %(earned)s, valid until %(until)s",
                earned=format_date(last_day - timedelta(days=365), "medium", locale="fr_FR"),
                until=format_date(last_day, "medium", locale="fr_FR")) in page


def test_points_past_their_day_cannot_be_spent_before_the_job_runs(app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    today = run_in(app, fr, lambda tenant: loyalty.shop_today(tenant))
    earn_points(app, client, fr, "LAPTOP-FR")
    _age_first_lot(app, fr, today - timedelta(days=1))
    assert 'id="points-form"' not in client.get("/s/fr/cart").get_data(as_text=True)
    choose(client, "fr", 100)
    assert "points" not in chosen(client, fr)
    assert balance(app, fr, user_id) == 1000  # still on the books until the job runs


def test_customers_are_reminded_once_per_lot_before_points_expire(app, shop, lea,
                                                                   monkeypatch):
    fr, _acme, _de = shop
    client, user_id = lea
    told: list[tuple[int, str, dict]] = []
    monkeypatch.setattr(loyalty, "customer_event", lambda tenant, user, event, **details:
                        told.append((user.id, event, details)))
    today = run_in(app, fr, lambda tenant: loyalty.shop_today(tenant))
    earn_points(app, client, fr, "LAPTOP-FR")
    _age_first_lot(app, fr, today + timedelta(days=40))
    earn_points(app, client, fr, "SCREEN")
    _age_second = today + timedelta(days=40)
    with as_tenant(app, fr):  # both lots end the same day: one reminder for the two
        for lot in db.session.scalars(select(PointsLot)):
            lot.expires_on = _age_second
        db.session.commit()
    assert run_in(app, fr, loyalty.remind_due, today) == 0  # 40 days away; 30 by default
    assert run_in(app, fr, loyalty.remind_due, today + timedelta(days=10)) == 1
    assert told == [(user_id, "loyalty_points_expiring",
                     {"points": 1300, "expires_on": _age_second.isoformat()})]
    assert run_in(app, fr, loyalty.remind_due, today + timedelta(days=20)) == 0
    assert len(told) == 1


def test_the_newsletters_plugin_takes_the_event_as_it_is_sent(app, shop, lea, monkeypatch):
    """With the newsletters plugin on, the reminder passes its checks (``points`` an int,
    ``expires_on`` an ISO date) and queues its loyalty message."""
    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant
    from plugins.newsletters import triggers

    fr, _acme, _de = shop
    client, user_id = lea
    with app.app_context():
        tenants.set_plugin_enabled(db.session.get(Tenant, fr.id), "newsletters", True)
        db.session.commit()
    queued: list[tuple[str, dict]] = []
    monkeypatch.setattr(triggers, "enqueue", lambda name, **kwargs: queued.append(
        (name, kwargs)))
    today = run_in(app, fr, lambda tenant: loyalty.shop_today(tenant))
    earn_points(app, client, fr, "SCREEN")
    _age_first_lot(app, fr, today + timedelta(days=3))
    assert run_in(app, fr, loyalty.remind_due, today) == 1
    assert ("newsletters.loyalty_expiring", {
        "tenant_id": fr.id, "user_id": user_id, "points": 300,
        "expires_on": (today + timedelta(days=3)).isoformat()}) in queued


def test_the_hourly_job_expires_every_shops_points_and_no_other_shops(app, shop, lea):
    fr, _acme, de = shop
    client, fr_user = lea
    today = run_in(app, fr, lambda tenant: loyalty.shop_today(tenant))
    earn_points(app, client, fr, "SCREEN")
    _age_first_lot(app, fr, today - timedelta(days=1))
    de_user = make_customer(app, de, "jonas@example.de", name="Jonas")
    german = app.test_client()
    login(german, "de", "jonas@example.de")
    earn_points(app, german, de, "DE-PC")
    with app.app_context():
        assert loyalty.expire_points_everywhere() == 300
    assert balance(app, fr, fr_user) == 0
    assert balance(app, de, de_user) == 500  # the German office's points are its own


# -- another shop ---------------------------------------------------------------------------


def test_another_shop_sees_nothing_of_these_points(app, shop, lea):
    fr, _acme, de = shop
    client, fr_user = lea
    earn_points(app, client, fr, "LAPTOP-FR")
    make_customer(app, de, LEA, name="Léa in Berlin")  # the same address, another shop
    german = app.test_client()
    login(german, "de", LEA)
    page = german.get("/s/de/account/loyalty/").get_data(as_text=True)
    assert 'id="points-empty"' in page and "1000" not in page and "1 000" not in page
    with as_tenant(app, de):
        assert db.session.scalar(select(func.count()).select_from(PointsAccount)) == 0
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0
    assert client.get("/s/de/account/loyalty/").status_code == 302  # fr's login is not de's
    assert balance(app, fr, fr_user) == 1000


def test_staff_adjustments_need_a_reason_and_never_go_below_zero(app, shop, lea):
    fr, _acme, _de = shop
    client, user_id = lea
    earn_points(app, client, fr, "SCREEN")
    with pytest.raises(ValueError, match="Say why"):
        run_in(app, fr, loyalty.adjust, user_id, 50, "staff@fr.example", "  ")
    with pytest.raises(ValueError, match="cannot be taken"):
        run_in(app, fr, loyalty.adjust, user_id, -301, "staff@fr.example", "erreur")
    assert balance(app, fr, user_id) == 300
    run_in(app, fr, loyalty.adjust, user_id, -100, "staff@fr.example", "erreur de saisie")
    run_in(app, fr, loyalty.adjust, user_id, 40, "staff@fr.example", "geste commercial")
    assert balance(app, fr, user_id) == 240
    page = client.get("/s/fr/account/loyalty/").get_data(as_text=True)
    assert said(app, "Adjusted by the shop: %(reason)s", reason="geste commercial") in page
