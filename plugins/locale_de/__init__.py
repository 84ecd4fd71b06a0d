"""German office: VAT, imprint and e-mail footer for Germany (see ``locale_fr``)."""

from __future__ import annotations

from typing import Any

from comptoir.toolkit import (
    hookimpl,
    plugin_settings,
    plugin_translations,
    settings_schema_hook,
    vat_table_hook,
)
from plugins.locale_de.vat import TABLE

_ = plugin_translations(__name__).gettext

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "legal_form": {"type": "string", "maxLength": 40, "default": "GmbH"},
        "register_court": {"type": "string", "maxLength": 80,
                           "description": "Amtsgericht keeping the commercial register."},
        "register_number": {"type": "string", "pattern": "^HR[AB] ?[0-9]{1,6}( ?[A-Z]{1,2})?$",
                            "description": "Handelsregister number, e.g. HRB 12345."},
        "managing_directors": {"type": "string", "maxLength": 200},
        "vat_number": {"type": "string", "pattern": "^DE[0-9]{9}$",
                       "description": "USt-IdNr. (DE + 9 digits)."},
        "address": {"type": "string", "maxLength": 200},
    },
}


comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)
comptoir_vat_table = vat_table_hook(TABLE)


def _identity(settings: dict[str, Any]) -> list[str]:
    lines = []
    if settings.get("register_number"):
        lines.append(_("%(form)s, commercial register %(court)s %(number)s",
                       form=settings["legal_form"], court=settings.get("register_court", ""),
                       number=settings["register_number"]))
    if settings.get("managing_directors"):
        lines.append(_("Managing directors: %(names)s", names=settings["managing_directors"]))
    if settings.get("vat_number"):
        lines.append(_("VAT number: %(number)s", number=settings["vat_number"]))
    return lines


@hookimpl
def comptoir_legal_mentions(tenant: Any) -> list[str]:
    return [
        *_identity(plugin_settings("locale_de", tenant)),
        _("Right of withdrawal: 14 days from delivery (German Civil Code, section 355)."),
    ]


@hookimpl
def comptoir_mail_footer(tenant: Any, locale: str) -> list[str]:
    settings = plugin_settings("locale_de", tenant)
    return [tenant.name, *([settings["address"]] if settings.get("address") else []),
            *_identity(settings)]
