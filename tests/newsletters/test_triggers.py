"""Triggers, received over real SMTP (aiosmtpd): order and delivery notices go to anyone who
ordered, whatever their newsletter choices, and say so; reminders (cart, browsing, review,
birthday, win-back, loyalty, welcome) go to subscribed readers only, in their language, under
the frequency cap, never twice, and only when due. Browse abandonment also asks the help
desk to call the customer back. The German office's jobs and staff see nothing of France.

Time travels by moving timestamps back in the database, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale, format_date
from sqlalchemy import func, select, update

from comptoir.callbacks.models import CallbackTask
from comptoir.core.db import db
from comptoir.customers.models import User
from comptoir.orders.models import Cart, Order, OrderEvent
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from comptoir.tenants.resolution import directory
from comptoir.toolkit import customer_event, money, shop_today
from plugins.newsletters import triggers
from plugins.newsletters.models import (
    FAILED,
    MARKETING,
    SENT,
    SUBSCRIBED,
    TRANSACTIONAL,
    UNSUBSCRIBED,
    Delivery,
    ProductView,
    Subscriber,
    Suppression,
)
from tests.conftest import as_tenant
from tests.mailserver import free_port
from tests.newsletters.conftest import PUBLIC_URL, login, mails_to, make_customer
from tests.orders.conftest import ADDRESS, staff_client

LEA = "lea.martin@example.org"
TRANSACTIONAL_FOOTER = ("This message about your account or your order is sent whatever "
                        "your newsletter choices.")


# --- helpers -------------------------------------------------------------------------------


def info(app, tenant):
    with app.app_context():
        return directory().by_id(tenant.id)


def words(app, locale: str, msgid: str, /, **params: Any) -> str:
    """``msgid`` from the plugin's catalogue in ``locale``, as a message shows it."""
    with app.test_request_context(), force_locale(locale):
        return triggers._(msgid, **params)


def configure(app, tenant, **values: Any) -> None:
    with app.app_context():
        tenants.update_plugin_settings(db.session.get(Tenant, tenant.id), "newsletters", values)
        db.session.commit()


def subscribe(app, tenant, email: str, user_id: int | None = None, **fields: Any) -> int:
    """A confirmed subscriber (the double opt-in is the consent tests' business)."""
    values = {"locale": "fr_FR", "status": SUBSCRIBED, "channels": ["email"], "name": "Léa Martin",
              "confirmed_at": datetime.now(UTC), **fields}
    with as_tenant(app, tenant):
        row = Subscriber(email=email, user_id=user_id, **values)
        db.session.add(row)
        db.session.commit()
        return row.id


def change_subscriber(app, tenant, subscriber_id: int, **values: Any) -> None:
    with as_tenant(app, tenant):
        db.session.execute(update(Subscriber).where(Subscriber.id == subscriber_id)
                           .values(**values))
        db.session.commit()


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def marketing_to(smtp, address: str) -> list[Any]:
    return [m for m in mails_to(smtp, address) if m["List-Unsubscribe"] is not None]


def run(app, job: Callable[[], int]) -> int:
    """A periodic job as the worker runs it: in an app context, with no tenant."""
    with app.app_context():
        return job()


def deliveries(app, tenant, **where: Any) -> list[tuple[str, str, str]]:
    with as_tenant(app, tenant):
        query = select(Delivery).order_by(Delivery.id)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        return [(d.dedupe_key, d.kind, d.status) for d in db.session.scalars(query)]


def order_of(app, tenant, number: int) -> Order:
    with as_tenant(app, tenant):
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        db.session.expunge(order)
        return order


def checkout(client, slug: str = "fr", sku: str = "PRINTER", **extra: str) -> int:
    """Order ``sku`` as the client's visitor; returns the order's number."""
    assert client.post(f"/s/{slug}/cart/add", data={"sku": sku, "quantity": "1"}
                       ).status_code in (302, 303)
    response = client.post(f"/s/{slug}/checkout",
                           data={**ADDRESS, "payment_method": "bank_transfer", **extra})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def move(staff, number: int, status: str, slug: str = "fr") -> None:
    assert staff.post(f"/s/{slug}/staff/orders/{number}/status",
                      data={"status": status}).status_code == 303


