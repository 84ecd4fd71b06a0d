"""Newsletters: consented, localised e-mail per office, with triggers after customer actions.

From the seed (WStore): the newsletter reaches thousands of readers in each country, adapted
to each office; promotion flashes follow rules that match profiles or events; customers
choose when, how often and on which themes they hear from the shop, opt in explicitly and
leave at any moment through a link in every message.

- :mod:`.models`: subscribers, the append-only consent ledger, campaigns, deliveries;
- :mod:`.tokens`: the signed links in every message (confirm, preferences, unsubscribe);
- :mod:`.consent`: double opt-in, withdrawal, preferences, the ledger's export;
- :mod:`.mailing`: one message for one reader (language, footer, co-brand, RFC 8058
  headers), and delivery through the tenant's SMTP server without duplicates;
- :mod:`.segments`: the rule language that picks a campaign's readers;
- :mod:`.campaigns`: preview, test send, scheduling, batched sending with progress;
- :mod:`.triggers`: welcome, order and delivery mails, reminders, with a frequency cap;
- :mod:`.bounces`: hard bounces and complaints suppress an address;
- :mod:`.views` and :mod:`.staff_views`: the reader's pages and the staff's.
- :mod:`.platform_status`: what the platform dashboard shows of the sending.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from comptoir.toolkit import hookimpl, settings_schema_hook

_ADDRESS = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sender_name": {
            "type": "string", "minLength": 1, "maxLength": 100,
            "description": "The name readers see the newsletter from (default: the shop's).",
        },
        "sender_email": {
            "type": "string", "pattern": _ADDRESS, "maxLength": 254,
            "description": "The address newsletters come from, on a domain whose SPF and "
                           "DKIM records name the SMTP server below (default: the "
                           "platform's COMPTOIR_MAIL_FROM).",
        },
        "smtp_url": {
            "type": "string", "pattern": "^(smtp|smtp\\+starttls|smtps)://[^\\s@/]+(:[0-9]+)?/?$",
            "maxLength": 200,
            "description": "This shop's own SMTP server (smtp+starttls://mail.example.fr:587)"
                           "; empty: the platform's.",
        },
        "smtp_username": {"type": "string", "maxLength": 200,
                          "description": "Login on that server, if it asks for one."},
        "smtp_password": {"type": "string", "maxLength": 200,
                          "description": "Password on that server."},
        "consent_text": {
            "type": "string", "maxLength": 1000,
            "description": "What readers agree to when they subscribe; each change is a new "
                           "version in the consent ledger. Empty: the standard wording.",
        },
        "themes": {
            "type": "string", "pattern": "^[a-z0-9_]+(,[a-z0-9_]+)*$", "maxLength": 300,
            "default": "promotions,new_products,events,advice",
            "description": "Themes readers may choose, comma-separated.",
        },
        "tracking": {
            "type": "boolean", "default": False,
            "description": "Offer readers open and click tracking (each reader must still "
                           "turn it on in their preferences).",
        },
        "batch_size": {
            "type": "integer", "minimum": 1, "maximum": 5000, "default": 200,
            "description": "Messages per sending job.",
        },
        "rate_per_minute": {
            "type": "integer", "minimum": 0, "maximum": 100000, "default": 0,
            "description": "At most this many messages a minute (the SMTP provider's limit);"
                           " 0: as fast as the server takes them.",
        },
        "frequency_cap_per_week": {
            "type": "integer", "minimum": 1, "maximum": 50, "default": 3,
            "description": "At most this many marketing messages to one customer in seven "
                           "days, campaigns and triggers together.",
        },
        "trigger_welcome": {"type": "boolean", "default": True,
                            "description": "Welcome message once a subscription is "
                                           "confirmed."},
        "trigger_order_confirmation": {"type": "boolean", "default": True,
                                       "description": "Order confirmation (transactional)."},
        "trigger_delivery_status": {"type": "boolean", "default": True,
                                    "description": "Shipped and delivered notices "
                                                   "(transactional)."},
        "trigger_review_days": {
            "type": "integer", "minimum": 0, "maximum": 60, "default": 7,
            "description": "Ask for a review this many days after delivery; 0: never."},
        "trigger_abandoned_cart_hours": {
            "type": "integer", "minimum": 0, "maximum": 168, "default": 4,
            "description": "Remind a customer of a cart left this many hours; 0: never."},
        "trigger_browse_hours": {
            "type": "integer", "minimum": 0, "maximum": 168, "default": 24,
            "description": "Follow up a product viewed without buying after this many "
                           "hours (mail and help-desk callback); 0: never."},
        "trigger_birthday": {"type": "boolean", "default": True,
                             "description": "Birthday offer to readers who gave their "
                                            "birthday."},
        "trigger_winback_weeks": {
            "type": "integer", "minimum": 0, "maximum": 260, "default": 26,
            "description": "\"We miss you\" after this many weeks without an order; 0: "
                           "never."},
        "trigger_loyalty_expiring": {"type": "boolean", "default": True,
                                     "description": "Remind readers of loyalty points "
                                                    "about to expire."},
    },
}

comptoir_settings_schema = settings_schema_hook(SETTINGS_SCHEMA)


@hookimpl
def comptoir_migrations_dir() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def comptoir_api_resources() -> Any:
    from plugins.newsletters.api import RESOURCES

    return RESOURCES


@hookimpl
def comptoir_blueprints() -> list[Any]:
    # Importing these modules also declares their jobs (sending batches, triggers, bounces).
    from plugins.newsletters import bounces, campaigns, triggers  # noqa: F401
    from plugins.newsletters.staff_views import bp as staff_bp
    from plugins.newsletters.views import bp

    # Flask registers a blueprint's CLI group under its name: `comptoir newsletters ...`.
    bp.cli.add_command(bounces.inbound_command)
    return [bp, staff_bp]


@hookimpl
def comptoir_page_blocks(tenant: Any, slot: str) -> Any:
    from plugins.newsletters.views import subscribe_block

    return subscribe_block() if slot == "footer" else None


@hookimpl
def comptoir_menu_items(tenant: Any) -> list[dict[str, str]] | None:
    from plugins.newsletters.staff_views import menu_items

    return menu_items()


@hookimpl
def comptoir_order_event(tenant: Any, order: Any, event: str) -> None:
    from plugins.newsletters import triggers

    triggers.order_event(tenant, order, event)


@hookimpl
def comptoir_customer_event(tenant: Any, user: Any, event: str, details: dict) -> None:
    from plugins.newsletters import triggers

    triggers.customer_event(tenant, user, event, details)


@hookimpl
def comptoir_customer_registered(tenant: Any, user: Any) -> None:
    from plugins.newsletters import consent

    consent.customer_registered(tenant, user)


@hookimpl
def comptoir_transactional_mail(tenant: Any, to: str, subject: str, body: str, locale: str,
                                dedupe_key: str, reply_to: str | None,
                                headers: dict[str, str]) -> bool:
    from plugins.newsletters import triggers

    return triggers.transactional_mail(tenant, to, subject, body, locale, dedupe_key,
                                       reply_to, headers)


@hookimpl
def comptoir_platform_status(tenant: Any) -> list[dict[str, str]]:
    from plugins.newsletters import platform_status

    return platform_status.status_lines(tenant)
