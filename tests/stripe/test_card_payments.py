"""Card payments against a real localstripe: paid only when Stripe says so, once, even when
the webhook comes twice; one-click payment with a kept card; refunds on return."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from comptoir.core import jobs
from comptoir.core.db import db
from comptoir.orders import service
from comptoir.orders.models import Order, OrderEvent, ReturnRequest
from comptoir.stock.models import StockReservation
from plugins.stripe.models import StripeEvent, StripePayment
from tests.conftest import as_tenant
from tests.orders.conftest import add, checkout, log_in, staff_client
from tests.stripe.conftest import (
    KEYS,
    card_from_browser,
    localstripe_post,
    said,
    said_by,
    send_webhooks_to,
    signed,
    stripe_client,
)

LAPTOP_GROSS = Decimal("1200.00")  # 1,000.00 + 20 % French VAT


def place_card_order(client, slug="acme"):
    add(client, "LAPTOP-FR", slug=slug)
    response = checkout(client, slug=slug, payment_method="card")
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert "/stripe/pay/" in location
    return location.rsplit("/", 1)[1]


def buyer_with_order(app):
    """A logged-in company buyer of acme with a card order placed, and its reference."""
    buyer = app.test_client()
    log_in(buyer)
    return buyer, place_card_order(buyer)


def pay(client, localstripe, reference, number="4242424242424242", **extra):
    """Type a card on the payment page and press Pay; the shop's JSON answer."""
    method = card_from_browser(localstripe, client, "acme", reference, number)
    return client.post(f"/s/acme/stripe/pay/{reference}/confirm",
                       json={"payment_method": method, **extra})


def awaiting_3d_secure(app, localstripe):
    """An order whose payment waits for the buyer's 3-D Secure: (buyer, reference, client
    secret, intent id)."""
    buyer, reference = buyer_with_order(app)
    answer = pay(buyer, localstripe, reference, "4000002500003155")
    assert answer.status_code == 200 and answer.get_json()["status"] == "requires_action"
    secret = answer.get_json()["client_secret"]
    return buyer, reference, secret, secret.split("_secret_")[0]


def order_of(app, tenant, reference):
    with as_tenant(app, tenant):
        order = db.session.scalars(select(Order).where(Order.reference == reference)).one()
        db.session.expunge(order)
        return order


def holds(app, fr, reference):
    with as_tenant(app, fr):
        return sorted(db.session.scalars(select(StockReservation.status).where(
            StockReservation.reference == reference)))


def _intent_event(localstripe, intent_id, kind="payment_intent.succeeded"):
    found = stripe_client(localstripe).v1.events.list(params={"type": kind, "limit": 100})
    return next(e for e in found.data if e.data.object.id == intent_id)