def back_in_time(app, tenant, model, column, delta: timedelta, *where: Any) -> None:
    with as_tenant(app, tenant):
        db.session.execute(update(model).where(*where).values(
            {column: datetime.now(UTC) - delta}))
        db.session.commit()


def suppress_address(app, tenant, email: str) -> None:
    with as_tenant(app, tenant):
        db.session.add(Suppression(email=email, reason="hard_bounce"))
        db.session.commit()


def fill_the_cap(app, tenant, email: str) -> None:
    """A cap of one marketing message a week, and one already sent this week."""
    configure(app, tenant, frequency_cap_per_week=1)
    with as_tenant(app, tenant):
        db.session.add(Delivery(dedupe_key=f"c99:{email}", kind=MARKETING, status=SENT,
                                email=email, sent_at=datetime.now(UTC), campaign_id=99))
        db.session.commit()


@pytest.fixture
def lea(app, shops) -> dict[str, Any]:
    """A French customer, logged in, subscribed in French with a phone number."""
    user_id = make_customer(app, shops.fr, LEA)
    subscriber_id = subscribe(app, shops.fr, LEA, user_id=user_id, phone="+33 6 12 34 56 78")
    client = app.test_client()
    login(client, shops.fr, LEA)
    return {"user_id": user_id, "subscriber_id": subscriber_id, "client": client}


@pytest.fixture
def staff(app, shops):
    return staff_client(app, shops.fr, "desk@fr.example")


# --- order and delivery notices (transactional) --------------------------------------------


def test_an_order_is_confirmed_to_a_guest_who_never_subscribed(app, shops):
    guest = app.test_client()
    number = checkout(guest, email="guest@example.org")
    order = order_of(app, shops.fr, number)
    (mail,) = mails_to(shops.smtp, "guest@example.org")
    assert mail["Subject"] == words(app, "fr_FR", "Your order %(number)s is confirmed",
                                    number=number)
    assert mail["List-Unsubscribe"] is None and mail["Auto-Submitted"] == "auto-generated"
    text = text_of(mail)
    with app.test_request_context(), force_locale("fr_FR"):
        total = money(order.total_gross, "EUR")
    for shown in ("Imprimante laser couleur", "PRINTER", total,
                  f"{PUBLIC_URL}/s/fr/orders/{number}",
                  words(app, "fr_FR", TRANSACTIONAL_FOOTER)):
        assert shown in text, shown
    assert order.total_gross > Decimal("300")
    assert deliveries(app, shops.fr) == [(f"order:{order.id}:placed", TRANSACTIONAL, SENT)]
    # The link leads the buyer (same browser session) to the order.
    assert guest.get(f"{PUBLIC_URL}/s/fr/orders/{number}").status_code == 200


def test_notices_follow_the_order_in_the_subscribers_language_even_after_unsubscribing(
        app, shops, lea, staff):
    change_subscriber(app, shops.fr, lea["subscriber_id"], locale="en", status=UNSUBSCRIBED)
    number = checkout(lea["client"])
    move(staff, number, "shipped")
    move(staff, number, "delivered")
    subjects = [m["Subject"] for m in mails_to(shops.smtp, LEA)]
    assert subjects == [
        words(app, "en", "Your order %(number)s is confirmed", number=number),
        words(app, "en", "Your order %(number)s has shipped", number=number),
        words(app, "en", "Your order %(number)s has been delivered", number=number)]
    for mail in mails_to(shops.smtp, LEA):
        assert words(app, "en", TRANSACTIONAL_FOOTER) in text_of(mail)
        assert mail["List-Unsubscribe"] is None
    order = order_of(app, shops.fr, number)
    assert [k for k, _kind, _s in deliveries(app, shops.fr)] == [
        f"order:{order.id}:placed", f"order:{order.id}:shipped", f"order:{order.id}:delivered"]
    # The job running again (a retry, a second worker) sends nothing more.
    with app.app_context():
        triggers.order_mail(tenant_id=shops.fr.id, order_id=order.id, event="shipped")
    assert len(mails_to(shops.smtp, LEA)) == 3


