"""Promotions, coupons, loyalty points and sponsorship.

- :mod:`.models`: promotions, coupon codes and batches, redemptions, usage counters;
- :mod:`.rules`: who gets which promotion on which lines, and how they combine;
- :mod:`.coupons`: codes typed at the cart, batches of unique codes, the guarded claims;
- :mod:`.discounts`: the bodies of the core's pricing and booking hooks;
- :mod:`.views`: the cart's code form; :mod:`.staff_views`: the staff pages;
- :mod:`.loyalty`, :mod:`.sponsorship`, :mod:`.loyalty_views`: points, invitations, the
  customer's account pages (their settings: :mod:`.loyalty_settings`).

Another plugin is never imported: the affiliates plugin learns which affiliate a coupon
credits through the core's ``comptoir_order_referral`` hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comptoir.toolkit import Markup, hookimpl, settings_schema_hook
from plugins.promotions.loyalty_settings import PROPERTIES as LOYALTY_PROPERTIES

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "resellers_inherit": {
            "type": "boolean", "default": True,
            "description": "Whether this office's promotions and codes also apply in its "
                           "resellers' shops (read from the office's own settings; a "
                           "reseller cannot change it).",
        },
        "max_codes": {
            "type": "integer", "minimum": 1, "maximum": 10, "default": 3,
            "description": "How many codes a buyer may apply to one cart.",
        },
    },
}

# --- loyalty & sponsorship (helper "loyalty"): their settings, kept in their own module ---
SETTINGS_SCHEMA["properties"].update(LOYALTY_PROPERTIES)

comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)


@hookimpl
def comptoir_migrations_dir() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def comptoir_blueprints() -> list[Any]:
    # Importing these declares the tables (ORM, Alembic) and the periodic jobs.
    from plugins.promotions import loyalty, loyalty_models, models, sponsorship  # noqa: F401
    from plugins.promotions.loyalty_views import bp as account_bp
    from plugins.promotions.loyalty_views import invite as invite_bp
    from plugins.promotions.staff_views import bp as staff_bp
    from plugins.promotions.views import bp as cart_bp

    return [cart_bp, staff_bp, account_bp, invite_bp]


@hookimpl
def comptoir_order_discounts(tenant: Any, user: Any, company: Any, lines: list[Any]) -> Any:
    from plugins.promotions import discounts

    return discounts.order_discounts(tenant, user, company, lines)


@hookimpl
def comptoir_order_booking(tenant: Any, order: Any, user: Any) -> str | None:
    from plugins.promotions import discounts

    return discounts.booking(tenant, order, user)


@hookimpl
def comptoir_order_event(tenant: Any, order: Any, event: str) -> None:
    from plugins.promotions import discounts

    discounts.order_event(tenant, order, event)


@hookimpl
def comptoir_customer_registered(tenant: Any, user: Any) -> None:
    from plugins.promotions import discounts

    discounts.customer_registered(tenant, user)


@hookimpl
def comptoir_order_referral(tenant: Any, order: Any) -> str | None:
    from plugins.promotions import coupons

    return coupons.referral(order)


@hookimpl
def comptoir_page_blocks(tenant: Any, slot: str, context: dict[str, Any]) -> Any:
    from plugins.promotions import loyalty, views

    parts = [part for part in (views.page_block(tenant, slot, context),
                               loyalty.page_block(tenant, slot, context)) if part]
    return Markup("").join(parts) if parts else None


@hookimpl
def comptoir_menu_items(tenant: Any) -> list[dict[str, str]] | None:
    from plugins.promotions import loyalty, staff_views

    items = (staff_views.menu_items() or []) + (loyalty.menu_items(tenant) or [])
    return items or None
