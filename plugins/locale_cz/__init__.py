"""Czech office: VAT, identity and e-mail footer for the Czech Republic."""

from __future__ import annotations

from typing import Any

from comptoir.toolkit import (
    hookimpl,
    plugin_settings,
    plugin_translations,
    settings_schema_hook,
    vat_table_hook,
)
from plugins.locale_cz.vat import TABLE

_ = plugin_translations(__name__).gettext

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ico": {"type": "string", "pattern": "^[0-9]{8}$",
                "description": "IČO, the company identification number (8 digits)."},
        "vat_number": {"type": "string", "pattern": "^CZ[0-9]{8,10}$",
                       "description": "DIČ, the VAT number (CZ + 8 to 10 digits)."},
        "register": {"type": "string", "maxLength": 200,
                     "description": "Entry in the commercial register (court, section, file)."},
        "address": {"type": "string", "maxLength": 200},
    },
}


comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)
comptoir_vat_table = vat_table_hook(TABLE)


def _identity(settings: dict[str, Any]) -> list[str]:
    lines = []
    if settings.get("ico"):
        lines.append(_("Company ID: %(ico)s", ico=settings["ico"]))
    if settings.get("vat_number"):
        lines.append(_("VAT number: %(number)s", number=settings["vat_number"]))
    if settings.get("register"):
        lines.append(settings["register"])
    return lines


@hookimpl
def comptoir_legal_mentions(tenant: Any) -> list[str]:
    return [
        *_identity(plugin_settings("locale_cz", tenant)),
        _("Right of withdrawal: 14 days from delivery (Czech Civil Code, section 1829)."),
    ]


@hookimpl
def comptoir_mail_footer(tenant: Any, locale: str) -> list[str]:
    settings = plugin_settings("locale_cz", tenant)
    return [tenant.name, *([settings["address"]] if settings.get("address") else []),
            *_identity(settings)]