def test_each_notice_can_be_turned_off(app, shops, lea, staff):
    configure(app, shops.fr, trigger_order_confirmation=False)
    number = checkout(lea["client"])
    assert mails_to(shops.smtp, LEA) == []
    configure(app, shops.fr, trigger_order_confirmation=True, trigger_delivery_status=False)
    move(staff, number, "shipped")
    move(staff, number, "delivered")
    assert mails_to(shops.smtp, LEA) == [] and deliveries(app, shops.fr) == []


def test_an_order_awaiting_payment_or_approval_is_announced_as_such(app, shops, lea):
    configure(app, shops.fr, trigger_order_confirmation=False)
    number = checkout(lea["client"])
    order = order_of(app, shops.fr, number)
    with as_tenant(app, shops.fr):
        db.session.execute(update(Order).where(Order.id == order.id)
                           .values(status="awaiting_payment"))
        db.session.commit()
    configure(app, shops.fr, trigger_order_confirmation=True)
    with app.app_context():
        triggers.order_mail(tenant_id=shops.fr.id, order_id=order.id, event="placed")
        triggers.order_mail(tenant_id=shops.fr.id, order_id=order.id, event="held")
    paying, held = mails_to(shops.smtp, LEA)
    assert paying["Subject"] == words(app, "fr_FR", "Your order %(number)s", number=number)
    assert words(app, "fr_FR", "Thank you for your order %(number)s. It is confirmed once "
                 "your payment is received. Here is what you ordered:",
                 number=number) in text_of(paying)
    assert held["Subject"] == words(app, "fr_FR", "Your order %(number)s awaits approval",
                                    number=number)


def test_a_dead_mail_server_does_not_stop_checkout_and_the_notice_goes_later(
        app, app_factory, shops):
    down = app_factory(MAIL_URL=f"smtp://127.0.0.1:{free_port()}", PUBLIC_URL=PUBLIC_URL,
                       MAIL_FROM="Comptoir <news@comptoir.example>")
    number = checkout(down.test_client(), email="guest@example.org")  # 303: placed
    order = order_of(app, shops.fr, number)
    ((key, _kind, status),) = deliveries(app, shops.fr)
    assert (key, status) == (f"order:{order.id}:placed", FAILED)
    assert shops.smtp.received == []
    # Huey runs the job again later; the server is back: the same delivery goes, once.
    with app.app_context():
        triggers.order_mail(tenant_id=shops.fr.id, order_id=order.id, event="placed")
        triggers.order_mail(tenant_id=shops.fr.id, order_id=order.id, event="placed")
    (mail,) = mails_to(shops.smtp, "guest@example.org")
    assert deliveries(app, shops.fr) == [(f"order:{order.id}:placed", TRANSACTIONAL, SENT)]
    with as_tenant(app, shops.fr):
        row = db.session.scalars(select(Delivery)).one()
        assert row.attempts == 2 and mail["Message-ID"] == row.message_id


def test_a_failing_attempt_raises_so_that_huey_retries(app, app_factory, shops, lea):
    down = app_factory(MAIL_URL=f"smtp://127.0.0.1:{free_port()}", PUBLIC_URL=PUBLIC_URL,
                       MAIL_FROM="Comptoir <news@comptoir.example>")
    with down.app_context(), pytest.raises(triggers.TemporaryFailure):
        triggers.welcome(tenant_id=shops.fr.id, subscriber_id=lea["subscriber_id"])
    assert deliveries(app, shops.fr) == [(f"welcome:{lea['subscriber_id']}", MARKETING, FAILED)]


