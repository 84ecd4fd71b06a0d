"""Card payments of orders: attempts, confirmation, saved cards, refunds.

The order is paid only when Stripe says so, and what Stripe says is always re-read from
Stripe (``PaymentIntent.retrieve``), never taken from the browser or from the body of a
webhook: events may arrive late, twice or out of order, but the intent's current status is
the truth. Both ways in (the buyer's return page and the webhook job) end in
:func:`reconcile`, which is safe to run any number of times.

Card details never reach the shop: Stripe.js turns them into a PaymentMethod (through a
SetupIntent, which also runs 3-D Secure when the bank asks for it at that point), and the
shop creates and confirms the PaymentIntent on the server with that PaymentMethod — Stripe's
"finalize payments on the server" flow. It is the flow localstripe supports end to end, and
it lets the server check the order, its amount and its deadline before any money moves.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from sqlalchemy import select

from comptoir.toolkit import (
    Order,
    TenantInfo,
    db,
    payment_deadline,
    plugin_translations,
    settle_payment,
)
from plugins.stripe import gateway
from plugins.stripe.models import MISMATCH, OPEN, SUCCEEDED, StripeCustomer, StripePayment

log = logging.getLogger("comptoir.plugins.stripe")
_ = plugin_translations("plugins.stripe").gettext

METHOD = "card"
PAYMENT_METHOD_ID = re.compile(r"pm_[A-Za-z0-9_]{1,60}")


class PaymentRefused(ValueError):
    """The attempt was refused before or by Stripe; ``str()`` is for the buyer."""


@dataclass(frozen=True)
class Attempt:
    """What the payment page does next: ``succeeded`` (go to the order), ``requires_action``
    (let Stripe.js run 3-D Secure with ``client_secret``, then come back), ``processing``."""

    status: str
    client_secret: str = ""


# -- customers and saved cards ------------------------------------------------------------


def customer_id(tenant: TenantInfo, user: Any, create: bool = False) -> str | None:
    """The user's Stripe customer, made on first need (a card to keep)."""
    if user is None:
        return None
    row = db.session.scalars(select(StripeCustomer).where(
        StripeCustomer.user_id == user.id)).first()
    if row is None and create:
        made = gateway.client(tenant).v1.customers.create(
            params={"email": user.email, "name": user.name,
                    "metadata": {"tenant": tenant.slug, "user_id": str(user.id)}},
            options=gateway.options(tenant, idempotency_key=f"customer-{tenant.id}-{user.id}"))
        row = StripeCustomer(user_id=user.id, customer_id=made.id)
        db.session.add(row)
        db.session.commit()
    return row.customer_id if row else None


def saved_cards(tenant: TenantInfo, user: Any) -> list[dict[str, str]]:
    """The cards the user kept, newest first, as the page shows them."""
    customer = customer_id(tenant, user)
    if customer is None:
        return []
    found = gateway.client(tenant).v1.payment_methods.list(
        params={"customer": customer, "type": "card"}, options=gateway.options(tenant))
    return [_card(method) for method in found.data]


def _card(method: Any) -> dict[str, str]:
    card = method.to_dict().get("card") or {}
    return {"id": method.id, "brand": str(card.get("brand") or "card").capitalize(),
            "last4": str(card.get("last4") or ""),
            "expires": f"{int(card.get('exp_month') or 0):02d}/{card.get('exp_year') or ''}"}


def forget_card(tenant: TenantInfo, user: Any, payment_method: str) -> None:
    """Remove a kept card; only one of the user's own."""
    if payment_method not in {card["id"] for card in saved_cards(tenant, user)}:
        raise PaymentRefused(_("This card is not one of yours."))
    gateway.client(tenant).v1.payment_methods.detach(payment_method,
                                                     options=gateway.options(tenant))


def setup_secret(tenant: TenantInfo, order: Order) -> str:
    """A SetupIntent for entering a new card on the payment page (Stripe.js confirms it)."""
    _payable(order)
    made = gateway.client(tenant).v1.setup_intents.create(
        params={"payment_method_types": ["card"], "usage": "on_session",
                "metadata": {"order_reference": order.reference}},
        options=gateway.options(tenant))
    return made.client_secret


# -- paying -------------------------------------------------------------------------------


def _payable(order: Order) -> None:
    deadline = payment_deadline(order)
    if deadline is None:
        raise PaymentRefused(_("This order is not waiting for a payment."))
    if deadline < datetime.now(UTC):
        raise PaymentRefused(_("The time to pay this order has run out."))