def wait_for(check, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_card_order_waits_for_stripe_then_the_webhook_pays_it_once(
        app, card_shop, localstripe, live_app):
    fr, acme, _gb = card_shop
    send_webhooks_to(localstripe, f"{live_app}/s/acme/stripe/webhook")
    buyer, reference = buyer_with_order(app)
    order = order_of(app, acme, reference)
    assert order.status == "awaiting_payment"
    assert holds(app, fr, reference) == ["held"]  # held for a while, not yet the order's
    page = buyer.get(f"/s/acme/stripe/pay/{reference}").get_data(as_text=True)
    assert "1\u202f200,00\u00a0€" in page  # French formatting, VAT included
    assert KEYS["publishable_key"] in page

    # A card that asks for 3-D Secure: the shop gets "requires_action" and no money yet.
    answer = pay(buyer, localstripe, reference, "4000002500003155")
    assert answer.status_code == 200 and answer.get_json()["status"] == "requires_action"
    assert order_of(app, acme, reference).status == "awaiting_payment"

    # The buyer passes 3-D Secure (Stripe.js talks to Stripe, not to the shop) and closes
    # the tab: only Stripe's webhook can tell the shop.
    secret = answer.get_json()["client_secret"]
    intent_id = secret.split("_secret_")[0]
    localstripe_post(localstripe, f"/v1/payment_intents/{intent_id}/_authenticate?success=true",
                     {"key": KEYS["publishable_key"], "client_secret": secret})

    def stored():
        with as_tenant(app, acme):
            return db.session.scalars(select(StripeEvent).where(
                StripeEvent.type == "payment_intent.succeeded")).first() is not None
    wait_for(stored)
    # Acknowledged and queued, not processed in the request.
    assert order_of(app, acme, reference).status == "awaiting_payment"
    assert jobs.pending_count(app) == 1
    assert jobs.run_pending(app) == 1
    paid = order_of(app, acme, reference)
    assert paid.status == "paid" and paid.paid_at is not None
    assert holds(app, fr, reference) == ["committed"]  # no longer released on expiry

    # Stripe delivers the same event again: acknowledged, nothing happens twice.
    event = _intent_event(localstripe, intent_id)
    payload = json.dumps(event.to_dict()).encode()
    again = app.test_client().post("/s/acme/stripe/webhook", data=payload,
                                   headers={"Stripe-Signature": signed(payload)})
    assert again.status_code == 200 and again.get_json()["result"] == "duplicate"
    assert jobs.run_pending(app) == 0
    with as_tenant(app, acme):
        to_paid = db.session.scalars(select(OrderEvent).where(
            OrderEvent.to_status == "paid", OrderEvent.from_status == "awaiting_payment")).all()
        assert len(to_paid) == 1


def test_a_kept_card_pays_the_next_order_in_one_click(app, card_shop, localstripe):
    _fr, acme, _gb = card_shop
    buyer, first = buyer_with_order(app)
    answer = pay(buyer, localstripe, first, keep=True)
    assert answer.get_json()["status"] == "succeeded"
    assert order_of(app, acme, first).status == "paid"  # re-read from Stripe at once

    second = place_card_order(buyer)
    page = buyer.get(f"/s/acme/stripe/pay/{second}").get_data(as_text=True)
    assert "•••• 4242" in page
    # The one-click button names the kept card.
    method = re.search(r'class="button pay-saved" data-card="(pm_\w+)"', page).group(1)
    answer = buyer.post(f"/s/acme/stripe/pay/{second}/confirm",
                        json={"payment_method": method, "saved": True})
    assert answer.status_code == 200 and answer.get_json()["status"] == "succeeded"
    assert order_of(app, acme, second).status == "paid"
    with as_tenant(app, acme):
        card = db.session.scalars(select(StripePayment.card)).first()
    assert card == "Visa •••• 4242"

    # Another customer of the shop cannot pay with that card, even knowing its id.
    other = app.test_client()
    log_in(other, email="admin@durand.example")
    third = place_card_order(other)
    refused = other.post(f"/s/acme/stripe/pay/{third}/confirm",
                         json={"payment_method": method, "saved": True})
    assert refused.status_code == 402
    assert refused.get_json()["error"] == said(app, "This card is not one of yours.")
    assert order_of(app, acme, third).status == "awaiting_payment"


def test_a_guest_pays_without_keeping_a_card_and_others_see_a_404(app, card_shop, localstripe):
    _fr, acme, _gb = card_shop
    guest = app.test_client()
    add(guest, "LAPTOP-FR")
    response = checkout(guest, payment_method="card", email="guest@example.org")
    reference = response.headers["Location"].rsplit("/", 1)[1]
    page = guest.get(f"/s/acme/stripe/pay/{reference}").get_data(as_text=True)
    assert 'id="keep-card"' not in page  # nowhere to keep it
    assert app.test_client().get(f"/s/acme/stripe/pay/{reference}").status_code == 404
    method = card_from_browser(localstripe, guest, "acme", reference)
    done = guest.post(f"/s/acme/stripe/pay/{reference}/confirm",
                      json={"payment_method": method, "keep": True})
    assert done.get_json()["status"] == "succeeded"
    assert order_of(app, acme, reference).status == "paid"


def test_a_declined_card_leaves_the_order_unpaid_with_its_stock_held(
        app, card_shop, localstripe):
    fr, acme, _gb = card_shop
    buyer, reference = buyer_with_order(app)
    answer = pay(buyer, localstripe, reference, "4000000000000341")  # refused when charged
    assert answer.status_code == 402
    assert answer.get_json()["error"] == said(app, "Your card was declined.")
    assert order_of(app, acme, reference).status == "awaiting_payment"
    assert holds(app, fr, reference) == ["held"]
    bad = buyer.post(f"/s/acme/stripe/pay/{reference}/confirm",
                     json={"payment_method": "card_1234; DROP"})
    assert bad.status_code == 402
    assert bad.get_json()["error"] == said(app, "The card could not be read; enter it again.")


def test_an_abandoned_payment_is_cancelled_and_its_stock_released(app, card_shop, localstripe):
    fr, acme, _gb = card_shop
    _buyer, reference, _secret, intent_id = awaiting_3d_secure(app, localstripe)
    with app.app_context():  # the worker's job, every five minutes; not yet: window open
        assert service.expire_unpaid_everywhere() == {}
    later = datetime.now(UTC) + timedelta(minutes=service.PAYMENT_MINUTES + 1)
    with app.app_context():
        assert service.expire_unpaid_everywhere(now=later.isoformat()) == {"acme": 1}
    assert order_of(app, acme, reference).status == "cancelled"
    assert holds(app, fr, reference) == ["released"]
    intent = stripe_client(localstripe).v1.payment_intents.retrieve(intent_id)
    assert intent.status == "canceled"  # 3-D Secure can no longer complete it


def test_a_return_refunds_the_card_in_part_then_the_rest(app, card_shop, localstripe):
    _fr, acme, _gb = card_shop
    buyer, reference = buyer_with_order(app)
    pay(buyer, localstripe, reference)
    order = order_of(app, acme, reference)
    staff = staff_client(app, acme, "ventes@acme.example")
    # A goodwill gesture first, typed the French way.
    response = staff.post(f"/s/acme/staff/orders/{order.number}/refund",
                          data={"amount": "150,50", "reason": "rayure"})
    assert response.status_code == 303
    too_much = staff.post(f"/s/acme/staff/orders/{order.number}/refund",
                          data={"amount": "5000"}, follow_redirects=True)
    assert "1049.50" in too_much.get_data(as_text=True)  # what is left, named
    for status in ("shipped", "delivered"):
        staff.post(f"/s/acme/staff/orders/{order.number}/status", data={"status": status})
    assert buyer.post(f"/s/acme/orders/{order.number}/return",
                      data={"reason": "trop lourd"}).status_code == 303
    with as_tenant(app, acme):
        request_id = db.session.scalars(select(ReturnRequest.id)).one()
    for action in ("accept", "receive"):
        staff.post(f"/s/acme/staff/returns/{request_id}", data={"action": action})
    with as_tenant(app, acme):
        back = db.session.get(ReturnRequest, request_id)
        assert back.status == "refunded"
        order = db.session.get(Order, order.id)
        assert [r.amount for r in order.refunds] == [Decimal("150.50"), Decimal("1049.50")]
        assert order.refundable == 0
        intent_id = db.session.scalars(select(StripePayment.intent_id)).one()
        references = sorted(r.reference for r in order.refunds)
    refunds = stripe_client(localstripe).v1.refunds.list(params={"payment_intent": intent_id})
    assert sorted(r.amount for r in refunds.data) == [15050, 104950]
    assert sorted(r.id for r in refunds.data) == references


def test_bad_webhooks_are_refused_and_change_nothing(app, card_shop, localstripe, caplog):
    _fr, acme, gb = card_shop
    buyer = app.test_client()
    log_in(buyer)
    reference = place_card_order(buyer)
    order = order_of(app, acme, reference)
    # A payment of the wrong amount, made outside the checkout (an old total, a bug).
    intent = stripe_client(localstripe).v1.payment_intents.create(params={
        "amount": 100, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True,
        "metadata": {"order_reference": reference}})
    with as_tenant(app, acme):
        db.session.add(StripePayment(order_id=order.id, intent_id=intent.id,
                                     amount=Decimal("1.00"), currency="EUR",
                                     status="requires_confirmation"))
        db.session.commit()
    payload = json.dumps(_intent_event(localstripe, intent.id).to_dict()).encode()
    web = app.test_client()
    caplog.set_level(logging.INFO, logger="comptoir.plugins.stripe")

    def post(body, signature, slug="acme"):
        return web.post(f"/s/{slug}/stripe/webhook", data=body,
                        headers={"Stripe-Signature": signature})

    assert post(payload, signed(payload, secret="whsec_wrong")).status_code == 400
    old = int(time.time()) - 400  # past the library's 300-second tolerance
    assert post(payload, signed(payload, at=old)).status_code == 400
    assert post(b"not json", signed(b"not json")).status_code == 400
    unknown = json.dumps({"id": "evt_unknown", "object": "event", "type": "customer.created",
                          "data": {"object": {"id": "cus_x"}}}).encode()
    assert post(unknown, signed(unknown)).get_json()["result"] == "ignored"
    # Another tenant's endpoint does not know acme's secret (and the plugin is off there).
    assert post(payload, signed(payload), slug="gb").status_code == 404
    with as_tenant(app, acme):
        assert db.session.scalars(select(StripeEvent)).all() == []
    assert "bad signature" not in caplog.text or "refused" in caplog.text

    # Well signed, but the amount is not the order's: logged, never settled.
    assert post(payload, signed(payload)).get_json()["result"] == "queued"
    jobs.run_pending(app)
    assert order_of(app, acme, reference).status == "awaiting_payment"
    with as_tenant(app, acme):
        row = db.session.scalars(select(StripeEvent)).one()
        assert row.outcome.startswith("rejected: amount 100 eur")
        assert db.session.scalars(select(StripePayment.status)).one() == "amount_mismatch"
    assert "not settled" in caplog.text
    assert "refused" in caplog.text and "ignored" in caplog.text


def test_card_is_offered_only_where_the_plugin_is_on_and_configured(app, card_shop, client):
    fr, acme, gb = card_shop
    buyer = app.test_client()
    log_in(buyer)
    add(buyer, "LAPTOP-FR")
    assert 'value="card"' in buyer.get("/s/acme/checkout").get_data(as_text=True)
    assert client.get("/s/fr/stripe/webhook").status_code in (404, 405)
    assert client.post("/s/fr/stripe/webhook", data=b"{}").status_code == 404
    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant

    with app.app_context():
        row = db.session.get(Tenant, fr.id)
        tenants.set_plugin_enabled(row, "stripe", True)  # on, but no keys yet
        db.session.commit()
    guest = app.test_client()
    add(guest, "LAPTOP-FR", slug="fr")
    assert 'value="card"' not in guest.get("/s/fr/checkout").get_data(as_text=True)
    refused = checkout(guest, slug="fr", payment_method="card", email="g@example.org")
    assert refused.status_code == 400


def test_bad_keys_are_refused_naming_the_field_and_keep_the_old_ones(app, card_shop):
    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant

    _fr, acme, _gb = card_shop
    with app.app_context():
        row = db.session.get(Tenant, acme.id)
        try:
            tenants.update_plugin_settings(row, "stripe", {**KEYS, "secret_key": "pk_oops"})
        except ValueError as refused:
            assert "secret_key" in str(refused)
        else:
            raise AssertionError("a publishable key was accepted as the secret key")
        db.session.rollback()
        row = db.session.get(Tenant, acme.id)
        kept = next(p.settings for p in row.plugins if p.plugin == "stripe")
        assert kept == KEYS


def test_staff_cancelling_an_unpaid_card_order_lets_go_of_its_payment(
        app, card_shop, localstripe):
    fr, acme, _gb = card_shop
    _buyer, reference, _secret, intent_id = awaiting_3d_secure(app, localstripe)
    number = order_of(app, acme, reference).number
    staff = staff_client(app, acme, "ventes@acme.example")
    staff.post(f"/s/acme/staff/orders/{number}/status", data={"status": "cancelled"})
    assert order_of(app, acme, reference).status == "cancelled"
    assert holds(app, fr, reference) == ["released"]
    assert stripe_client(localstripe).v1.payment_intents.retrieve(intent_id).status == \
        "canceled"


def test_money_arriving_for_a_cancelled_order_goes_back(app, card_shop, localstripe):
    """The race the safety net is for: the order was cancelled while its 3-D Secure was
    still open (Stripe unreachable at that moment); the buyer completes it later."""
    _fr, acme, _gb = card_shop
    _buyer, reference, secret, intent_id = awaiting_3d_secure(app, localstripe)
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order).where(Order.reference == reference)).one()
        order.status = "cancelled"  # as if cancelled without reaching Stripe
        db.session.commit()
    localstripe_post(localstripe, f"/v1/payment_intents/{intent_id}/_authenticate?success=true",
                     {"key": KEYS["publishable_key"], "client_secret": secret})
    event = _intent_event(localstripe, intent_id)
    payload = json.dumps(event.to_dict()).encode()
    web = app.test_client()
    assert web.post("/s/acme/stripe/webhook", data=payload,
                    headers={"Stripe-Signature": signed(payload)}).status_code == 200
    jobs.run_pending(app)
    assert order_of(app, acme, reference).status == "cancelled"
    refunds = stripe_client(localstripe).v1.refunds.list(params={"payment_intent": intent_id})
    assert [r.amount for r in refunds.data] == [120000]
    with as_tenant(app, acme):
        row = db.session.scalars(select(StripeEvent)).one()
        assert row.outcome.startswith("refunded extra payment: re_")