# --- welcome -------------------------------------------------------------------------------


def test_confirming_a_subscription_brings_one_welcome(app, shops, client):
    assert client.post("/s/fr/newsletter/subscribe", data={
        "email": "paul@example.org", "name": "Paul Durand", "consent": "on"}).status_code == 200
    (confirmation,) = mails_to(shops.smtp, "paul@example.org")
    link = next(w for w in text_of(confirmation).split() if "/newsletter/confirm/" in w)
    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 200  # confirmed twice: welcomed once
    (welcome,) = marketing_to(shops.smtp, "paul@example.org")
    assert welcome["Subject"] == words(app, "fr_FR", "Welcome to %(shop)s's newsletter",
                                       shop="Comptoir France")
    assert words(app, "fr_FR", "Hello %(name)s,", name="Paul") in text_of(welcome)
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_welcome_only_when_on_and_subscribed_and_even_over_the_cap(app, shops):
    pending = subscribe(app, shops.fr, "pending@example.org", status="pending")
    capped = subscribe(app, shops.fr, "capped@example.org", locale="en")
    fill_the_cap(app, shops.fr, "capped@example.org")
    with app.app_context():
        triggers.welcome(tenant_id=shops.fr.id, subscriber_id=pending)
        triggers.welcome(tenant_id=shops.fr.id, subscriber_id=capped)
        triggers.welcome(tenant_id=shops.fr.id, subscriber_id=capped)
    assert mails_to(shops.smtp, "pending@example.org") == []
    (mail,) = mails_to(shops.smtp, "capped@example.org")
    assert mail["Subject"] == words(app, "en", "Welcome to %(shop)s's newsletter",
                                    shop="Comptoir France")
    configure(app, shops.fr, trigger_welcome=False)
    other = subscribe(app, shops.fr, "other@example.org")
    with app.app_context():
        triggers.welcome(tenant_id=shops.fr.id, subscriber_id=other)
    assert mails_to(shops.smtp, "other@example.org") == []


# --- each reminder: due, not yet due, never twice, and what stops it ------------------------


def due_cart(app, shops, lea) -> Callable[[], int]:
    client = lea["client"]
    assert client.post("/s/fr/cart/add", data={"sku": "PRINTER", "quantity": "2"}
                       ).status_code in (302, 303)
    assert run(app, triggers.abandoned_carts) == 0  # just added: not abandoned
    back_in_time(app, shops.fr, Cart, "updated_at", timedelta(hours=5),
                 Cart.user_id == lea["user_id"])
    return triggers.abandoned_carts


def due_browse(app, shops, lea) -> Callable[[], int]:
    assert lea["client"].get("/s/fr/products/PRINTER").status_code == 200
    run(app, triggers.browse_abandonment)
    assert marketing_to(shops.smtp, LEA) == []  # just looked: not abandoned
    back_in_time(app, shops.fr, ProductView, "viewed_at", timedelta(hours=25))
    return triggers.browse_abandonment


def due_review(app, shops, lea) -> Callable[[], int]:
    number = checkout(lea["client"])
    staff = staff_client(app, shops.fr, "shipping@fr.example")
    move(staff, number, "shipped")
    move(staff, number, "delivered")
    back_in_time(app, shops.fr, OrderEvent, "at", timedelta(days=3),
                 OrderEvent.to_status == "delivered")
    assert run(app, triggers.review_requests) == 0  # asked after 7 days, not 3
    back_in_time(app, shops.fr, OrderEvent, "at", timedelta(days=8),
                 OrderEvent.to_status == "delivered")
    return triggers.review_requests


def due_birthday(app, shops, lea) -> Callable[[], int]:
    today = shop_today(info(app, shops.fr))
    tomorrow = today + timedelta(days=1)
    # 1988 was a leap year: any day of the calendar exists in it.
    change_subscriber(app, shops.fr, lea["subscriber_id"],
                      birthday=date(1988, tomorrow.month, tomorrow.day))
    assert run(app, triggers.birthdays) == 0  # not today
    born = date(1988, today.month, today.day)
    change_subscriber(app, shops.fr, lea["subscriber_id"], birthday=born)
    return triggers.birthdays


