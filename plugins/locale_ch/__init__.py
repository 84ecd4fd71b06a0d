"""Swiss office: VAT, identity and e-mail footer for Switzerland, in French and German.

Switzerland has no statutory right of withdrawal for online purchases; the shop grants the
core's 14 days and says so as its own commitment.
"""

from __future__ import annotations

from typing import Any

from comptoir.toolkit import (
    hookimpl,
    plugin_settings,
    plugin_translations,
    settings_schema_hook,
    vat_table_hook,
)
from plugins.locale_ch.vat import TABLE

_ = plugin_translations(__name__).gettext

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "uid": {"type": "string", "pattern": "^CHE-[0-9]{3}\\.[0-9]{3}\\.[0-9]{3}$",
                "description": "Enterprise identification number (UID), e.g. CHE-123.456.789."},
        "legal_form": {"type": "string", "maxLength": 40, "default": "SA"},
        "address": {"type": "string", "maxLength": 200},
    },
}


comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)
comptoir_vat_table = vat_table_hook(TABLE)


def _identity(settings: dict[str, Any]) -> list[str]:
    if not settings.get("uid"):
        return []
    return [_("%(form)s, VAT number %(uid)s VAT", form=settings["legal_form"],
              uid=settings["uid"])]


@hookimpl
def comptoir_legal_mentions(tenant: Any) -> list[str]:
    return [
        *_identity(plugin_settings("locale_ch", tenant)),
        _("Returns accepted within 14 days of delivery (a commitment of the shop; Swiss law "
          "has no right of withdrawal for online purchases)."),
    ]


@hookimpl
def comptoir_mail_footer(tenant: Any, locale: str) -> list[str]:
    settings = plugin_settings("locale_ch", tenant)
    return [tenant.name, *([settings["address"]] if settings.get("address") else []),
            *_identity(settings)]
