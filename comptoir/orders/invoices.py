"""Invoices, in HTML for the browser and in PDF for the accounts department.

The invoice carries what the law of the seller's country asks for through the locale
plugin's ``comptoir_legal_mentions`` (SIREN, withdrawal right...); the core adds what every
invoice needs: seller, buyer, a sequential number (the order's, gapless per tenant), dates,
lines with their net prices, VAT per rate, totals, and the payment terms. Figures are
formatted by Babel in the shop's locale. The PDF is drawn with fpdf2 in DejaVu Sans, shipped
beside this module, which covers every office's alphabet (``€``, ``Č``, French spaces).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import format_date, gettext

from comptoir.core.i18n import money, percent
from comptoir.core.plugins import hooks
from comptoir.orders.default_hooks import INVOICE_TERMS_DAYS
from comptoir.orders.models import Order

FONTS = Path(__file__).resolve().parent / "fonts"


@dataclass
class Invoice:
    number: str
    issued: date
    due: date | None
    seller: list[str]
    buyer: list[str]
    lines: list[tuple[str, str, int, str, str, str]]  # sku, name, qty, unit, rate, total
    vat: list[tuple[str, str]]  # label, amount
    total_net: str
    total_vat: str
    total_gross: str
    terms: str
    mentions: list[str]


def build(tenant: Any, order: Order) -> Invoice:
    issued = order.created_at.date()
    due = issued + timedelta(days=INVOICE_TERMS_DAYS) if order.payment_method == "invoice" \
        else None
    address = order.billing_address
    buyer = [x for x in (address.get("company"), address.get("name"), address.get("street"),
                         f"{address.get('postcode', '')} {address.get('city', '')}".strip(),
                         address.get("country")) if x]
    if order.company is not None and order.company.vat_number:
        buyer.append(gettext("VAT number: %(number)s", number=order.company.vat_number))
    seller = [tenant.name]
    if tenant.is_reseller:
        seller.append(gettext("a %(office)s reseller", office=tenant.office_name))
    currency = order.currency
    lines = [
        (line.sku, line.name, line.quantity, money(line.unit_net, currency),
         percent(line.vat_rate / 100) if line.vat_rate is not None else "—",
         money(line.line_net, currency))
        for line in order.lines
    ]
    vat = [(gettext("VAT %(rate)s", rate=percent(Decimal(rate) / 100)),
            money(Decimal(amount), currency))
           for rate, amount in sorted(order.vat_breakdown.items(), key=lambda x: Decimal(x[0]))]
    if due is not None:
        terms = gettext("Payment due on %(date)s.", date=format_date(due, "long"))
    else:
        terms = gettext("Paid by %(method)s.", method=order.payment_method.replace("_", " "))
    mentions = [m for found in hooks(tenant).comptoir_legal_mentions(tenant=tenant) if found
                for m in found]
    return Invoice(
        number=f"F-{order.number:06d}", issued=issued, due=due, seller=seller, buyer=buyer,
        lines=lines, vat=vat, total_net=money(order.total_net, currency),
        total_vat=money(order.total_vat, currency),
        total_gross=money(order.total_gross, currency), terms=terms, mentions=mentions,
    )


def _fit(doc: Any, text: str, width: float) -> str:
    """Shorten ``text`` with an ellipsis until it fits ``width`` millimetres."""
    if doc.get_string_width(text) <= width:
        return text
    while text and doc.get_string_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF document."""
    from fpdf import FPDF

    doc = FPDF(format="A4")
    doc.set_auto_page_break(auto=True, margin=15)
    doc.add_font("dejavu", fname=str(FONTS / "DejaVuSans.ttf"))
    doc.add_font("dejavu", style="B", fname=str(FONTS / "DejaVuSans-Bold.ttf"))
    doc.add_page()
    doc.set_font("dejavu", "B", 16)
    doc.cell(0, 10, gettext("Invoice %(number)s", number=invoice.number),
             new_x="LMARGIN", new_y="NEXT")
    doc.set_font("dejavu", size=10)
    doc.cell(0, 6, gettext("Date: %(date)s", date=format_date(invoice.issued, "long")),
             new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    top = doc.get_y()
    doc.multi_cell(90, 5, "\n".join(invoice.seller), new_x="LMARGIN", new_y="NEXT")
    below_seller = doc.get_y()
    doc.set_xy(110, top)
    doc.multi_cell(90, 5, "\n".join(invoice.buyer), new_x="LMARGIN", new_y="NEXT")
    doc.set_xy(doc.l_margin, max(below_seller, doc.get_y()) + 8)
    widths = (30, 70, 15, 25, 15, 25)
    headers = (gettext("Reference"), gettext("Item"), gettext("Qty"),
               gettext("Unit price"), gettext("VAT"), gettext("Total"))
    doc.set_font("dejavu", "B", 9)
    for width, header in zip(widths, headers, strict=True):
        doc.cell(width, 7, header, border="B")
    doc.ln()
    doc.set_font("dejavu", size=9)
    for row in invoice.lines:
        for width, value in zip(widths, row, strict=True):
            doc.cell(width, 6, _fit(doc, str(value), width - 2))
        doc.ln()
    doc.ln(4)
    for label, amount in ((gettext("Total excl. VAT"), invoice.total_net), *invoice.vat,
                          (gettext("Total incl. VAT"), invoice.total_gross)):
        doc.cell(155, 6, label, align="R")
        doc.cell(25, 6, amount, align="R", new_x="LMARGIN", new_y="NEXT")
    doc.ln(6)
    doc.multi_cell(0, 5, invoice.terms, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("dejavu", size=8)
    for mention in invoice.mentions:
        doc.multi_cell(0, 4, mention, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