def due_winback(app, shops, lea) -> Callable[[], int]:
    checkout(lea["client"])
    back_in_time(app, shops.fr, Order, "created_at", timedelta(weeks=20))
    assert run(app, triggers.winback) == 0  # 20 weeks: not yet missed
    back_in_time(app, shops.fr, Order, "created_at", timedelta(weeks=27))
    return triggers.winback


DUE = {"abandoned_cart": due_cart, "browse_abandonment": due_browse,
       "review_request": due_review, "birthday": due_birthday, "winback": due_winback}
OFF = {"abandoned_cart": {"trigger_abandoned_cart_hours": 0},
       "browse_abandonment": {"trigger_browse_hours": 0},
       "review_request": {"trigger_review_days": 0},
       "birthday": {"trigger_birthday": False},
       "winback": {"trigger_winback_weeks": 0}}
SUBJECTS = {
    "abandoned_cart": ("You left something in your cart at %(shop)s", {"shop": "Comptoir France"}),
    "browse_abandonment": ("Still thinking about it?", {}),
    "review_request": ("How do you like your purchase?", {}),
    "birthday": ("Happy birthday from %(shop)s!", {"shop": "Comptoir France"}),
    "winback": ("We miss you at %(shop)s", {"shop": "Comptoir France"}),
}


@pytest.mark.parametrize("trigger", sorted(DUE))
@pytest.mark.parametrize("locale", ["fr_FR", "en"])
def test_a_due_reminder_goes_once_in_the_readers_language(app, shops, lea, trigger, locale):
    change_subscriber(app, shops.fr, lea["subscriber_id"], locale=locale)
    job = DUE[trigger](app, shops, lea)
    run(app, job)
    run(app, job)  # the next run, or a second worker: nothing more
    (mail,) = marketing_to(shops.smtp, LEA)
    msgid, params = SUBJECTS[trigger]
    assert mail["Subject"] == words(app, locale, msgid, **params)
    assert words(app, locale, "Hello %(name)s,", name="Léa") in text_of(mail)
    assert mail["List-Unsubscribe"].startswith(f"<{PUBLIC_URL}/s/fr/newsletter/unsubscribe/")
    (row,) = [d for d in deliveries(app, shops.fr) if d[1] == MARKETING]
    assert row[2] == SENT
    with as_tenant(app, shops.fr):
        assert db.session.scalars(select(Delivery.trigger).where(
            Delivery.kind == MARKETING)).one() == trigger


@pytest.mark.parametrize("trigger", sorted(DUE))
@pytest.mark.parametrize("blocker", ["off", "unsubscribed", "no e-mail channel", "suppressed",
                                     "over the cap"])
def test_a_due_reminder_is_not_sent_when(app, shops, lea, trigger, blocker):
    job = DUE[trigger](app, shops, lea)
    if blocker == "off":
        configure(app, shops.fr, **OFF[trigger])
    elif blocker == "unsubscribed":
        change_subscriber(app, shops.fr, lea["subscriber_id"], status=UNSUBSCRIBED)
    elif blocker == "no e-mail channel":
        change_subscriber(app, shops.fr, lea["subscriber_id"], channels=["sms"])
    elif blocker == "suppressed":
        suppress_address(app, shops.fr, LEA)
    else:
        fill_the_cap(app, shops.fr, LEA)
    run(app, job)
    assert marketing_to(shops.smtp, LEA) == []
    assert [d for d in deliveries(app, shops.fr) if d[1] == MARKETING and d[2] == SENT] == (
        [(f"c99:{LEA}", MARKETING, SENT)] if blocker == "over the cap" else [])
    if blocker == "over the cap":  # the week passes: the reminder goes on the next run
        back_in_time(app, shops.fr, Delivery, "created_at", timedelta(days=8),
                     Delivery.campaign_id == 99)
        run(app, job)
        assert len(marketing_to(shops.smtp, LEA)) == 1


