"""French office: VAT, invoice mentions, withdrawal right and e-mail footer for France.

The reference locale plugin, and the model for the other offices' (``locale_de``,
``locale_ch``, ``locale_gb``, ``locale_cz``): one plugin per country, so an office enables
its own and a country's legal wording lives with the people who maintain it. The VAT
engine is the core's (:mod:`comptoir.tax`); this plugin gives it France's table and says
what French law asks invoices and shops to print.
"""

from __future__ import annotations

from typing import Any

from comptoir.toolkit import (
    hookimpl,
    is_business,
    plugin_settings,
    plugin_translations,
    settings_schema_hook,
    vat_table_hook,
)
from plugins.locale_fr.vat import TABLE

_ = plugin_translations(__name__).gettext

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "siren": {
            "type": "string", "pattern": "^[0-9]{9}$",
            "description": "SIREN number of the seller (9 digits).",
        },
        "rcs_city": {
            "type": "string", "maxLength": 60,
            "description": "City of the trade register (RCS) the company is registered at.",
        },
        "legal_form": {"type": "string", "maxLength": 40, "default": "SAS"},
        "share_capital": {
            "type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$",
            "description": "Share capital in euros, as a decimal string.",
        },
        "vat_number": {
            "type": "string", "pattern": "^FR[0-9A-Z]{2}[0-9]{9}$",
            "description": "The seller's French VAT number (FR + 2 characters + SIREN).",
        },
        "address": {"type": "string", "maxLength": 200},
        "withdrawal_days": {"type": "integer", "minimum": 14, "maximum": 90, "default": 14},
        "late_payment_rate": {
            "type": "string", "maxLength": 120,
            "description": "Late-payment penalty rate printed on B2B invoices (default: "
                           "three times the legal interest rate).",
        },
    },
}


comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)
comptoir_vat_table = vat_table_hook(TABLE)


def _identity(settings: dict[str, Any]) -> list[str]:
    lines = []
    if settings.get("siren"):
        registry = (_("RCS %(city)s %(siren)s", city=settings["rcs_city"],
                      siren=settings["siren"])
                    if settings.get("rcs_city") else _("SIREN %(siren)s", siren=settings["siren"]))
        capital = (_(", share capital %(amount)s EUR", amount=settings["share_capital"])
                   if settings.get("share_capital") else "")
        lines.append(f"{settings['legal_form']}{capital} · {registry}")
    if settings.get("vat_number"):
        lines.append(_("VAT number: %(number)s", number=settings["vat_number"]))
    return lines


@hookimpl
def comptoir_legal_mentions(tenant: Any) -> list[str]:
    settings = plugin_settings("locale_fr", tenant)
    return [
        *_identity(settings),
        _("Right of withdrawal: %(days)s days from delivery (French Consumer Code, "
          "art. L221-18).", days=settings["withdrawal_days"]),
    ]


@hookimpl
def comptoir_invoice_mentions(tenant: Any, order: Any) -> list[str]:
    """What article L441-9 of the Commercial Code adds to an invoice between businesses."""
    if not is_business(order):
        return []
    rate = plugin_settings("locale_fr", tenant).get("late_payment_rate") or _(
        "three times the French legal interest rate")
    return [
        _("No discount for early payment."),
        _("Late payment: penalties at %(rate)s, and a fixed indemnity of 40 EUR for "
          "recovery costs (French Commercial Code, art. L441-10 and D441-5).",
          rate=rate),
    ]


@hookimpl
def comptoir_withdrawal_days(tenant: Any) -> int:
    """Loi Hamon: 14 days at least; an office may grant more in its settings."""
    return int(plugin_settings("locale_fr", tenant)["withdrawal_days"])


@hookimpl
def comptoir_mail_footer(tenant: Any, locale: str) -> list[str]:
    settings = plugin_settings("locale_fr", tenant)
    lines = [tenant.name, *([settings["address"]] if settings.get("address") else [])]
    return [*lines, *_identity(settings)]