def test_the_cli_never_prints_the_secret_keys(app, card_shop):
    shown = app.test_cli_runner().invoke(args=[
        "plugins", "configure", "acme", "stripe", "secret_key=sk_test_newkey98765"])
    assert shown.exit_code == 0, shown.output
    assert "sk_test_newkey98765" not in shown.output and KEYS["webhook_secret"] not in shown.output
    assert '"secret_key": "…8765"' in shown.output
    assert KEYS["publishable_key"] in shown.output  # public by design


def test_a_card_order_held_for_approval_keeps_its_stock_then_is_paid(
        app, card_shop, localstripe):
    """Waiting for a signature takes days: the stock is the order's meanwhile, not the card
    form's 60 minutes; once approved, the buyer pays and the order is paid."""
    from comptoir.customers.models import User
    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant
    from plugins.approvals.chain import Link, save
    from plugins.approvals.models import Request

    fr, acme, _gb = card_shop
    with app.app_context():
        tenants.set_plugin_enabled(db.session.get(Tenant, acme.id), "approvals", True)
        db.session.commit()
    with as_tenant(app, acme):
        people = {u.email: u for u in db.session.scalars(select(User))}
        buyer, admin = people["buyer@durand.example"], people["admin@durand.example"]
        save(buyer.company_id, [Link(buyer.id, 1, Decimal("0"), admin.id, False),
                                Link(admin.id, 2, Decimal("500000"), None, True)],
             {buyer.id: buyer.email, admin.id: admin.email})
        db.session.commit()
    client = app.test_client()
    log_in(client)
    add(client, "LAPTOP-FR")
    placed = checkout(client, payment_method="card")
    assert placed.headers["Location"].endswith("/s/acme/orders/1")  # held, not paid yet
    with as_tenant(app, acme):
        reference = db.session.scalars(select(Order.reference)).one()
    assert order_of(app, acme, reference).status == "pending_approval"
    assert holds(app, fr, reference) == ["committed"]  # no expiry while the chain decides

    boss = app.test_client()
    log_in(boss, email="admin@durand.example")
    with as_tenant(app, acme):
        request_id = db.session.scalars(select(Request.id)).one()
    assert boss.post(f"/s/acme/approvals/{request_id}",
                     data={"decision": "approve"}).status_code in (200, 303)
    assert order_of(app, acme, reference).status == "awaiting_payment"
    from comptoir.core.mail import outbox_messages

    told = [m for m in outbox_messages(app) if m["To"] == "buyer@durand.example"]
    assert told and said_by("plugins.approvals", app, "Pay it online to confirm it, from the "
                            "order's page in your account.\n").strip() in told[-1].get_content()
    page = client.get(f"/s/acme/orders/{order_of(app, acme, reference).number}")
    assert f"/stripe/pay/{reference}" in page.get_data(as_text=True)  # "Pay now"
    assert pay(client, localstripe, reference).get_json()["status"] == "succeeded"
    assert order_of(app, acme, reference).status == "paid"
    assert holds(app, fr, reference) == ["committed"]