def test_reminders_list_what_was_left_with_links_to_the_shop(app, shops, lea):
    run(app, due_cart(app, shops, lea))
    (mail,) = marketing_to(shops.smtp, LEA)
    text = text_of(mail)
    assert words(app, "fr_FR", "%(quantity)s × %(name)s", quantity=2,
                 name="Imprimante laser couleur") in text
    assert f"{PUBLIC_URL}/s/fr/cart" in text
    # A cart changed since is another reminder; a cart that became an order is none.
    back_in_time(app, shops.fr, Cart, "updated_at", timedelta(hours=6))
    run(app, triggers.abandoned_carts)
    assert len(marketing_to(shops.smtp, LEA)) == 2
    checkout(lea["client"])
    back_in_time(app, shops.fr, Cart, "updated_at", timedelta(hours=7))
    run(app, triggers.abandoned_carts)
    assert len(marketing_to(shops.smtp, LEA)) == 2


def test_a_review_request_links_to_the_products_bought(app, shops, lea):
    run(app, due_review(app, shops, lea))
    (mail,) = marketing_to(shops.smtp, LEA)
    assert f"Imprimante laser couleur: {PUBLIC_URL}/s/fr/products/PRINTER" in text_of(mail)
    assert lea["client"].get(f"{PUBLIC_URL}/s/fr/products/PRINTER").status_code == 200


def test_winback_once_per_period_of_inactivity(app, shops, lea):
    run(app, due_winback(app, shops, lea))
    assert len(marketing_to(shops.smtp, LEA)) == 1
    checkout(lea["client"])  # back, then gone again for 27 weeks: one more "we miss you"
    back_in_time(app, shops.fr, Order, "created_at", timedelta(weeks=27))
    run(app, triggers.winback)
    run(app, triggers.winback)
    assert len(marketing_to(shops.smtp, LEA)) == 2


def test_a_birthday_on_29_february_is_wished_on_the_28th_in_other_years(app, shops, lea):
    change_subscriber(app, shops.fr, lea["subscriber_id"], birthday=date(1988, 2, 29))
    with app.app_context():
        tenant = info(app, shops.fr)
        settings = triggers._settings(tenant)
        assert triggers._birthdays(tenant, settings, today=date(2027, 2, 27)) == 0
        assert triggers._birthdays(tenant, settings, today=date(2027, 2, 28)) == 1
        assert triggers._birthdays(tenant, settings, today=date(2028, 2, 28)) == 0
        assert triggers._birthdays(tenant, settings, today=date(2028, 2, 29)) == 1


def test_loyalty_points_about_to_expire(app, shops, lea):
    with as_tenant(app, shops.fr):
        user = db.session.get(User, lea["user_id"])
        db.session.expunge(user)
    tenant = info(app, shops.fr)
    with app.app_context():
        customer_event(tenant, user, "loyalty_points_expiring", points=120,
                       expires_on="2026-12-31")
        customer_event(tenant, user, "loyalty_points_expiring", points=120,
                       expires_on="2026-12-31")
        customer_event(tenant, user, "loyalty_points_expiring", points="many",
                       expires_on="soon")  # a plugin's bad values: ignored, logged
    (mail,) = marketing_to(shops.smtp, LEA)
    with app.test_request_context(), force_locale("fr_FR"):
        when = format_date(date(2026, 12, 31), "long")
    with app.test_request_context(), force_locale("fr_FR"):
        expected = triggers.translations.ngettext(
            "Your %(num)d loyalty point expires on %(date)s",
            "Your %(num)d loyalty points expire on %(date)s", 120, date=when)
    assert mail["Subject"] == expected
    configure(app, shops.fr, trigger_loyalty_expiring=False)
    with app.app_context():
        customer_event(tenant, user, "loyalty_points_expiring", points=50,
                       expires_on="2027-01-31")
    assert len(marketing_to(shops.smtp, LEA)) == 1


