"""The legal wording a shop prints: footer mentions, invoice mentions, e-mail footers.

Gathered from the locale plugins' hooks in one place, so that the storefront, the invoice
and the newsletters print the same sentences, each in the reader's language.
"""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale

from comptoir.core.i18n import offered_locale
from comptoir.core.plugins import hooks


def _flat(answers: list[list[str] | None]) -> list[str]:
    return [str(line) for found in answers if found for line in found]


def legal_mentions(tenant: Any) -> list[str]:
    return _flat(hooks(tenant).comptoir_legal_mentions(tenant=tenant))


def invoice_mentions(tenant: Any, order: Any) -> list[str]:
    return _flat(hooks(tenant).comptoir_invoice_mentions(tenant=tenant, order=order))


def mail_footer(tenant: Any, locale: str) -> list[str]:
    """Footer lines for a reader of ``locale`` (the shop's own language if not offered)."""
    locale = offered_locale(tenant, locale) or tenant.locale
    with force_locale(locale):
        return _flat(hooks(tenant).comptoir_mail_footer(tenant=tenant, locale=locale))