def pay(tenant: TenantInfo, order: Order, payment_method: str, *, user: Any = None,
        keep: bool = False, saved: bool = False) -> Attempt:
    """Charge ``order`` to ``payment_method`` (new, or one of the user's kept cards).

    :param keep: attach the new card to the user's Stripe customer for next time.
    :param saved: ``payment_method`` is a kept card: it must be one of the user's own.
    :raises PaymentRefused: with a sentence for the buyer; the order is left unpaid.
    """
    _payable(order)
    if not isinstance(payment_method, str) or not PAYMENT_METHOD_ID.fullmatch(payment_method):
        raise PaymentRefused(_("The card could not be read; enter it again."))
    client = gateway.client(tenant)
    try:
        customer = _payer(tenant, client, user, payment_method, keep=keep, saved=saved)
    except stripe.CardError:
        raise PaymentRefused(_("Your card was declined.")) from None
    except stripe.StripeError as failed:
        log.error("card of order %s not set up at Stripe: %s", order.number, failed)
        raise PaymentRefused(_("The payment service did not answer; try again in a moment.")
                             ) from None
    amount = order.total_gross
    params: dict[str, Any] = {
        "amount": gateway.minor_units(amount, order.currency),
        "currency": order.currency.lower(),
        "payment_method": payment_method,
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": {"order_reference": order.reference, "order_number": str(order.number),
                     "tenant": tenant.slug},
    }
    if customer:
        params["customer"] = customer
    try:
        intent = client.v1.payment_intents.create(params=params, options=gateway.options(
            tenant, idempotency_key=f"pay-{order.reference}-{payment_method}"))
    except stripe.CardError as declined:
        log.info("card declined for order %s: %s", order.number, declined.user_message)
        raise PaymentRefused(_("Your card was declined.")) from None
    except stripe.StripeError as failed:
        log.error("payment of order %s failed at Stripe: %s", order.number, failed)
        raise PaymentRefused(_("The payment service did not answer; try again in a moment.")
                             ) from None
    payment = db.session.scalars(select(StripePayment).where(
        StripePayment.intent_id == intent.id)).first()
    if payment is None:  # not a repeated request
        # Recorded as open, then brought in line by reconcile(): an attempt the process
        # dies on before that is found again by refresh() and by the expiry job.
        payment = StripePayment(order_id=order.id, intent_id=intent.id, amount=amount,
                                currency=order.currency, status="requires_confirmation",
                                card=_card_label(tenant, payment_method))
        db.session.add(payment)
        db.session.commit()
    outcome = reconcile(tenant, payment, intent)
    if intent.status == "requires_action":
        return Attempt("requires_action", intent.client_secret)
    if intent.status == SUCCEEDED and outcome.startswith("rejected"):
        raise PaymentRefused(_("The payment could not be matched to your order; our staff "
                               "have been told."))
    if intent.status not in (SUCCEEDED, "processing"):
        raise PaymentRefused(_("Your card was declined."))
    return Attempt(intent.status)


def _payer(tenant: TenantInfo, client: Any, user: Any, payment_method: str, *, keep: bool,
           saved: bool) -> str | None:
    """The Stripe customer the payment is made for: the owner of a kept card (which must be
    the user's own), the user keeping a new card (attached now), or nobody."""
    if saved:
        if payment_method not in {card["id"] for card in saved_cards(tenant, user)}:
            raise PaymentRefused(_("This card is not one of yours."))
        return customer_id(tenant, user)
    if keep and user is not None:
        customer = customer_id(tenant, user, create=True)
        client.v1.payment_methods.attach(payment_method, params={"customer": customer},
                                         options=gateway.options(tenant))
        return customer
    return None


def _card_label(tenant: TenantInfo, payment_method: str) -> str:
    try:
        method = gateway.client(tenant).v1.payment_methods.retrieve(
            payment_method, options=gateway.options(tenant))
    except stripe.StripeError:
        return ""
    card = _card(method)
    return f"{card['brand']} •••• {card['last4']}"[:60]


def refresh(tenant: TenantInfo, order: Order) -> str:
    """Re-read the order's open attempts from Stripe (the buyer is back from 3-D Secure);
    returns the order's status afterwards."""
    payments = db.session.scalars(select(StripePayment).where(
        StripePayment.order_id == order.id, StripePayment.status.in_(OPEN))).all()
    for payment in payments:
        intent = gateway.client(tenant).v1.payment_intents.retrieve(
            payment.intent_id, options=gateway.options(tenant))
        reconcile(tenant, payment, intent)
    db.session.refresh(order)
    return order.status


