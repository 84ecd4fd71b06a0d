"""The core's own answers to checkout hooks, registered for every tenant.

Invoice (with payment terms) for companies, bank transfer for everyone; card payments come
from the stripe plugin.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from comptoir.core.plugins import hookimpl

INVOICE_TERMS_DAYS = 30


@hookimpl
def comptoir_payment_methods(tenant: Any, company: Any) -> list[dict[str, str]]:
    methods = []
    if company is not None:
        methods.append({
            "code": "invoice",
            "label": gettext("Invoice"),
            "description": gettext("Pay within %(days)s days of the invoice date.",
                                   days=INVOICE_TERMS_DAYS),
        })
    methods.append({
        "code": "bank_transfer",
        "label": gettext("Bank transfer"),
        "description": gettext("The order ships once your transfer is received."),
    })
    return methods


@hookimpl(trylast=True)
def comptoir_withdrawal_days(tenant: Any) -> int:
    return 14


@hookimpl(trylast=True)
def comptoir_refund(tenant: Any, order: Any, amount: Any) -> str | None:
    """Invoice and bank-transfer orders are refunded by a credit note."""
    if order.payment_method in ("invoice", "bank_transfer"):
        return f"AVOIR-{order.number}"
    return None
