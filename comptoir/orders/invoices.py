"""Invoices, in HTML for the browser and in PDF for the accounts department.

The invoice carries what the law of the seller's country asks for through the locale
plugin's ``comptoir_legal_mentions`` (SIREN, RCS, capital, VAT number...) and
``comptoir_invoice_mentions`` (late-payment penalties between businesses...); the core adds
what every invoice needs: seller, buyer and its VAT number, a sequential number (the
order's, gapless per tenant), the dates of issue and of sale, lines with their net prices,
the base and the VAT of each rate, totals, the payment terms, and the wording of the VAT
regime from the country's table ("Autoliquidation" for a reverse charge in France). Figures are
formatted by Babel in the shop's locale. The PDF is drawn with fpdf2 in DejaVu Sans, shipped
beside this module, which covers every office's alphabet (``€``, ``Č``, French spaces).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import format_date, gettext, ngettext

from comptoir.core.i18n import money, percent
from comptoir.legal.texts import invoice_mentions, legal_mentions
from comptoir.orders.default_hooks import terms_days
from comptoir.orders.models import PAID, Order

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
    #: Why no VAT, or whose VAT, in the words the seller's law requires; or ``None``.
    regime: str | None = None
    sold: date | None = None
    #: The document's heading; an invoice's by default ("Invoice F-000001").
    title: str | None = None
    #: Payment terms in days ("30 days net") of an invoice paid on terms; else ``None``.
    terms_days: int | None = None
    #: The day the money arrived, in the shop's time zone; ``None`` while unpaid.
    paid_on: date | None = None

    def payment_lines(self) -> list[str]:
        """"Payment terms: 30 days net", "Due date: ...", "Paid on ...", as they apply."""
        lines = []
        if self.terms_days is not None:
            lines.append(gettext("Payment terms: on receipt") if self.terms_days <= 0 else
                         ngettext("Payment terms: %(num)s day net",
                                  "Payment terms: %(num)s days net", self.terms_days))
        if self.due is not None:
            lines.append(gettext("Due date: %(date)s", date=format_date(self.due, "long")))
        if self.paid_on is not None:
            lines.append(gettext("Paid on %(date)s", date=format_date(self.paid_on, "long")))
        return lines


def shop_day(tenant: Any, moment: datetime) -> date:
    """The date of ``moment`` in the shop's time zone (a naive moment is UTC, as SQLite
    returns them): an order placed at 00:30 in Paris is dated that day, not the day before."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = getattr(tenant, "timezone", None) or "UTC"
    return moment.astimezone(ZoneInfo(zone)).date()


def paid_moment(order: Order) -> datetime | None:
    """When ``order`` was paid: its ``paid_at``, else when staff marked it paid, else
    ``None``."""
    if order.paid_at is not None:
        return order.paid_at
    moments = [event.at for event in order.events if event.to_status == PAID]
    return moments[-1] if moments else None


def build(tenant: Any, order: Order) -> Invoice:
    issued = shop_day(tenant, order.created_at)
    days = due = None
    if order.payment_method == "invoice":
        # The terms are those the order was placed under: its due date says them. An order
        # placed before due dates were kept falls back on its company's terms.
        due = order.due_date or issued + timedelta(days=terms_days(order.company))
        days = max((due - issued).days, 0)
    paid = paid_moment(order)
    address = order.billing_address
    buyer = [x for x in (address.get("company"), address.get("name"), address.get("street"),
                         f"{address.get('postcode', '')} {address.get('city', '')}".strip(),
                         address.get("country")) if x]
    buyer_number = order.buyer_vat_number or (order.company.vat_number
                                              if order.company is not None else None)
    if buyer_number:
        buyer.append(gettext("VAT number: %(number)s", number=buyer_number))
    seller = [tenant.name]
    if tenant.is_reseller:
        seller.append(gettext("a %(office)s reseller", office=tenant.office_name))
    currency = order.currency
    lines = [
        (line.sku, _line_name(line, currency), line.quantity, money(line.unit_net, currency),
         percent(line.vat_rate / 100) if line.vat_rate is not None else "—",
         money(line.line_net, currency))
        for line in order.lines
    ]
    vat = [(gettext("VAT %(rate)s on %(base)s", rate=percent(rate / 100),
                    base=money(base, currency)), money(amount, currency))
           for rate, base, amount in order.vat_by_rate]
    # An invoice's terms and due date are in its payment lines (Invoice.payment_lines).
    terms = "" if due is not None else gettext(
        "Paid by %(method)s.", method=order.payment_method.replace("_", " "))
    mentions = legal_mentions(tenant) + invoice_mentions(tenant, order)
    return Invoice(
        number=f"F-{order.number:06d}", issued=issued, due=due, seller=seller, buyer=buyer,
        lines=lines, vat=vat, total_net=money(order.total_net, currency),
        total_vat=money(order.total_vat, currency),
        total_gross=money(order.total_gross, currency), terms=terms, mentions=mentions,
        regime=regime_wording(tenant, order), sold=issued, terms_days=days,
        paid_on=shop_day(tenant, paid) if paid is not None else None,
    )


def regime_wording(tenant: Any, order: Order) -> str | None:
    """The sentence the seller's law wants when no VAT, or another country's, is charged."""
    from comptoir.tax.basis import DOMESTIC, OSS, UNTAXED, table_for
    from comptoir.tax.display import country_name

    if order.vat_regime == OSS:
        return gettext("VAT of %(country)s, the country of delivery (One-Stop Shop).",
                       country=country_name(order.tax_country))
    if order.vat_regime == UNTAXED:
        return gettext("No VAT charged: this shop is not set up to charge VAT.")
    if order.vat_regime == DOMESTIC:
        return None
    table = table_for(tenant, tenant.country)
    wording = table.mentions.get(order.vat_regime) if table is not None else None
    return str(wording) if wording else None


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
    doc.cell(0, 10, invoice.title or gettext("Invoice %(number)s", number=invoice.number),
             new_x="LMARGIN", new_y="NEXT")
    doc.set_font("dejavu", size=10)
    doc.cell(0, 6, gettext("Date: %(date)s", date=format_date(invoice.issued, "long")),
             new_x="LMARGIN", new_y="NEXT")
    if invoice.sold is not None:
        doc.cell(0, 6, gettext("Date of sale: %(date)s", date=format_date(invoice.sold, "long")),
                 new_x="LMARGIN", new_y="NEXT")
    for line in invoice.payment_lines():
        doc.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
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
    if invoice.regime:
        doc.set_font("dejavu", "B", 9)
        doc.multi_cell(0, 5, invoice.regime, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("dejavu", size=10)
    if invoice.terms:
        doc.multi_cell(0, 5, invoice.terms, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("dejavu", size=8)
    for mention in invoice.mentions:
        doc.multi_cell(0, 4, mention, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def _line_name(line: Any, currency: str) -> str:
    """The line's name, with what a promotion took off it (VAT is on the rest)."""
    if not line.discount:
        return line.name
    return f"{line.name} ({line.discount_label} −{money(line.discount, currency)})"
