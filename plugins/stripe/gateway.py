"""The tenant's Stripe account, through the official ``stripe`` library.

Each tenant pays into its own account (its keys in its settings) or, for a reseller paid
through its office's platform account, into a connected account (``connect_account``, sent
as the ``Stripe-Account`` header). A :class:`stripe.StripeClient` per key, never the
library's global ``stripe.api_key``: one process serves many tenants at once.

``COMPTOIR_STRIPE_API_BASE`` points the library at another server (localstripe in tests and
in the demo); empty means Stripe itself.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import stripe
from flask import current_app

from comptoir.toolkit import TenantInfo, plugin_settings

#: Currencies Stripe counts in whole units (no cents).
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG",
                          "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})


class NotConfigured(RuntimeError):
    """The tenant turned the plugin on without giving its keys."""


def minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("1234.50")`` EUR -> ``123450``: what Stripe's ``amount`` fields hold."""
    from comptoir.tax.compute import to_cents

    if currency.upper() in ZERO_DECIMAL:
        return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return int(to_cents(amount) * 100)


def api_base() -> str:
    return current_app.config.get("STRIPE_API_BASE") or ""


def js_url() -> str:
    """Stripe.js, or the stand-in localstripe serves when the API is pointed at it."""
    base = api_base()
    return f"{base.rstrip('/')}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"


@lru_cache(maxsize=256)
def _client(secret_key: str, base: str) -> stripe.StripeClient:
    options: dict[str, Any] = {"max_network_retries": 2}
    if base:
        options["base_addresses"] = {"api": base}
    return stripe.StripeClient(secret_key, **options)


def settings(tenant: TenantInfo) -> dict[str, Any]:
    return plugin_settings("stripe", tenant)


def configured(tenant: TenantInfo) -> bool:
    values = settings(tenant)
    return bool(values.get("secret_key") and values.get("publishable_key"))


def client(tenant: TenantInfo) -> stripe.StripeClient:
    values = settings(tenant)
    if not values.get("secret_key"):
        raise NotConfigured(f"the stripe plugin of '{tenant.slug}' has no secret_key")
    return _client(values["secret_key"], api_base())


def options(tenant: TenantInfo, idempotency_key: str | None = None) -> dict[str, Any]:
    """Request options: the connected account, and a key that makes a retried request
    (a double click, a timeout) return the first one's result instead of charging twice."""
    found: dict[str, Any] = {}
    account = settings(tenant).get("connect_account")
    if account:
        found["stripe_account"] = account
    if idempotency_key:
        found["idempotency_key"] = idempotency_key
    return found
