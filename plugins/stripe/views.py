"""The payment page, the saved-cards page and the webhook endpoint.

The payment page belongs to the order's buyer only (another visitor gets a 404, as for the
order itself). Its script talks JSON to two endpoints, each protected by the CSRF token like
every form; the webhook is the one route without CSRF, since Stripe signs it instead.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from flask import Blueprint, abort, flash, g, jsonify, redirect, request, url_for
from flask_login import current_user, login_required

from comptoir.toolkit import (
    buyers_order,
    csrf_exempt,
    money,
    payment_deadline,
    plugin_translations,
    render_translated,
)
from plugins.stripe import gateway, payments, webhooks

domain = plugin_translations("plugins.stripe")
_ = domain.gettext

log = logging.getLogger("comptoir.plugins.stripe")

bp = Blueprint("stripe", __name__, url_prefix="/stripe", template_folder="templates")


def _user() -> Any:
    return current_user if current_user.is_authenticated else None


def _awaiting(reference: str) -> Any:
    order = buyers_order(reference)
    if not gateway.configured(g.tenant) or order.payment_method != payments.METHOD:
        abort(404)
    return order


@bp.route("/pay/<reference>")
def pay_page(reference: str) -> Any:
    order = _awaiting(reference)
    if order.status != "awaiting_payment":
        return redirect(url_for("orders.show", number=order.number), 303)
    user = _user()
    try:
        cards = payments.saved_cards(g.tenant, user) if user is not None else []
    except stripe.StripeError as unreachable:  # the page still takes a new card
        log.warning("kept cards not listed: %s", unreachable)
        cards = []
    return render_translated(
        domain, "stripe/pay.html", order=order, cards=cards, can_keep=user is not None,
        publishable_key=gateway.settings(g.tenant)["publishable_key"],
        stripe_js=gateway.js_url(), deadline=payment_deadline(order),
        amount=money(order.total_gross, order.currency))


@bp.route("/pay/<reference>/setup", methods=["POST"])
def setup(reference: str) -> Any:
    """A SetupIntent's client secret, for Stripe.js to turn the card typed into a
    PaymentMethod (and run 3-D Secure if the bank asks at that point)."""
    order = _awaiting(reference)
    try:
        return jsonify(client_secret=payments.setup_secret(g.tenant, order))
    except payments.PaymentRefused as refused:
        return jsonify(error=str(refused)), 409
    except stripe.StripeError as unreachable:
        log.error("no SetupIntent for order %s: %s", order.number, unreachable)
        return jsonify(error=_("The payment service did not answer; try again in a "
                               "moment.")), 503


@bp.route("/pay/<reference>/confirm", methods=["POST"])
def confirm(reference: str) -> Any:
    order = _awaiting(reference)
    data = request.get_json(silent=True) or {}
    try:
        attempt = payments.pay(g.tenant, order, str(data.get("payment_method", "")),
                               user=_user(), keep=bool(data.get("keep")),
                               saved=bool(data.get("saved")))
    except payments.PaymentRefused as refused:
        return jsonify(error=str(refused)), 402
    return jsonify(status=attempt.status, client_secret=attempt.client_secret,
                   next=url_for("stripe.done", reference=reference))


@bp.route("/pay/<reference>/done")
def done(reference: str) -> Any:
    """Back from the card form or 3-D Secure: ask Stripe, then show the order."""
    order = _awaiting(reference)
    try:
        status = payments.refresh(g.tenant, order) if order.status == "awaiting_payment" \
            else order.status
    except stripe.StripeError as unreachable:  # the webhook will tell us
        log.warning("order %s not re-read from Stripe: %s", order.number, unreachable)
        status = order.status
    if status == "paid":
        flash(_("Thank you: your payment is received."), "success")
    elif status == "awaiting_payment":
        flash(_("Your payment is not complete yet. If your bank confirms it, your order "
                "will be marked paid within a few minutes."), "info")
    return redirect(url_for("orders.show", number=order.number), 303)


@bp.route("/cards")
@login_required
def cards() -> Any:
    found = payments.saved_cards(g.tenant, current_user) if gateway.configured(g.tenant) else []
    return render_translated(domain, "stripe/cards.html", cards=found)


@bp.route("/cards/forget", methods=["POST"])
@login_required
def forget() -> Any:
    try:
        payments.forget_card(g.tenant, current_user, request.form.get("card", ""))
        flash(_("The card is forgotten."), "success")
    except payments.PaymentRefused as refused:
        flash(str(refused), "error")
    except stripe.StripeError as unreachable:
        log.warning("card not forgotten: %s", unreachable)
        flash(_("The payment service did not answer; try again in a moment."), "error")
    return redirect(url_for("stripe.cards"), 303)


@bp.route("/webhook", methods=["POST"])
@csrf_exempt
def webhook() -> Any:
    status, word = webhooks.receive(g.tenant, request.get_data(),
                                    request.headers.get("Stripe-Signature", ""))
    return jsonify(result=word), status

