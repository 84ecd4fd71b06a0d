"""The commission ledger: entries when an order is paid, reversals when goods come back,
and what each affiliate has earned, waits for, may be paid, and was paid.

Reversals are computed as a difference: the units a line should have reversed (what came
back, or everything for a cancelled order) minus the units already reversed. Running it twice,
or on events arriving in any order, never reverses twice; the last units reversed take the
remainder, so a line fully returned nets to exactly zero.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from comptoir.toolkit import (
    Order,
    TenantInfo,
    category_of,
    db,
    hooks,
    orders_with_open_return,
    return_deadline,
    shop_today,
)
from plugins.affiliates import rules
from plugins.affiliates.models import (
    COMMISSION,
    REVERSAL,
    Affiliate,
    Attribution,
    Entry,
    Payout,
    PayoutEntry,
)

log = logging.getLogger("comptoir.plugins.affiliates")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

PENDING, PAYABLE, IN_PAYOUT, PAID = "pending", "payable", "in_payout", "paid"


def month_volume(affiliate_id: int, moment: datetime) -> Decimal:
    """The net amount of the affiliate's commissioned lines so far this month (the tier)."""
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = db.session.scalar(select(func.coalesce(func.sum(Entry.base), 0)).where(
        Entry.affiliate_id == affiliate_id, Entry.at >= start))
    return Decimal(total or 0)


def record(tenant: TenantInfo, order: Order) -> list[Entry]:
    """The order is paid: one commission entry per goods line (shipping and VAT never
    count), once."""
    attribution = db.session.scalars(select(Attribution).where(
        Attribution.order_id == order.id)).first()
    if attribution is None:
        return []
    if db.session.scalars(select(Entry.id).where(Entry.order_id == order.id,
                                                 Entry.kind == COMMISSION)).first():
        return []
    affiliate = db.session.get(Affiliate, attribution.affiliate_id)
    now = datetime.now(UTC)
    volume = month_volume(affiliate.id, now)
    made = []
    for line in order.lines:
        if line.sku.startswith("SHIPPING-"):
            continue
        category = category_of(line.sku)
        rule = rules.choose(affiliate.rules, category, volume)
        amount = rules.commission(rule, line.line_net, line.quantity)
        answers = [a for a in hooks(tenant).comptoir_adjust_commission(
            tenant=tenant, affiliate=affiliate, line=line, amount=amount) if a is not None]
        if answers:
            amount = max(min(Decimal(a) for a in answers), ZERO).quantize(CENT)
        made.append(Entry(affiliate_id=affiliate.id, order_id=order.id,
                          order_line_id=line.id, kind=COMMISSION, amount=amount,
                          currency=order.currency, base=line.line_net, units=line.quantity,
                          category=category, at=now))
    db.session.add_all(made)
    db.session.commit()
    log.info("order %s: %s commission for %s", order.number,
             sum((e.amount for e in made), ZERO), affiliate.code)
    return made


def reverse(tenant: TenantInfo, order: Order, returned: dict[int, int]) -> list[Entry]:
    """Reverse the commission of the units in ``returned`` (order line id -> units that
    came back in all), minus what was reversed already."""
    by_line: dict[int, list[Entry]] = defaultdict(list)
    for entry in db.session.scalars(select(Entry).where(Entry.order_id == order.id)):
        by_line[entry.order_line_id].append(entry)
    made = []
    for line_id, entries in by_line.items():
        earned = [e for e in entries if e.kind == COMMISSION]
        if not earned:
            continue
        commission = earned[0]
        undone = -sum(e.units for e in entries if e.kind == REVERSAL)
        target = min(returned.get(line_id, 0), commission.units)
        todo = target - undone
        if todo <= 0:
            continue
        left = commission.amount + sum((e.amount for e in entries if e.kind == REVERSAL), ZERO)
        left_base = commission.base + sum((e.base for e in entries if e.kind == REVERSAL), ZERO)
        if target == commission.units:  # the last units take the remainder: nets to zero
            amount, base = left, left_base
        else:
            amount = (commission.amount * todo / commission.units).quantize(
                CENT, rounding=ROUND_HALF_UP)
            base = (commission.base * todo / commission.units).quantize(
                CENT, rounding=ROUND_HALF_UP)
        made.append(Entry(affiliate_id=commission.affiliate_id, order_id=order.id,
                          order_line_id=line_id, kind=REVERSAL, amount=-amount,
                          currency=commission.currency, base=-base, units=-todo,
                          category=commission.category,
                          note=f"{todo} returned" if order.status != "cancelled" else
                          "order cancelled"))
    db.session.add_all(made)
    db.session.commit()
    return made


