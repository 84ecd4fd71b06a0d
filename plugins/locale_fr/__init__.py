"""French office: VAT rates, legal mentions and invoicing identity for France.

This is the reference locale plugin; the VAT engine with effective dates, reverse charge and
the full invoice mentions come with the localisation issue. What is here already answers
the core's VAT and legal-mention hooks for French shops.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from comptoir.toolkit import gettext, hookimpl, plugin_settings

# Taux de TVA en vigueur en France métropolitaine (CGI, art. 278 et suivants).
RATES = {
    "standard": Decimal("20"),
    "intermediate": Decimal("10"),
    "reduced": Decimal("5.5"),
    "super_reduced": Decimal("2.1"),
    "zero": Decimal("0"),
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "siren": {
            "type": "string",
            "pattern": "^[0-9]{9}$",
            "description": "SIREN number of the seller (9 digits).",
        },
        "legal_form": {"type": "string", "maxLength": 40, "default": "SAS"},
        "share_capital": {
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]{1,2})?$",
            "description": "Share capital in euros, as a decimal string.",
        },
        "withdrawal_days": {"type": "integer", "minimum": 14, "maximum": 90, "default": 14},
    },
}


@hookimpl
def comptoir_settings_schema() -> dict[str, Any]:
    return SETTINGS_SCHEMA


@hookimpl
def comptoir_vat_rate(tenant: Any, country: str, tax_class: str, on_date: date) -> Any:
    if country != "FR":
        return None
    return RATES.get(tax_class)


@hookimpl
def comptoir_legal_mentions(tenant: Any) -> list[str]:
    settings = plugin_settings("locale_fr", tenant)
    mentions = [
        gettext(
            "Right of withdrawal: %(days)s days from delivery (French Consumer Code, "
            "art. L221-18).",
            days=settings["withdrawal_days"],
        )
    ]
    if settings.get("siren"):
        mentions.append(
            gettext("%(form)s, SIREN %(siren)s", form=settings["legal_form"],
                    siren=settings["siren"])
        )
    return mentions


@hookimpl
def comptoir_withdrawal_days(tenant: Any) -> int:
    """Loi Hamon: 14 days at least; an office may grant more in its settings."""
    return int(plugin_settings("locale_fr", tenant)["withdrawal_days"])
