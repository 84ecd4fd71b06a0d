"""Resellers and affiliates: referred customers, commissions per order line, payouts.

From the seed (WStore): a customer who arrives through a reseller stays its customer; the
reseller follows their purchases, deliveries and returns, and earns a commission per order,
as do affiliates (manufacturers, publishers, partner sites) whose links bring customers.

- :mod:`.referral`: links ``/r/<CODE>``, the signed cookie, lifetime bindings, the house;
- :mod:`.rules`: commission rules (percentage or flat per unit, per category, monthly tiers);
- :mod:`.ledger`: the append-only ledger, reversals on returns, the consolidated account;
- :mod:`.payouts`: statements per period, paid by transfer (Stripe Connect when available);
- :mod:`.views`: the reseller's dashboard and the staff pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comptoir.toolkit import hookimpl, settings_schema_hook

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "commission_rate": {
            "type": "string", "pattern": "^[0-9]{1,2}(\\.[0-9]{1,2})?$", "default": "5.00",
            "description": "Percent of the net amount a reseller earns on its storefront's "
                           "orders (its first rule; staff may add rules per category and "
                           "tiers).",
        },
        "cookie_days": {
            "type": "integer", "minimum": 1, "maximum": 365, "default": 30,
            "description": "How long a referral link's cookie counts.",
        },
        "attribution_model": {
            "type": "string", "enum": ["first_click", "last_click"], "default": "last_click",
            "description": "Which link wins when a visitor followed several: the first or "
                           "the last.",
        },
        "payout_minimum": {
            "type": "string", "pattern": "^[0-9]{1,9}(\\.[0-9]{1,2})?$", "default": "50.00",
            "description": "Statements below this amount are carried over to the next run.",
        },
    },
}

comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)


@hookimpl
def comptoir_migrations_dir() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def comptoir_api_resources() -> Any:
    from plugins.affiliates.api import RESOURCES

    return RESOURCES


@hookimpl
def comptoir_blueprints() -> list[Any]:
    from plugins.affiliates.payouts import payout_command
    from plugins.affiliates.views import bp, links

    # Flask registers a blueprint's CLI group under its name: `comptoir affiliates payout`.
    bp.cli.add_command(payout_command)
    return [bp, links]


@hookimpl
def comptoir_order_event(tenant: Any, order: Any, event: str) -> None:
    from plugins.affiliates import ledger, referral

    if event in ("placed", "held"):
        referral.attribute(tenant, order)
    elif event in ("paid", "shipped"):
        # Card and transfer orders earn when paid; invoice orders, paid on terms after they
        # ship, earn when shipped. Recorded once, whichever comes first.
        ledger.record(tenant, order)
    elif event in ("returned", "partly_returned"):
        from comptoir.toolkit import returned_quantities

        ledger.reverse(tenant, order, returned_quantities(order))
    elif event == "cancelled":
        ledger.reverse(tenant, order, {line.id: line.quantity for line in order.lines})


@hookimpl
def comptoir_customer_registered(tenant: Any, user: Any) -> None:
    from plugins.affiliates import referral

    referral.bind_new_customer(tenant, user)


@hookimpl
def comptoir_page_blocks(tenant: Any, slot: str) -> Any:
    from plugins.affiliates.views import code_form

    return code_form() if slot == "cart" else None


@hookimpl
def comptoir_menu_items(tenant: Any) -> list[dict[str, str]] | None:
    from plugins.affiliates.views import menu_items

    return menu_items()