# --- browse abandonment: the help desk calls back -----------------------------------------


def callbacks(app, tenant) -> list[tuple[Any, ...]]:
    with as_tenant(app, tenant):
        return [(t.user_id, t.name, t.email, t.phone, t.reason, t.about, t.status)
                for t in db.session.scalars(select(CallbackTask).order_by(CallbackTask.id))]


def test_browse_abandonment_asks_for_one_callback_the_help_desk_sees(app, shops, lea, staff):
    run(app, due_browse(app, shops, lea))
    run(app, triggers.browse_abandonment)
    assert callbacks(app, shops.fr) == [
        (lea["user_id"], "Léa Martin", LEA, "+33 6 12 34 56 78", "browse_abandonment",
         [{"sku": "PRINTER", "name": "Imprimante laser couleur"}], "open")]
    (mail,) = marketing_to(shops.smtp, LEA)
    assert f"Imprimante laser couleur: {PUBLIC_URL}/s/fr/products/PRINTER" in text_of(mail)

    page = staff.get("/s/fr/staff/callbacks/").get_data(as_text=True)
    assert "+33 6 12 34 56 78" in page and "Imprimante laser couleur" in page
    with as_tenant(app, shops.fr):
        task_id = db.session.scalars(select(CallbackTask.id)).one()
    assert staff.post(f"/s/fr/staff/callbacks/{task_id}/outcome",
                      data={"outcome": "Wanted a colour A3 printer"}).status_code == 303
    assert "Wanted a colour A3 printer" in staff.get("/s/fr/staff/callbacks/").get_data(
        as_text=True)

    # The German office's staff see none of it.
    de_staff = staff_client(app, shops.de, "desk@de.example")
    assert "Léa" not in de_staff.get("/s/de/staff/callbacks/").get_data(as_text=True)
    assert de_staff.get(f"/s/de/staff/callbacks/{task_id}").status_code == 404


def test_no_callback_without_consent_nor_for_what_was_bought(app, shops, lea):
    # Someone who never subscribed looked at the printer: no call, no mail.
    make_customer(app, shops.fr, "paul@example.org", name="Paul Durand")
    paul = app.test_client()
    login(paul, shops.fr, "paul@example.org")
    assert paul.get("/s/fr/products/PRINTER").status_code == 200
    with as_tenant(app, shops.fr):  # what he looked at is not even kept
        assert db.session.scalar(select(func.count(ProductView.id)).where(
            ProductView.user_id != lea["user_id"])) == 0
    # Léa looked at it and bought it.
    assert lea["client"].get("/s/fr/products/PRINTER").status_code == 200
    back_in_time(app, shops.fr, ProductView, "viewed_at", timedelta(hours=26))
    checkout(lea["client"])
    run(app, triggers.browse_abandonment)
    assert callbacks(app, shops.fr) == []
    assert marketing_to(shops.smtp, LEA) == [] and mails_to(shops.smtp, "paul@example.org") == []


def test_a_subscriber_without_e_mail_is_called_but_not_mailed(app, shops, lea):
    change_subscriber(app, shops.fr, lea["subscriber_id"], channels=["sms"])
    run(app, due_browse(app, shops, lea))
    assert len(callbacks(app, shops.fr)) == 1
    assert marketing_to(shops.smtp, LEA) == []


def test_one_customer_the_help_desk_cannot_take_does_not_stop_the_others(app, shops, lea):
    paul_id = make_customer(app, shops.fr, "paul@example.org", name="Paul Durand")
    subscribe(app, shops.fr, "paul@example.org", user_id=paul_id, name="Paul\nDurand")
    paul = app.test_client()
    login(paul, shops.fr, "paul@example.org")
    for client in (paul, lea["client"]):
        assert client.get("/s/fr/products/PRINTER").status_code == 200
    back_in_time(app, shops.fr, ProductView, "viewed_at", timedelta(hours=25))
    assert run(app, triggers.browse_abandonment) == 1  # a line break in a name: skipped
    assert [c[0] for c in callbacks(app, shops.fr)] == [lea["user_id"]]