def test_a_payout_run_twice_on_one_day_makes_a_second_statement(app, card_shop):
    """Entries that became payable since the morning's run get a statement of their own."""
    from datetime import date

    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant
    from plugins.affiliates import payouts
    from plugins.affiliates.models import Affiliate, Entry

    _fr, acme, _gb = card_shop
    with app.app_context():
        row = db.session.get(Tenant, acme.id)
        tenants.set_plugin_enabled(row, "affiliates", True)
        tenants.update_plugin_settings(row, "affiliates", {"payout_minimum": "1.00"})
        db.session.commit()
    buyer, reference = buyer_with_order(app)
    order_id = order_of(app, acme, reference).id
    with as_tenant(app, acme):  # an order that cannot come back any more
        db.session.execute(update(Order).where(Order.id == order_id).values(
            status="cancelled"))
        db.session.commit()
    with app.test_request_context(), as_tenant(app, acme):
        from comptoir.tenants.resolution import directory

        tenant = directory().by_id(acme.id)
        partner = Affiliate(code="SITE", name="Site")
        db.session.add(partner)
        db.session.flush()
        for amount in ("5.00", "7.00"):
            db.session.add(Entry(affiliate_id=partner.id, order_id=order_id, order_line_id=0,
                                 kind="commission", amount=Decimal(amount),
                                 currency="EUR", base=Decimal("0"), units=1))
            db.session.commit()
            made = payouts.run(tenant, date.today(), "staff")
            assert [p.amount for p in made] == [Decimal(amount)]
        references = sorted(p.reference for p in db.session.scalars(
            select(payouts.Payout)))
    assert references[0].endswith("-EUR") and references[1].endswith("-EUR-2")
