"""The core's own answers to checkout hooks, registered for every tenant.

Invoice (with payment terms) for companies, bank transfer for everyone; card payments come
from the stripe plugin.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, ngettext

from comptoir.core.plugins import hookimpl

#: The payment terms of a company that has none of its own, and of the orders placed before
#: terms were kept per company.
INVOICE_TERMS_DAYS = 30


def terms_days(company: Any) -> int:
    """The days ``company`` has to pay an invoice ("30 days net")."""
    days = getattr(company, "payment_terms_days", None)
    return INVOICE_TERMS_DAYS if days is None else int(days)


def invoice_terms_sentence(days: int) -> str:
    """What the buyer is told at checkout: within how many days of the invoice to pay."""
    if days <= 0:
        return gettext("Pay on receipt of the invoice.")
    return ngettext("Pay within %(num)s day of the invoice date.",
                    "Pay within %(num)s days of the invoice date.", days)


@hookimpl
def comptoir_payment_methods(tenant: Any, company: Any) -> list[dict[str, str]]:
    methods = []
    if company is not None:
        methods.append({
            "code": "invoice",
            "label": gettext("Invoice"),
            "description": invoice_terms_sentence(terms_days(company)),
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
        earlier = len(order.refunds)  # a second credit note on the same order: AVOIR-12-2
        return f"AVOIR-{order.number}" + (f"-{earlier + 1}" if earlier else "")
    return None
