"""Loyalty points: earned on paid orders, spent at checkout, taken back on returns, expiring.

- **Earning.** When an order is paid (the ``paid`` event, which also comes for an invoice paid
  after it shipped), its buyer's account gets ``points_per_unit`` points per unit of the
  goods' net amount after discounts (VAT and delivery never count), rounded down, once
  (``earn:order:<id>`` is unique). The points form a lot expiring ``points_expiry_months``
  later. A guest earns nothing until the account made right after the order exists; then the
  order's points are earned (:func:`customer_registered`).
- **Spending.** The customer chooses how many points to use (the form on the cart and the
  account page) and the choice is kept in the Flask session, keyed by shop (see
  :func:`choose_points` for why). :func:`discount` turns it into a discount on the goods,
  capped by the points the customer has and by what is left of the goods after the other
  promotions; :func:`claim` debits them when the order is booked, with one guarded
  ``UPDATE ... SET balance = balance - :n WHERE balance >= :n`` in the order's transaction:
  two checkouts at once queue on the account's row and the second finds the points gone, so
  it is refused with a sentence and nothing of it is kept.
- **Taking back.** A return takes back the points the returned goods earned (their share of
  the order's net), a cancellation all of them; the points spent on the order come back the
  same way, to the lots they came from. The balance never goes below zero: points already
  spent elsewhere are recorded as the reversal's ``shortfall``. Every reversal is computed as
  a difference from what was reversed already, so an event seen twice changes nothing.
- **Expiry.** Lots are spent oldest expiry first; a lot past its last day expires with exactly
  what is left of it (the periodic job ``promotions.expire_points``), and ``points_reminder_days``
  before that the customer is told once per lot through ``customer_event(...,
  "loyalty_points_expiring", points=..., expires_on=...)``, which the newsletters plugin
  turns into a reminder.

Every change to a balance goes through the account's row (a guarded ``UPDATE``, or a row
lock before reading the lots), so lots and balance never disagree.
"""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import has_request_context, session, url_for
from flask_babel import format_number
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import (
    Discount,
    Markup,
    Order,
    TenantInfo,
    as_tenant,
    customer_event,
    db,
    periodic,
    plugin_settings,
    plugin_translations,
    render_translated,
    returned_quantities,
    shop_today,
    tenants_with_plugin,
)
from plugins.promotions.loyalty_models import (
    ADJUST,
    EARN,
    EXPIRE,
    REVERSE,
    SPEND,
    PointsAccount,
    PointsDraw,
    PointsEntry,
    PointsLot,
)

log = logging.getLogger("comptoir.plugins.promotions")
translations = plugin_translations("plugins.promotions")
_ = translations.gettext

PLUGIN = "promotions"
#: ``order.discounts`` refs of points: ``promotions:points:<points>``.
REF_PREFIX = "promotions:points:"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: The most points one form may ask for (a sanity bound, far above any balance).
MAX_POINTS = 100_000_000


# -- settings -------------------------------------------------------------------------------


def settings(tenant: TenantInfo) -> dict[str, Any]:
    """The plugin's settings for ``tenant`` (a reseller's unset ones are its office's)."""
    return plugin_settings(PLUGIN, tenant)


def _decimal(value: Any, default: str) -> Decimal:
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(default)
    return found if found.is_finite() and found >= 0 else Decimal(default)


def enabled(tenant: TenantInfo) -> bool:
    """Whether the shop runs the loyalty programme (the plugin on and ``loyalty_enabled``)."""
    return PLUGIN in tenant.plugins and bool(settings(tenant).get("loyalty_enabled", True))


def point_value(tenant: TenantInfo) -> Decimal:
    """What one point takes off an order, excluding VAT; zero: points cannot be spent."""
    return _decimal(settings(tenant).get("point_value"), "0.01")


def points_per_unit(tenant: TenantInfo) -> Decimal:
    """Points earned per unit of the shop's currency (goods, excl. VAT, after discounts)."""
    return _decimal(settings(tenant).get("points_per_unit"), "1")


def points_for(tenant: TenantInfo, net: Decimal) -> int:
    """The points ``net`` (goods excluding VAT, after discounts) earns, rounded down."""
    if net <= 0:
        return 0
    return int((net * points_per_unit(tenant)).to_integral_value(rounding=ROUND_FLOOR))


