"""The settings of loyalty points and sponsorship, merged into the plugin's JSON Schema.

A module of its own, importing nothing, so that ``plugins/promotions/__init__.py`` can merge
it at import time (``SETTINGS_SCHEMA["properties"].update(PROPERTIES)``) without loading the
models: the schema is read when the app starts, the models when the blueprints are built.
Amounts are strings of decimals, as everywhere in Comptoir's settings (money is never a
float); a reseller that sets nothing gets its office's values.
"""

from __future__ import annotations

from typing import Any

_DECIMAL_2 = "^[0-9]{1,6}(\\.[0-9]{1,2})?$"

PROPERTIES: dict[str, Any] = {
    "loyalty_enabled": {
        "type": "boolean", "default": True,
        "description": "Customers with an account earn points on paid orders and spend them "
                       "at checkout.",
    },
    "points_per_unit": {
        "type": "string", "pattern": _DECIMAL_2, "default": "1",
        "description": "Points earned per unit of the shop's currency spent on goods, "
                       "excluding VAT and delivery, after discounts (rounded down).",
    },
    "point_value": {
        "type": "string", "pattern": _DECIMAL_2, "default": "0.01",
        "description": "What one point takes off an order, excluding VAT, in the shop's "
                       "currency; 0 lets customers earn points but not spend them.",
    },
    "points_expiry_months": {
        "type": "integer", "minimum": 0, "maximum": 120, "default": 12,
        "description": "Points expire this many months after they were earned, oldest "
                       "first; 0: never.",
    },
    "points_reminder_days": {
        "type": "integer", "minimum": 0, "maximum": 365, "default": 30,
        "description": "Tell the customer (the newsletters plugin's reminder) this many "
                       "days before points expire; 0: no reminder.",
    },
    "sponsorship_enabled": {
        "type": "boolean", "default": True,
        "description": "Customers get a personal invite link; a friend who comes through it "
                       "gets a welcome offer, the sponsor points.",
    },
    "sponsor_reward_points": {
        "type": "integer", "minimum": 0, "maximum": 1000000, "default": 500,
        "description": "Points a sponsor gets once the friend's first paid order is past "
                       "its withdrawal period.",
    },
    "friend_offer_kind": {
        "type": "string", "enum": ["percent", "amount"], "default": "percent",
        "description": "The friend's welcome offer on a first order: a percentage of the "
                       "goods, or an amount off them (excluding VAT).",
    },
    "friend_offer_value": {
        "type": "string", "pattern": _DECIMAL_2, "default": "10",
        "description": "The percentage (at most 100) or the amount of the friend's welcome "
                       "offer; 0: none.",
    },
    "invite_cookie_days": {
        "type": "integer", "minimum": 1, "maximum": 365, "default": 30,
        "description": "How long an invite link is remembered in the friend's browser.",
    },
}
