"""Card payments through Stripe: PaymentIntents, saved cards ("paiement en 1 clic"), refunds
and signed webhooks, each tenant with its own account.

From the seed: the shop offers secure online payment and, to a returning customer, payment
in one click with the card they chose to keep. A card order waits in ``awaiting_payment``
with its stock held; it is paid only when Stripe says so (:mod:`plugins.stripe.payments`),
and an abandoned one is cancelled by the core's ``orders.expire_unpaid`` job after this
plugin has cancelled its PaymentIntent. Refunds go back to the card, in full or in part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comptoir.toolkit import hookimpl, plugin_translations, settings_schema_hook

_ = plugin_translations(__name__).gettext

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "publishable_key": {
            "type": "string", "pattern": "^pk_(test|live)_[A-Za-z0-9_]{1,200}$",
            "description": "The account's publishable key (pk_test_... or pk_live_...), "
                           "given to Stripe.js on the payment page.",
        },
        "secret_key": {
            "type": "string", "pattern": "^(sk|rk)_(test|live)_[A-Za-z0-9_]{1,200}$",
            "description": "The account's secret (or restricted) key, used by the server.",
        },
        "webhook_secret": {
            "type": "string", "pattern": "^whsec_[A-Za-z0-9_]{1,200}$",
            "description": "The signing secret of the endpoint /s/<slug>/stripe/webhook "
                           "registered in Stripe's dashboard.",
        },
        "connect_account": {
            "type": "string", "pattern": "^acct_[A-Za-z0-9]{1,60}$",
            "description": "A connected account (acct_...) to charge on behalf of, when the "
                           "keys are the office's platform account.",
        },
    },
}

comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)


@hookimpl
def comptoir_migrations_dir() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def comptoir_blueprints() -> list[Any]:
    from plugins.stripe.views import bp  # also declares the webhook job

    return [bp]


@hookimpl
def comptoir_payment_methods(tenant: Any, company: Any) -> list[dict[str, Any]] | None:
    from plugins.stripe import gateway

    if not gateway.configured(tenant):
        return None  # turned on but not set up yet: offer nothing rather than fail later
    return [{"code": "card", "online": True, "label": _("Card"),
             "description": _("Visa, Mastercard, American Express: paid now, securely "
                              "through Stripe; a card you keep pays the next order in one "
                              "click.")}]


@hookimpl
def comptoir_payment_page(tenant: Any, order: Any) -> str | None:
    from flask import url_for

    if order.payment_method != "card":
        return None
    return url_for("stripe.pay_page", reference=order.reference)


@hookimpl
def comptoir_payment_abandoned(tenant: Any, order: Any) -> bool | None:
    from plugins.stripe import payments

    if order.payment_method != "card":
        return None
    return payments.abandon(tenant, order)


@hookimpl
def comptoir_refund(tenant: Any, order: Any, amount: Any) -> str | None:
    from plugins.stripe import payments

    if order.payment_method != "card":
        return None
    return payments.refund(tenant, order, amount)


@hookimpl
def comptoir_order_event(tenant: Any, order: Any, event: str) -> None:
    """Staff cancelled a card order still awaiting payment: let go of its PaymentIntents,
    so 3-D Secure finished late cannot charge for a cancelled order."""
    from plugins.stripe import payments

    if event == "cancelled" and order.payment_method == "card" and order.paid_at is None:
        payments.abandon(tenant, order)


@hookimpl
def comptoir_transfer(tenant: Any, account: str, amount: Any, currency: str,
                      reference: str) -> str | None:
    """Pay an affiliate's connected account (Stripe Connect transfer) from this account's
    balance. localstripe has no transfers: this call follows Stripe's documented API only."""
    from plugins.stripe import gateway

    if not account.startswith("acct_") or not gateway.configured(tenant):
        return None
    made = gateway.client(tenant).v1.transfers.create(
        params={"amount": gateway.minor_units(amount, currency), "currency": currency.lower(),
                "destination": account, "description": reference,
                "metadata": {"reference": reference}},
        # From the platform account itself (no Stripe-Account header: a connected account
        # cannot transfer), keyed per tenant: resellers may share their office's keys.
        options={"idempotency_key": f"transfer-{tenant.id}-{reference}"})
    return made.id