def worth(tenant: TenantInfo, points: int) -> Decimal:
    """What ``points`` take off an order, excluding VAT."""
    return (points * point_value(tenant)).quantize(CENT, rounding=ROUND_FLOOR)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the 31st becomes the month's last day."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_for(tenant: TenantInfo, earned_on: date) -> date | None:
    """The last day points earned on ``earned_on`` may be spent; ``None``: they never expire."""
    months = int(settings(tenant).get("points_expiry_months") or 0)
    if months <= 0:
        return None
    return add_months(earned_on, months) - timedelta(days=1)


# -- accounts -------------------------------------------------------------------------------


def account_of(user_id: int) -> PointsAccount | None:
    """The customer's points account in the current shop, if they ever had points."""
    return db.session.scalars(select(PointsAccount).where(
        PointsAccount.user_id == user_id)).first()


def _account_for(user_id: int) -> PointsAccount:
    """The customer's account, made on first need; two first earnings at once make one."""
    found = account_of(user_id)
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            found = PointsAccount(user_id=user_id, balance=0)
            db.session.add(found)
    except IntegrityError:
        found = account_of(user_id)
        if found is None:
            raise
    return found


def _lock(account_id: int) -> PointsAccount:
    """The account's row, locked until the transaction ends (PostgreSQL; SQLite has one
    writer at a time), read afresh: whatever reads the lots next sees every change a
    concurrent transaction committed to them before it."""
    return db.session.scalars(
        select(PointsAccount).where(PointsAccount.id == account_id).with_for_update()
        .execution_options(populate_existing=True)).one()


def _debit(account_id: int, points: int) -> bool:
    """Take ``points`` off the balance if it holds them: the guarded UPDATE."""
    done = db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.id == account_id, PointsAccount.balance >= points)
        .values(balance=PointsAccount.balance - points)
        .execution_options(synchronize_session=False)).rowcount
    return done == 1


def _credit(account_id: int, points: int) -> None:
    db.session.execute(
        update(PointsAccount).where(PointsAccount.id == account_id)
        .values(balance=PointsAccount.balance + points)
        .execution_options(synchronize_session=False))


def _open_lots(account_id: int, today: date | None, first: int | None = None
               ) -> list[PointsLot]:
    """Lots with points left, the soonest to expire first (never-expiring ones last);
    ``today``: only those still valid that day; ``first``: that lot before the others."""
    query = select(PointsLot).where(PointsLot.account_id == account_id,
                                    PointsLot.remaining > 0)
    if today is not None:
        query = query.where((PointsLot.expires_on.is_(None)) | (PointsLot.expires_on >= today))
    lots = list(db.session.scalars(query.order_by(
        PointsLot.expires_on.is_(None), PointsLot.expires_on, PointsLot.id)
        .execution_options(populate_existing=True)))
    if first is not None:
        lots.sort(key=lambda lot: lot.id != first)  # stable: the rest keep their order
    return lots


def _draw(entry: PointsEntry, lots: list[PointsLot], points: int) -> int:
    """Take up to ``points`` from ``lots`` in order, recording each draw; returns how many."""
    taken = 0
    for lot in lots:
        if taken >= points:
            break
        step = min(lot.remaining, points - taken)
        if step <= 0:
            continue
        lot.remaining -= step
        db.session.add(PointsDraw(entry_id=entry.id, lot_id=lot.id, points=step))
        taken += step
    return taken


def _entry(account_id: int, kind: str, points: int, **fields: Any) -> PointsEntry:
    entry = PointsEntry(account_id=account_id, kind=kind, points=points, **fields)
    db.session.add(entry)
    db.session.flush()
    return entry


def _add_lot(tenant: TenantInfo, entry: PointsEntry, points: int) -> PointsLot:
    today = shop_today(tenant)
    lot = PointsLot(account_id=entry.account_id, entry_id=entry.id, points=points,
                    remaining=points, earned_on=today, expires_on=expiry_for(tenant, today))
    db.session.add(lot)
    return lot


def spendable(account: PointsAccount, today: date) -> int:
    """The points that may be spent ``today``: the balance less lots past their last day
    that the expiry job has not reached yet (an hourly job must not make them spendable)."""
    overdue = db.session.scalar(select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
        PointsLot.account_id == account.id, PointsLot.remaining > 0,
        PointsLot.expires_on < today))
    return max(account.balance - int(overdue or 0), 0)


