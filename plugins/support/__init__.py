"""Support: a help desk that keeps the 48-hour promise.

From the seeds (003): the technical service answers every question on compatibility,
modularity and upgrades within 48 hours; a contact centre records every request and
complaint so none is forgotten or answered twice, with reply templates and a FAQ; a
satisfaction questionnaire follows a purchase and an unhappy customer is contacted again.

- :mod:`.models`: tickets with their history and files, reply templates, FAQ, surveys;
- :mod:`.hours`: the promise's clock, counted in the shop's business hours and time zone;
- :mod:`.tickets`: opening, answering, noting, assigning and closing tickets, one set of rules
  for every way in (storefront form, account, e-mail, staff, survey);
- :mod:`.files`: which attachments are taken, and why others are refused;
- :mod:`.inbound`: e-mail replies routed to their ticket by the token in the reply address;
- :mod:`.faq` and :mod:`.replies`: the FAQ's search, the templates' placeholders;
- :mod:`.surveys`: the questionnaire after delivery; a low score opens a follow-up ticket;
- :mod:`.views` and :mod:`.staff_views`: the customer's pages and the help desk's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comptoir.toolkit import hookimpl, settings_schema_hook

_ADDRESS = "^[^@\\s+]+@[^@\\s]+\\.[^@\\s]+$"
_TIME = "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
_DAYS = "^(mon|tue|wed|thu|fri|sat|sun)(,(mon|tue|wed|thu|fri|sat|sun))*$"
_DATES = "^([0-9]{4}-[0-9]{2}-[0-9]{2}(,[0-9]{4}-[0-9]{2}-[0-9]{2})*)?$"

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "promise_hours": {
            "type": "integer", "minimum": 1, "maximum": 720, "default": 48,
            "description": "Every question is answered within this many business hours.",
        },
        "opens_at": {"type": "string", "pattern": _TIME, "default": "09:00",
                     "description": "The help desk opens at (the shop's time zone)."},
        "closes_at": {"type": "string", "pattern": _TIME, "default": "18:00",
                      "description": "The help desk closes at; 24:00 for midnight."},
        "business_days": {"type": "string", "pattern": _DAYS,
                          "default": "mon,tue,wed,thu,fri",
                          "description": "Days the help desk works, comma-separated."},
        "holidays": {"type": "string", "pattern": _DATES, "default": "", "maxLength": 2000,
                     "description": "Days off, as YYYY-MM-DD, comma-separated."},
        "warn_hours": {
            "type": "integer", "minimum": 0, "maximum": 240, "default": 8,
            "description": "Warn the help desk this many business hours before a promise "
                           "runs out; 0: no warning.",
        },
        "inbound_address": {
            "type": "string", "pattern": _ADDRESS, "maxLength": 254,
            "description": "The help desk's address (support@example.fr). Customers' replies "
                           "come back to support+<token>@ that domain; deliver its mail to "
                           "`comptoir support inbound`. Empty: replies by e-mail are off.",
        },
        "max_attachment_mb": {"type": "integer", "minimum": 1, "maximum": 25, "default": 10,
                              "description": "Largest file a customer may attach."},
        "survey_days": {
            "type": "integer", "minimum": 0, "maximum": 60, "default": 2,
            "description": "Send a satisfaction survey this many days after delivery; 0: "
                           "never.",
        },
        "survey_follow_up_below": {
            "type": "integer", "minimum": 1, "maximum": 5, "default": 3,
            "description": "A score below this (out of 5) opens a follow-up ticket.",
        },
    },
}

comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)


@hookimpl
def comptoir_migrations_dir() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def comptoir_blueprints() -> list[Any]:
    # Importing these modules also declares their jobs (notices, warnings, surveys).
    from plugins.support import inbound, models, notices, surveys  # noqa: F401
    from plugins.support.staff_views import bp as staff_bp
    from plugins.support.views import bp as storefront_bp

    # Flask registers a blueprint's CLI group under its name: `comptoir support inbound`.
    storefront_bp.cli.add_command(inbound.inbound_command)
    return [storefront_bp, staff_bp, surveys.bp]


@hookimpl
def comptoir_page_blocks(tenant: Any, slot: str, context: dict[str, Any]) -> Any:
    from plugins.support.views import page_block

    return page_block(tenant, slot, context)


@hookimpl
def comptoir_menu_items(tenant: Any) -> list[dict[str, str]] | None:
    from plugins.support import staff_views, views

    return (views.menu_items() or []) + (staff_views.menu_items() or [])
