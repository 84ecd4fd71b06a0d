"""UK office: VAT, company identity and e-mail footer for the United Kingdom."""

from __future__ import annotations

from typing import Any

from comptoir.toolkit import (
    hookimpl,
    plugin_settings,
    plugin_translations,
    settings_schema_hook,
    vat_table_hook,
)
from plugins.locale_gb.vat import TABLE

_ = plugin_translations(__name__).gettext

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "company_number": {"type": "string", "pattern": "^[0-9A-Z]{8}$",
                           "description": "Companies House registration number."},
        "registered_office": {"type": "string", "maxLength": 200},
        "vat_number": {"type": "string", "pattern": "^GB([0-9]{9}|[0-9]{12})$",
                       "description": "VAT registration number (GB + 9 digits)."},
    },
}


comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)
comptoir_vat_table = vat_table_hook(TABLE)


def _identity(settings: dict[str, Any]) -> list[str]:
    lines = []
    if settings.get("company_number"):
        lines.append(_("Registered in England and Wales, company number %(number)s",
                       number=settings["company_number"]))
    if settings.get("registered_office"):
        lines.append(_("Registered office: %(address)s", address=settings["registered_office"]))
    if settings.get("vat_number"):
        lines.append(_("VAT registration number: %(number)s", number=settings["vat_number"]))
    return lines


@hookimpl
def comptoir_legal_mentions(tenant: Any) -> list[str]:
    return [
        *_identity(plugin_settings("locale_gb", tenant)),
        _("You may cancel within 14 days of delivery (Consumer Contracts Regulations 2013)."),
    ]


@hookimpl
def comptoir_mail_footer(tenant: Any, locale: str) -> list[str]:
    return [tenant.name, *_identity(plugin_settings("locale_gb", tenant))]