def credit(tenant: TenantInfo, user_id: int, points: int, kind: str, *, ref: str | None,
           note: str = "", actor: str = "system", order_id: int | None = None,
           basis: Decimal | None = None) -> PointsEntry | None:
    """Give ``points`` (> 0) to a customer as a new lot: an earning, a sponsor's reward or
    a staff adjustment. ``None`` if ``ref`` was recorded already (nothing given twice).
    The caller commits."""
    if points <= 0:
        raise ValueError("points: expected a positive number")
    account = _account_for(user_id)
    _lock(account.id)
    if ref is not None and db.session.scalars(select(PointsEntry.id).where(
            PointsEntry.ref == ref)).first() is not None:
        return None
    entry = _entry(account.id, kind, points, ref=ref, note=note[:200], actor=actor[:254],
                   order_id=order_id, basis=basis)
    _add_lot(tenant, entry, points)
    _credit(account.id, points)
    return entry


def adjust(tenant: TenantInfo, user_id: int, points: int, actor: str, note: str
           ) -> PointsEntry:
    """Staff correct a customer's points by hand (a goodwill gesture, a mistake), with the
    reason kept on the statement; taking more than the customer has is refused.

    :raises ValueError: naming the problem; nothing is changed.
    """
    note = (note or "").strip()
    if not note:
        raise ValueError(_("Say why the points change; nothing was changed."))
    if not isinstance(points, int) or isinstance(points, bool) or points == 0 or abs(
            points) > MAX_POINTS:
        raise ValueError(_("Enter a whole number of points other than 0; nothing was "
                           "changed."))
    if points > 0:
        entry = credit(tenant, user_id, points, ADJUST, ref=None, note=note, actor=actor)
        db.session.commit()
        assert entry is not None
        return entry
    account = account_of(user_id)
    have = _lock(account.id).balance if account is not None else 0
    if account is None or not _debit(account.id, -points):
        db.session.rollback()
        raise ValueError(_("The customer has %(have)s points: %(asked)s cannot be taken; "
                           "nothing was changed.", have=format_number(have),
                           asked=format_number(-points)))
    entry = _entry(account.id, ADJUST, points, note=note[:200], actor=actor[:254])
    _draw(entry, _open_lots(account.id, None), -points)
    db.session.commit()
    return entry


# -- spending at checkout -------------------------------------------------------------------


def _state_key(tenant: TenantInfo) -> str:
    return f"promotions:{tenant.id}"


def chosen_points(tenant: TenantInfo, user: Any) -> int:
    """The points this customer chose to spend on the order under way (0: none)."""
    if user is None or not has_request_context():
        return 0
    state = session.get(_state_key(tenant))
    if not isinstance(state, dict) or state.get("points_user") != user.id:
        return 0
    points = state.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        return 0
    return points


def choose_points(tenant: TenantInfo, user: Any, points: int) -> None:
    """Keep the customer's choice for the order under way; 0 forgets it.

    In the Flask session, not in the database: it belongs to one checkout in one browser,
    is gone when the browser session ends, and needs no row to clean up. The session cookie
    is signed, so it cannot be forged; the points are checked against the balance at every
    summary and debited under a guard at booking anyway, so a stale choice can never spend
    what is not there. Keyed by shop (``promotions:<tenant id>``, shared with the coupon
    codes of :mod:`.discounts`: each writes its own keys) and by account (``points_user``), so
    neither another shop on the same host nor another login in the same browser inherits it.
    """
    key = _state_key(tenant)
    state = dict(session.get(key) or {})
    if points > 0:
        state.update(points=int(points), points_user=user.id)
    else:
        state.pop("points", None)
        state.pop("points_user", None)
    session[key] = state