def test_product_views_are_forgotten_after_90_days(app, shops, lea):
    configure(app, shops.fr, trigger_browse_hours=0)
    assert lea["client"].get("/s/fr/products/PRINTER").status_code == 200
    assert lea["client"].get("/s/fr/products/PRINTER").status_code == 200
    with as_tenant(app, shops.fr):
        first = db.session.scalars(select(ProductView.id).order_by(ProductView.id)).first()
    back_in_time(app, shops.fr, ProductView, "viewed_at", timedelta(days=91),
                 ProductView.id == first)
    run(app, triggers.browse_abandonment)
    with as_tenant(app, shops.fr):
        assert db.session.scalar(select(func.count(ProductView.id))) == 1
    assert callbacks(app, shops.fr) == []


def test_a_resellers_customer_is_called_back_by_the_reseller(app, shops):
    user_id = make_customer(app, shops.acme, "client@acme.example", name="Client Acme")
    subscribe(app, shops.acme, "client@acme.example", user_id=user_id, name="Client Acme")
    client = app.test_client()
    login(client, shops.acme, "client@acme.example")
    assert client.get("/s/acme/products/PRINTER").status_code == 200
    back_in_time(app, shops.acme, ProductView, "viewed_at", timedelta(hours=30))
    run(app, triggers.browse_abandonment)
    assert [c[1] for c in callbacks(app, shops.acme)] == ["Client Acme"]
    assert callbacks(app, shops.fr) == []
    (mail,) = marketing_to(shops.smtp, "client@acme.example")
    assert f"{PUBLIC_URL}/s/acme/products/PRINTER" in text_of(mail)
    acme_staff = staff_client(app, shops.acme, "desk@acme.example")
    assert "Client Acme" in acme_staff.get("/s/acme/staff/callbacks/").get_data(as_text=True)
    fr_staff = staff_client(app, shops.fr, "desk@fr.example")
    assert "Client Acme" not in fr_staff.get("/s/fr/staff/callbacks/").get_data(as_text=True)


# --- isolation -----------------------------------------------------------------------------


def test_each_office_jobs_reach_only_its_own_customers(app, shops, lea):
    for prepare in DUE.values():
        prepare(app, shops, lea)
    hans_id = make_customer(app, shops.de, "hans@example.de", name="Hans Weber")
    subscribe(app, shops.de, "hans@example.de", user_id=hans_id, locale="de_DE",
              name="Hans Weber")
    with app.app_context():
        for job in (triggers.abandoned_carts, triggers.browse_abandonment,
                    triggers.review_requests, triggers.birthdays, triggers.winback):
            job()
    assert deliveries(app, shops.de) == [] and callbacks(app, shops.de) == []
    assert mails_to(shops.smtp, "hans@example.de") == []
    with as_tenant(app, shops.de):
        assert db.session.scalar(select(func.count(ProductView.id))) == 0
    # France's customer was reminded from France's shop only: her cart became an order,
    # and of the four reminders due the cap of three a week let the first three go.
    sent = marketing_to(shops.smtp, LEA)
    assert [m["Subject"] for m in sent] == [
        words(app, "fr_FR", "Still thinking about it?"),
        words(app, "fr_FR", "How do you like your purchase?"),
        words(app, "fr_FR", "Happy birthday from %(shop)s!", shop="Comptoir France")]
    assert all("/s/de/" not in text_of(m) for m in sent)


def test_the_jobs_are_declared_and_run_from_the_queue(app, shops, lea):
    due_cart(app, shops, lea)
    from comptoir.toolkit import enqueue

    with app.app_context():
        enqueue("newsletters.abandoned_carts")
    assert len(marketing_to(shops.smtp, LEA)) == 1
