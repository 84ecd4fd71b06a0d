"""Staff pages for what customers owe: companies and their payment terms, overdue invoices.

A company pays its invoices within its own terms ("30 days net", 0 to 120 days), set here by
the shop's staff; an order paid on invoice falls due that many days after it was placed
(``Order.due_date``, fixed when it is booked: new terms apply to new orders only). An
invoice is open until staff mark the order paid (placed -> paid), and overdue once its due
date is past in the shop's time zone. What is owed is the order's total including VAT less
any credit note (refund) already issued on it.

Same access rule as the other staff pages (:func:`comptoir.staff.views._staff_only`): a
visitor is sent to the login page, a customer gets a 403, another tenant's company is a 404.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import selectinload

from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.customers.models import Company, User
from comptoir.orders.models import DELIVERED, PAID, PLACED, SHIPPED, Order, OrderEvent
from comptoir.staff.views import _staff_only
from comptoir.toolkit import shop_today

log = logging.getLogger("comptoir.staff")

bp = Blueprint("staff_receivables", __name__, url_prefix="/staff")
bp.before_request(_staff_only)

#: The longest payment terms staff may grant, in days.
MAX_TERMS_DAYS = 120
#: Statuses of an order whose invoice may still be unpaid: placed, or sent on before payment.
#: Held, cancelled and returned orders owe nothing; a "paid" order is paid.
OPEN_STATUSES = (PLACED, SHIPPED, DELIVERED)


def unpaid_invoices() -> ColumnElement[bool]:
    """Orders paid on invoice whose money has not arrived: still open, no ``paid_at``, and
    never marked paid (an order paid, then shipped, stays paid)."""
    marked_paid = select(OrderEvent.id).where(
        OrderEvent.order_id == Order.id, OrderEvent.to_status == PAID).exists()
    return and_(Order.payment_method == "invoice", Order.status.in_(OPEN_STATUSES),
                Order.paid_at.is_(None), ~marked_paid)


def _owed(order: Order) -> Decimal:
    """What is still owed on ``order``: its total including VAT less its credit notes."""
    return order.total_gross - order.refunded


def _open_orders(*conditions: Any) -> list[Order]:
    query = (select(Order).where(unpaid_invoices(), *conditions)
             .options(selectinload(Order.company), selectinload(Order.refunds))
             .order_by(Order.due_date, Order.number))
    return list(db.session.scalars(query))


def _by_currency(amounts: list[tuple[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in amounts:
        totals[currency] += amount
    return dict(sorted(totals.items()))


# -- companies and their payment terms ------------------------------------------------------


def _companies_page(status: int = 200) -> tuple[str, int]:
    companies = db.session.scalars(select(Company).order_by(Company.name)).all()
    users = dict(db.session.execute(
        select(User.company_id, func.count(User.id)).where(User.company_id.is_not(None))
        .group_by(User.company_id)).all())
    owed: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for order in _open_orders(Order.company_id.is_not(None)):
        owed[order.company_id].append((order.currency, _owed(order)))
    rows = [(company, users.get(company.id, 0), _by_currency(owed.get(company.id, [])))
            for company in companies]
    return render("staff/companies.html", rows=rows, max_days=MAX_TERMS_DAYS), status


@bp.route("/companies")
def companies() -> tuple[str, int]:
    return _companies_page()


def parse_terms(value: str) -> int:
    """Payment terms typed by staff, as days; ``ValueError`` unless a whole number from 0 to
    :data:`MAX_TERMS_DAYS`."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 3 or int(text) > MAX_TERMS_DAYS:
        raise ValueError(text)
    return int(text)


@bp.route("/companies/<int(max=2147483647):company_id>/terms", methods=["POST"])
def set_terms(company_id: int) -> Any:
    company = db.session.scalars(select(Company).where(Company.id == company_id)).first()
    if company is None:
        abort(404)
    raw = request.form.get("payment_terms_days", "")
    try:
        days = parse_terms(raw)
    except ValueError:
        flash(_("Payment terms of %(company)s: '%(value)s' is not a whole number of days "
                "from 0 to %(max)s; nothing was changed.", company=company.name,
                value=raw.strip()[:20], max=MAX_TERMS_DAYS), "error")
        return _companies_page(400)
    before = company.payment_terms_days
    company.payment_terms_days = days
    db.session.commit()
    log.info("payment terms of company %s changed from %s to %s days by %s",
             company.id, before, days, current_user.email)
    flash(ngettext("Payment terms of %(company)s set to %(num)s day net.",
                   "Payment terms of %(company)s set to %(num)s days net.", days,
                   company=company.name), "success")
    return redirect(url_for("staff_receivables.companies"), 303)


# -- overdue invoices -------------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    order: Order
    company: str
    owed: Decimal
    days: int


def overdue(today: date) -> list[Overdue]:
    """Open invoices whose due date is before ``today``, the oldest due first."""
    return [
        Overdue(order, order.company.name if order.company is not None
                else order.billing_address.get("company") or order.email,
                _owed(order), (today - order.due_date).days)
        for order in _open_orders(Order.due_date.is_not(None), Order.due_date < today)
    ]


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (a company named "=HYPERLINK(...)")."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(rows: list[Overdue]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Order"), _("Company"), _("Amount due incl. VAT"), _("Currency"),
                     _("Due date"), _("Days overdue")])
    for row in rows:
        writer.writerow([_safe_cell(x) for x in (
            row.order.number, row.company, str(row.owed), row.order.currency,
            row.order.due_date.isoformat(), row.days)])
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition":
                             'attachment; filename="overdue-invoices.csv"'})


@bp.route("/invoices/overdue")
def overdue_invoices() -> Any:
    today = shop_today(g.tenant)
    rows = overdue(today)
    if request.args.get("format") == "csv":
        return _csv(rows)
    totals = _by_currency([(row.order.currency, row.owed) for row in rows])
    return render("staff/overdue.html", rows=rows, totals=totals, today=today)
