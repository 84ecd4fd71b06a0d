"""Purchase approvals: a company's decision chain, with signing ceilings per person.

From the seed (WStore): the platform rebuilds the customer company's signing rights; an
order above the buyer's ceiling becomes a request that waits for the lowest person up the
chain whose ceiling covers it, who is e-mailed a link, logs in and decides. Ceilings are
``Decimal`` amounts excluding VAT in the shop's currency, typically 0 / 20,000 / 500,000.

Also: carts and standard configurations submitted for technical validation (``reviews``),
reminders of requests left waiting (``reminders``, ``comptoir approvals remind``), deputies
during an absence (``delegation``) and the audit trail as CSV (``audit``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comptoir.toolkit import hookimpl, settings_schema_hook

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "signing_limits": {
            "type": "array", "minItems": 1, "maxItems": 9,
            "items": {"type": "string", "pattern": "^[0-9]{1,12}(\\.[0-9]{1,2})?$"},
            "default": ["0", "20000", "500000"],
            "description": "Ceiling offered for each level (1, 2, 3...) when a person is added "
                           "to a company's chain; the company admin may change it.",
        },
        "reminder_hours": {
            "type": "integer", "minimum": 1, "maximum": 720, "default": 48,
            "description": "Remind an approver of a request still waiting after this long.",
        },
    },
}

comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)


@hookimpl
def comptoir_migrations_dir() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def comptoir_api_resources() -> Any:
    from plugins.approvals.api import RESOURCES

    return RESOURCES


@hookimpl
def comptoir_blueprints() -> list[Any]:
    from plugins.approvals.reminders import remind_command
    from plugins.approvals.views import bp

    # No core hook adds CLI commands: Flask registers a blueprint's own CLI group under the
    # blueprint's name when the app registers the blueprint, hence `comptoir approvals remind`.
    bp.cli.add_command(remind_command)
    return [bp]


@hookimpl
def comptoir_checkout_veto(tenant: Any, user: Any, company: Any, net: Any,
                           currency: str) -> str | None:
    from plugins.approvals.service import veto

    return veto(user, net, currency)


@hookimpl
def comptoir_checkout_hold(tenant: Any, order: Any, user: Any) -> str | None:
    from plugins.approvals.service import hold

    return hold(order, user)


@hookimpl
def comptoir_order_event(tenant: Any, order: Any, event: str) -> None:
    from plugins.approvals.notify import order_moved

    order_moved(tenant, order, event)


@hookimpl
def comptoir_menu_items(tenant: Any) -> list[dict[str, str]] | None:
    from plugins.approvals.views import menu_items

    return menu_items()