# -- what an affiliate's entries are worth ------------------------------------------------


def order_settled(tenant: TenantInfo, order: Order, today: date,
                  returning: set[int] | None = None) -> bool:
    """Whether the order can no longer come back: its entries may be paid out.

    ``returning`` (the ids of orders with a return under way, as
    :func:`comptoir.toolkit.orders_with_open_return` gives them for many orders at once)
    spares a query per order when a whole page is read."""
    if order.status in ("cancelled", "returned"):
        return True
    if order.status != "delivered":
        return False
    deadline = return_deadline(tenant, order)
    if deadline is None or today <= deadline:
        return False
    if returning is not None:
        return order.id not in returning
    from comptoir.toolkit import open_return

    return open_return(order) is None


@dataclass
class Account:
    """An affiliate's consolidated account, per currency."""

    earned: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    pending: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    payable: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    in_payout: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    paid: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))


def statuses(tenant: TenantInfo, entries: list[Entry]) -> dict[int, str]:
    """Each entry's status: paid or in a payout (by its payout), else payable once its
    order is settled, else pending."""
    ids = [e.id for e in entries]
    payouts = dict(db.session.execute(
        select(PayoutEntry.entry_id, Payout.status)
        .join(Payout, Payout.id == PayoutEntry.payout_id)
        .where(PayoutEntry.entry_id.in_(ids))).all()) if ids else {}
    today = shop_today(tenant)
    # A bounded number of queries whatever the number of orders (the API lists 100 entries
    # a page): the orders with their events (the delivery date), then their open returns.
    orders = {o.id: o for o in db.session.scalars(select(Order).where(
        Order.id.in_({e.order_id for e in entries})).options(selectinload(Order.events)))
    } if entries else {}
    returning = orders_with_open_return(orders)
    settled = {oid: order_settled(tenant, o, today, returning) for oid, o in orders.items()}
    # A reversal whose commission was already in a payout is netted against the next one;
    # otherwise it waits with its commission, so the two cancel out while pending.
    reversed_lines = {e.order_line_id for e in entries if e.kind == REVERSAL}
    paid_out_lines = set(db.session.scalars(
        select(Entry.order_line_id).join(PayoutEntry, PayoutEntry.entry_id == Entry.id)
        .where(Entry.order_line_id.in_(reversed_lines), Entry.kind == COMMISSION)
    )) if reversed_lines else set()
    found = {}
    for entry in entries:
        if entry.id in payouts:
            found[entry.id] = PAID if payouts[entry.id] == "paid" else IN_PAYOUT
        elif settled.get(entry.order_id) or (
                entry.kind == REVERSAL and entry.order_line_id in paid_out_lines):
            found[entry.id] = PAYABLE
        else:
            found[entry.id] = PENDING
    return found


def account(tenant: TenantInfo, affiliate_id: int) -> Account:
    entries = list(db.session.scalars(select(Entry).where(Entry.affiliate_id == affiliate_id)))
    status = statuses(tenant, entries)
    summary = Account()
    for entry in entries:
        summary.earned[entry.currency] += entry.amount
        bucket = {PENDING: summary.pending, PAYABLE: summary.payable,
                  IN_PAYOUT: summary.in_payout, PAID: summary.paid}[status[entry.id]]
        bucket[entry.currency] += entry.amount
    return summary


def earned_by_order(order_ids: list[int]) -> dict[int, Decimal]:
    """Commission net of reversals, per order."""
    if not order_ids:
        return {}
    return {oid: Decimal(total) for oid, total in db.session.execute(
        select(Entry.order_id, func.sum(Entry.amount)).where(Entry.order_id.in_(order_ids))
        .group_by(Entry.order_id)).all()}


def unpaid_payable(tenant: TenantInfo, affiliate_id: int, until: date) -> list[Entry]:
    """Entries a payout may take: payable, in no payout yet, booked by ``until``."""
    entries = list(db.session.scalars(select(Entry).where(
        Entry.affiliate_id == affiliate_id,
        ~Entry.id.in_(select(PayoutEntry.entry_id))).order_by(Entry.id)))
    status = statuses(tenant, entries)
    return [e for e in entries if status[e.id] == PAYABLE
            and _day(e.at) <= until]


def _day(moment: datetime) -> date:
    return moment.date()


def summary_line(entries: list[Entry]) -> dict[str, Any]:
    total = sum((e.amount for e in entries), ZERO)
    return {"count": len(entries), "total": total}