def reconcile(tenant: TenantInfo, payment: StripePayment, intent: Any) -> str:
    """Bring the order in line with what Stripe says of one of its PaymentIntents.

    :return: what was done, for the event log: ``settled``, ``already paid``, ``rejected:
        ...``, ``refunded ...`` (money for an order already paid or cancelled goes back).
    """
    order = db.session.get(Order, payment.order_id)
    if order is None:
        return "rejected: no such order"
    if (intent.to_dict().get("metadata") or {}).get("order_reference") != order.reference:
        log.error("intent %s does not belong to order %s", intent.id, order.number)
        return "rejected: intent of another order"
    earlier = payment.status
    if earlier in (SUCCEEDED, "refunded"):
        return "already known"  # this intent settled the order, or was refunded as extra
    payment.status = intent.status
    if intent.status != SUCCEEDED:
        db.session.commit()
        if intent.status == "requires_payment_method" and earlier != intent.status:
            log.info("payment %s of order %s failed", intent.id, order.number)
        return f"noted: {intent.status}"
    expected = gateway.minor_units(order.total_gross, order.currency)
    if intent.amount != expected or intent.currency != order.currency.lower():
        payment.status = MISMATCH
        db.session.commit()
        log.error("intent %s paid %s %s for order %s, which asks %s %s: not settled",
                  intent.id, intent.amount, intent.currency, order.number, expected,
                  order.currency.lower())
        return f"rejected: amount {intent.amount} {intent.currency} != {expected}"
    db.session.commit()
    others = db.session.scalars(select(StripePayment.id).where(
        StripePayment.order_id == order.id, StripePayment.id != payment.id,
        StripePayment.status == SUCCEEDED)).all()
    if settle_payment(tenant, order, "stripe", note=f"card payment {intent.id}"):
        log.info("order %s paid by %s", order.number, intent.id)
        return "settled"
    if others or order.status == "cancelled":
        # Two tabs, two cards, or a payment after the order expired: give it back.
        refund_id = _refund_intent(tenant, intent.id, intent.amount,
                                   key=f"refund-extra-{intent.id}")
        payment.status = "refunded"
        db.session.commit()
        log.warning("order %s: extra payment %s refunded (%s)", order.number, intent.id,
                    refund_id)
        return f"refunded extra payment: {refund_id}"
    return "already paid"


def _refund_intent(tenant: TenantInfo, intent_id: str, minor: int, key: str) -> str:
    made = gateway.client(tenant).v1.refunds.create(
        params={"payment_intent": intent_id, "amount": minor},
        options=gateway.options(tenant, idempotency_key=key))
    if made.status not in ("succeeded", "pending"):
        raise RuntimeError(f"Stripe refund {made.id} is {made.status}")
    return made.id


def refund(tenant: TenantInfo, order: Order, amount: Decimal) -> str:
    """Refund part or all of a card order; the reference is Stripe's refund id."""
    payment = db.session.scalars(select(StripePayment).where(
        StripePayment.order_id == order.id, StripePayment.status == SUCCEEDED)).first()
    if payment is None:
        raise RuntimeError("no card payment of this order succeeded")
    minor = gateway.minor_units(amount, order.currency)
    # The n-th refund of this order for this amount: retrying after a time-out does not
    # refund twice, a second genuine refund of the same amount gets its own key.
    key = f"refund-{order.reference}-{len(order.refunds) + 1}-{minor}"
    return _refund_intent(tenant, payment.intent_id, minor, key)


def abandon(tenant: TenantInfo, order: Order) -> bool:
    """The payment window closed: cancel the open attempts at Stripe, unless one went
    through (then settle the order and keep it)."""
    try:
        return _abandon(tenant, order)
    except stripe.StripeError as unreachable:
        # Cancelling the order while its payment may still complete would charge a buyer
        # for nothing: keep it, the job asks again in five minutes.
        log.warning("order %s kept: Stripe could not be asked (%s)", order.number, unreachable)
        db.session.rollback()
        return False


def _abandon(tenant: TenantInfo, order: Order) -> bool:
    payments = db.session.scalars(select(StripePayment).where(
        StripePayment.order_id == order.id, StripePayment.status.in_(OPEN))).all()
    keep = False
    for payment in payments:
        client = gateway.client(tenant)
        intent = client.v1.payment_intents.retrieve(payment.intent_id,
                                                    options=gateway.options(tenant))
        if intent.status in (SUCCEEDED, "processing"):
            reconcile(tenant, payment, intent)
            keep = True
            continue
        try:
            client.v1.payment_intents.cancel(payment.intent_id, options=gateway.options(tenant))
            payment.status = "canceled"
        except stripe.StripeError as refused:
            log.warning("could not cancel %s: %s", payment.intent_id, refused)
            keep = True  # Stripe would not let go of it: look again next time
    db.session.commit()
    return not keep