def _goods_left(lines: Sequence[Any], before: Sequence[Discount]
                ) -> tuple[tuple[int, ...], Decimal]:
    """The goods lines' indexes and what is left of their net after ``before``.

    The core shares a discount among its lines in proportion to their net; this estimates
    the same sharing with every share rounded *up*, so what it leaves is never more than
    what the core leaves, and points computed on it are never capped by the core.
    """
    left = [Decimal(line.line_net) for line in lines]
    for given in before:
        targets = [i for i in dict.fromkeys(given.lines)
                   if isinstance(i, int) and 0 <= i < len(lines)]
        room = sum((left[i] for i in targets), ZERO)
        if room <= 0 or not isinstance(given.amount, Decimal):
            continue
        amount = min(given.amount.quantize(CENT, rounding=ROUND_HALF_UP), room)
        for i in targets:
            share = (amount * left[i] / room).quantize(CENT, rounding=ROUND_CEILING)
            left[i] = max(left[i] - share, ZERO)
    goods = tuple(i for i, line in enumerate(lines) if not line.is_shipping)
    return goods, sum((left[i] for i in goods), ZERO)


def points_label(points: int) -> str:
    """The discount's label on the order and the invoice: "500 loyalty points"."""
    return translations.ngettext("%(points)s loyalty point", "%(points)s loyalty points",
                                 points, points=format_number(points))


def discount(tenant: TenantInfo, user: Any, lines: Sequence[Any],
             before: Sequence[Discount] = ()) -> Discount | None:
    """The points the buyer chose, as a discount on the goods: at most the points they may
    spend today and what is left of the goods after ``before`` (the other discounts found
    for these lines), in whole points. ``None`` for a guest or no choice."""
    if user is None or not enabled(tenant):
        return None
    value = point_value(tenant)
    wanted = chosen_points(tenant, user)
    if value <= 0 or wanted <= 0:
        return None
    account = account_of(user.id)
    if account is None:
        return None
    goods, left = _goods_left(lines, before)
    room = int((left / value).to_integral_value(rounding=ROUND_FLOOR)) if left > 0 else 0
    points = min(wanted, spendable(account, shop_today(tenant)), room)
    if points <= 0 or not goods:
        return None
    return Discount(f"{REF_PREFIX}{points}", points_label(points), worth(tenant, points),
                    goods)


def _points_given(order: Order) -> list[tuple[int, Decimal]]:
    found = []
    for given in order.discounts or []:
        ref = str(given.get("ref", ""))
        if ref.startswith(REF_PREFIX) and ref[len(REF_PREFIX):].isdigit():
            found.append((int(ref[len(REF_PREFIX):]), Decimal(str(given.get("amount", "0")))))
    return found


def claim(tenant: TenantInfo, order: Order, user: Any) -> str | None:
    """Debit the points an order was given, in the order's transaction (the booking hook).

    The points debited are those the discount really gave (the core may have capped it):
    the amount divided by a point's value, rounded up, never more than the points named.
    Returns a sentence refusing the order when the points are no longer there (another
    checkout spent them a moment ago, or they expired since the summary): the buyer reads
    it, the order is not kept, the cart is unchanged and the next summary shows what is left.
    """
    given = _points_given(order)
    if not given:
        return None
    if user is None:
        return _("Loyalty points need an account: log in to use them.")
    value = point_value(tenant)
    if value <= 0 or not enabled(tenant):
        return _("This shop no longer takes loyalty points; please check the new total.")
    named = sum(points for points, _amount in given)
    amount = sum((amount for _points, amount in given), ZERO)
    points = min(named, int((amount / value).to_integral_value(rounding=ROUND_CEILING)))
    if points <= 0:
        return None
    account = account_of(user.id)
    if account is None or not _debit(account.id, points):
        left = db.session.scalar(select(PointsAccount.balance).where(
            PointsAccount.user_id == user.id)) or 0
        log.info("order %s refused: %s points asked, %s left", order.number, points, left)
        return translations.ngettext(
            "Your loyalty points were just used on another order: %(left)s point is left. "
            "Nothing was charged and your cart is unchanged; please check the new total.",
            "Your loyalty points were just used on another order: %(left)s points are left. "
            "Nothing was charged and your cart is unchanged; please check the new total.",
            left, left=format_number(left))
    entry = _entry(account.id, SPEND, -points, order_id=order.id, basis=amount,
                   ref=f"spend:order:{order.id}")
    today = shop_today(tenant)
    if _draw(entry, _open_lots(account.id, today), points) < points:
        return _("Some of your loyalty points expired since the summary was shown. Nothing "
                 "was charged; please check the new total.")
    return None


def forget_choice(tenant: TenantInfo, order: Order) -> None:
    """The order that spent the chosen points is placed: the next order starts with none."""
    if not has_request_context() or not _points_given(order):
        return
    state = session.get(_state_key(tenant))
    if isinstance(state, dict) and state.get("points_user") == order.user_id:
        choose_points(tenant, current_user, 0)


