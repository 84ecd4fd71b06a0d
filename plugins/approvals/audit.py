"""The audit trail as CSV, for the company admin (and their auditors' spreadsheets).

UTF-8 with a byte-order mark, because Excel reads a CSV without one in the machine's legacy
code page and mangles "é" and "Č". Dates are ISO 8601 in UTC, so rows sort as text and mean
the same in every office. A cell that starts with ``= + - @`` (or a tab or carriage return)
would be run as a formula by a spreadsheet — a note typed by a buyer is enough — so it is
prefixed with ``'``, as OWASP recommends against CSV injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from comptoir.toolkit import Order, db
from plugins.approvals.models import Event, Request

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as text a spreadsheet shows rather than evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC; SQLite gives back naive datetimes, which were stored in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows(company_id: int) -> list[list[Any]]:
    """Every event of the company, oldest first: date, actor, action, request, order,
    review, note."""
    numbers = {request_id: number for request_id, number in db.session.execute(
        select(Request.id, Order.number).join(Order, Order.id == Request.order_id)
        .where(Request.company_id == company_id)).all()}
    events = db.session.scalars(
        select(Event).where(Event.company_id == company_id).order_by(Event.at, Event.id))
    return [[iso_utc(e.at), e.actor, e.action, e.request_id or "",
             numbers.get(e.request_id, "") if e.request_id else "", e.review_id or "", e.note]
            for e in events]


def to_csv(header: Sequence[str], lines: Iterable[Sequence[Any]]) -> bytes:
    """The CSV file's bytes: BOM, header, then every line with formula-looking cells
    neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for line in lines:
        writer.writerow([safe_cell(cell) for cell in line])
    return (BOM + out.getvalue()).encode("utf-8")