# -- earning and taking back ----------------------------------------------------------------


def _goods(order: Order) -> list[Any]:
    return [line for line in order.lines if not line.is_shipping]


def earn(tenant: TenantInfo, order: Order) -> PointsEntry | None:
    """The order is paid: its buyer earns its points, once. Commits."""
    if not enabled(tenant) or order.user_id is None or order.paid_at is None or (
            order.status in ("cancelled", "returned")):
        return None
    net = sum((line.line_net for line in _goods(order)), ZERO)
    points = points_for(tenant, net)
    if points <= 0:
        return None
    entry = credit(tenant, order.user_id, points, EARN, ref=f"earn:order:{order.id}",
                   order_id=order.id, basis=net)
    db.session.commit()
    if entry is not None:
        log.info("order %s: %s points earned", order.number, points)
        reverse(tenant, order)  # a return recorded before the payment (rare): catch up
    return entry


def _returned_share(order: Order) -> tuple[bool, Decimal]:
    """Whether everything is undone (cancelled, or every goods unit back), and else the
    share of the goods' net that came back."""
    goods = _goods(order)
    if order.status == "cancelled":
        return True, Decimal(1)
    back = returned_quantities(order)
    if goods and all(back.get(line.id, 0) >= line.quantity for line in goods):
        return True, Decimal(1)
    total = sum((line.line_net for line in goods), ZERO)
    if total <= 0:
        return False, ZERO
    value = sum((line.line_net * min(back.get(line.id, 0), line.quantity) / line.quantity
                 for line in goods), ZERO)
    return False, value / total


def _target(points: int, full: bool, share: Decimal) -> int:
    if full:
        return points
    return min(points, int((points * share).to_integral_value(rounding=ROUND_FLOOR)))


def reverse(tenant: TenantInfo, order: Order) -> list[PointsEntry]:
    """Undo what ``order`` earned and spent, for what came back (or all of it if cancelled),
    less what was undone already. Spent points come back first, to the lots they came
    from; earned points are then taken back from the order's own lot first, then from the
    others, never below zero (the rest is the entry's ``shortfall``). Commits."""
    entries = list(db.session.scalars(select(PointsEntry).where(
        PointsEntry.order_id == order.id).order_by(PointsEntry.id)))
    if not entries:
        return []
    full, share = _returned_share(order)
    account_id = entries[0].account_id
    _lock(account_id)
    # Read again under the lock: a concurrent reversal of the same order may have committed.
    entries = list(db.session.scalars(select(PointsEntry).where(
        PointsEntry.order_id == order.id).order_by(PointsEntry.id)
        .execution_options(populate_existing=True)))
    made = []
    spent = next((e for e in entries if e.kind == SPEND), None)
    if spent is not None:
        restored = sum(e.points for e in entries if e.kind == REVERSE and e.points > 0)
        todo = _target(-spent.points, full, share) - restored
        if todo > 0:
            made.append(_give_back(order, spent, todo, full))
    earned = next((e for e in entries if e.kind == EARN), None)
    if earned is not None:
        undone = sum(-e.points + e.shortfall for e in entries
                     if e.kind == REVERSE and e.points <= 0)
        todo = _target(earned.points, full, share) - undone
        if todo > 0:
            made.append(_take_back(order, earned, todo, full))
    db.session.commit()
    return made


def _why(order: Order, full: bool) -> str:
    return "order cancelled" if order.status == "cancelled" else (
        "order returned" if full else "goods returned")


def _give_back(order: Order, spent: PointsEntry, points: int, full: bool) -> PointsEntry:
    """Points spent on ``order`` come back to the lots they were drawn from, latest expiry
    first (a lot past its day expires again at the next run: exact either way)."""
    entry = _entry(spent.account_id, REVERSE, points, order_id=order.id,
                   note=_why(order, full), ref=None)
    drawn: dict[int, int] = defaultdict(int)
    for lot_id, taken in db.session.execute(select(PointsDraw.lot_id, PointsDraw.points).join(
            PointsEntry, PointsEntry.id == PointsDraw.entry_id).where(
            PointsEntry.order_id == order.id,
            PointsEntry.kind.in_((SPEND, REVERSE)),
            (PointsEntry.kind == SPEND) | (PointsEntry.points > 0))):
        drawn[lot_id] += taken
    lots = {lot.id: lot for lot in db.session.scalars(select(PointsLot).where(
        PointsLot.id.in_(list(drawn))).execution_options(populate_existing=True))}
    left = points
    for lot in sorted(lots.values(), key=lambda x: (x.expires_on or date.max, x.id),
                      reverse=True):
        step = min(left, drawn[lot.id], lot.points - lot.remaining)
        if step <= 0:
            continue
        lot.remaining += step
        db.session.add(PointsDraw(entry_id=entry.id, lot_id=lot.id, points=-step))
        left -= step
    if left > 0:
        raise RuntimeError(f"points of account {spent.account_id} disagree with its lots")
    _credit(spent.account_id, points)
    return entry


def _take_back(order: Order, earned: PointsEntry, points: int, full: bool) -> PointsEntry:
    account = _lock(earned.account_id)
    take = min(points, account.balance)
    entry = _entry(earned.account_id, REVERSE, -take, order_id=order.id,
                   shortfall=points - take, note=_why(order, full), ref=None)
    if take > 0:
        own = db.session.scalar(select(PointsLot.id).where(PointsLot.entry_id == earned.id))
        taken = _draw(entry, _open_lots(earned.account_id, None, first=own), take)
        if taken != take or not _debit(earned.account_id, take):
            raise RuntimeError(f"points of account {earned.account_id} disagree with its lots")
    if points > take:
        log.info("order %s: %s points could not be taken back (spent already)", order.number,
                 points - take)
    return entry


def order_event(tenant: TenantInfo, order: Order, event: str) -> None:
    """Earn on ``paid``; take back on ``partly_returned``, ``returned`` and ``cancelled``;
    forget the buyer's points choice once the order that used it is placed."""
    if event in ("placed", "held"):
        forget_choice(tenant, order)
    elif event == "paid":
        earn(tenant, order)
    elif event in ("partly_returned", "returned", "cancelled"):
        reverse(tenant, order)


def customer_registered(tenant: TenantInfo, user: Any) -> None:
    """A guest who made an account after ordering earns the points of the orders now theirs
    that were paid already (a card payment comes before the account)."""
    orders = db.session.scalars(select(Order).where(
        Order.user_id == user.id, Order.paid_at.is_not(None)).order_by(Order.id)).all()
    for order in orders:
        earn(tenant, order)


# -- expiry and reminders (periodic) --------------------------------------------------------


def expire_due(tenant: TenantInfo, today: date | None = None) -> int:
    """Expire, lot by lot, what is left of lots past their last day; returns the points
    expired. Commits per account."""
    today = today or shop_today(tenant)
    accounts = db.session.scalars(select(PointsLot.account_id).where(
        PointsLot.remaining > 0, PointsLot.expires_on < today).distinct()).all()
    db.session.commit()
    expired = 0
    for account_id in accounts:
        _lock(account_id)
        lots = db.session.scalars(select(PointsLot).where(
            PointsLot.account_id == account_id, PointsLot.remaining > 0,
            PointsLot.expires_on < today).order_by(PointsLot.expires_on, PointsLot.id)
            .execution_options(populate_existing=True)).all()
        for lot in lots:
            points = lot.remaining
            entry = _entry(account_id, EXPIRE, -points,
                           note=f"earned {lot.earned_on.isoformat()}, "
                                f"valid until {lot.expires_on.isoformat()}")
            if _draw(entry, [lot], points) != points or not _debit(account_id, points):
                db.session.rollback()
                raise RuntimeError(f"points of account {account_id} disagree with its lots")
            expired += points
        db.session.commit()
    return expired


def remind_due(tenant: TenantInfo, today: date | None = None) -> int:
    """Tell customers, once per lot, that points expire within ``points_reminder_days``:
    one ``loyalty_points_expiring`` event per customer and expiry day. Returns the events."""
    days = int(settings(tenant).get("points_reminder_days") or 0)
    if days <= 0:
        return 0
    today = today or shop_today(tenant)
    lots = db.session.scalars(select(PointsLot).where(
        PointsLot.remaining > 0, PointsLot.reminded_at.is_(None),
        PointsLot.expires_on >= today,
        PointsLot.expires_on <= today + timedelta(days=days))).all()
    due: dict[tuple[int, date], int] = defaultdict(int)
    now = datetime.now(UTC)
    for lot in lots:
        # Claimed lot by lot with a guarded UPDATE: two runs at once tell each lot once.
        claimed = db.session.execute(
            update(PointsLot).where(PointsLot.id == lot.id, PointsLot.reminded_at.is_(None))
            .values(reminded_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed == 1:
            due[(lot.account_id, lot.expires_on)] += lot.remaining
    db.session.commit()
    users = dict(db.session.execute(select(PointsAccount.id, PointsAccount.user_id).where(
        PointsAccount.id.in_({account for account, _day in due}))).all()) if due else {}
    # a core model the toolkit does not export yet
    from comptoir.customers.models import User

    told = 0
    for (account_id, day), points in sorted(due.items()):
        user = db.session.get(User, users[account_id])
        if user is None:
            continue
        customer_event(tenant, user, "loyalty_points_expiring", points=int(points),
                       expires_on=day.isoformat())
        told += 1
    db.session.commit()
    return told


@periodic("promotions.expire_points", minutes=60)
def expire_points_everywhere() -> int:
    """Hourly, in every shop with the plugin: expire what is past its day, and remind
    customers of what soon will be. One shop's failure is logged and does not stop the
    others. Returns the points expired."""
    expired = 0
    for tenant in tenants_with_plugin(PLUGIN):
        try:
            if not enabled(tenant):
                continue
            with as_tenant(tenant):
                expired += expire_due(tenant)
                remind_due(tenant)
        except Exception:
            db.session.rollback()
            log.exception("promotions.expire_points failed for %s", tenant.slug)
    return expired


# -- what the customer sees -----------------------------------------------------------------


def next_expiry(account: PointsAccount | None, today: date) -> tuple[int, date] | None:
    """The points that expire first and their last day, if any expire."""
    if account is None:
        return None
    row = db.session.execute(
        select(PointsLot.expires_on, func.sum(PointsLot.remaining))
        .where(PointsLot.account_id == account.id, PointsLot.remaining > 0,
               PointsLot.expires_on >= today)
        .group_by(PointsLot.expires_on).order_by(PointsLot.expires_on).limit(1)).first()
    return (int(row[1]), row[0]) if row is not None else None


def statement(user_id: int) -> tuple[PointsAccount | None, list[PointsEntry]]:
    """The customer's account and its entries, newest first."""
    account = account_of(user_id)
    if account is None:
        return None, []
    return account, list(db.session.scalars(select(PointsEntry).where(
        PointsEntry.account_id == account.id).order_by(PointsEntry.id.desc())))


def _customer() -> Any:
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user


def menu_items(tenant: TenantInfo) -> list[dict[str, str]] | None:
    """"My points" for a logged-in customer of a shop running the programme."""
    if _customer() is None or not enabled(tenant):
        return None
    return [{"label": _("My points"), "url": url_for("promotions_account.statement")}]


def page_block(tenant: TenantInfo, slot: str, context: dict[str, Any]) -> Any:
    """The cart's points form (a logged-in customer with points), and on an order's page
    the points it earned and used."""
    user = _customer()
    if user is None or not enabled(tenant):
        return None
    if slot == "cart":
        account = account_of(user.id)
        have = spendable(account, shop_today(tenant)) if account is not None else 0
        if have <= 0 or point_value(tenant) <= 0:
            return None
        return Markup(render_translated(
            translations, "promotions/_points_form.html", have=have,
            have_worth=worth(tenant, have), chosen=chosen_points(tenant, user),
            fmt=format_number, next="cart"))
    order = context.get("order") if slot == "order" else None
    if order is not None and order.user_id == user.id:  # a colleague's points are theirs
        entries = db.session.scalars(select(PointsEntry).where(
            PointsEntry.order_id == order.id).order_by(PointsEntry.id)).all()
        if not entries:
            return None
        earned = sum(e.points for e in entries if e.kind == EARN)
        spent = -sum(e.points for e in entries if e.kind == SPEND)
        undone = sum(e.points for e in entries if e.kind == REVERSE)
        return Markup(render_translated(
            translations, "promotions/_order_points.html", earned=earned, spent=spent,
            undone=undone, fmt=format_number))
    return None

