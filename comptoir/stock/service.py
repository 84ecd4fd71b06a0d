"""The office's stock desk: availability, reservations, shop sales, receipts.

Every change is one guarded UPDATE (``... WHERE on_hand - reserved >= :quantity``), so
concurrent checkouts and shop sales never oversell: the database decides who got the last
unit, and the loser is told how many are left. Writes run in a session of their own, acting
as the office that owns the stock, and commit at once: a reseller's checkout reserves office
stock without ever holding office rows in its own transaction, and a checkout that fails
afterwards releases what it reserved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from comptoir.catalog.models import Variant
from comptoir.core.db import db
from comptoir.core.jobs import periodic
from comptoir.core.scoping import activate, deactivate
from comptoir.stock.models import (
    SHOP,
    StockLevel,
    StockLocation,
    StockMovement,
    StockReservation,
)

log = logging.getLogger("comptoir.stock")

HOLD_MINUTES = 30


class StockError(ValueError):
    """A stock operation was refused; nothing was changed."""


class Shortage(StockError):
    """Not enough of ``sku``: ``available`` is what is left."""

    def __init__(self, sku: str, wanted: int, available: int) -> None:
        self.sku, self.wanted, self.available = sku, wanted, available
        super().__init__(f"{sku}: {wanted} wanted, {available} available")


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def desk(office_id: int) -> Iterator[Session]:
    """A session of its own acting as the office ``office_id``; committed on success."""
    token = activate(office_id, office_id)
    session = db.session.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        deactivate(token)


def availability(variant_ids: Iterable[int]) -> dict[int, int]:
    """Units the web shop can sell now, per variant (read as the current tenant, which sees
    its office's stock)."""
    ids = list(variant_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .where(StockLevel.variant_id.in_(ids), StockLocation.sells_online.is_(True))
        .group_by(StockLevel.variant_id)
    ).all()
    found = {variant_id: int(total or 0) for variant_id, total in rows}
    return {i: found.get(i, 0) for i in ids}


def _take(session: Session, level_id: int, quantity: int, column: str) -> bool:
    """Atomically add ``quantity`` to ``reserved`` (or take it from ``on_hand``) if enough
    is available; False when another buyer was faster."""
    values = ({"reserved": StockLevel.reserved + quantity} if column == "reserved"
              else {"on_hand": StockLevel.on_hand - quantity})
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.id == level_id,
               StockLevel.on_hand - StockLevel.reserved >= quantity)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _journal(session: Session, level_id: int, kind: str, quantity: int, reference: str) -> None:
    session.add(StockMovement(level_id=level_id, at=_now(), kind=kind, quantity=quantity,
                              reference=reference))


def _levels(session: Session, variant_id: int, online_only: bool = True) -> list[StockLevel]:
    query = (select(StockLevel).join(StockLocation, StockLocation.id == StockLevel.location_id)
             .where(StockLevel.variant_id == variant_id))
    if online_only:
        query = query.where(StockLocation.sells_online.is_(True))
    # Warehouses first, then the fullest shelves.
    return list(session.scalars(query.order_by(
        (StockLocation.kind == SHOP), (StockLevel.on_hand - StockLevel.reserved).desc())))


def reserve(office_id: int, reference: str, lines: Iterable[tuple[Variant, int]], *,
            committed: bool = False, minutes: int = HOLD_MINUTES) -> None:
    """Hold ``quantity`` of each variant for ``reference``, all or nothing.

    :raises Shortage: naming the first variant that is short, with what is left.
    """
    wanted = list(lines)
    status = "committed" if committed else "held"
    expires = None if committed else _now() + timedelta(minutes=minutes)
    with desk(office_id) as session:
        for variant, quantity in wanted:
            remaining = quantity
            for level in _levels(session, variant.id):
                take = min(remaining, level.available)
                if take > 0 and _take(session, level.id, take, "reserved"):
                    session.add(StockReservation(level_id=level.id, reference=reference,
                                                 quantity=take, status=status,
                                                 expires_at=expires))
                    _journal(session, level.id, "reserve", take, reference)
                    remaining -= take
                if remaining == 0:
                    break
            if remaining:
                session.rollback()  # undo this reference's earlier lines too
                left = availability_in(session, variant.id)
                raise Shortage(variant.sku, quantity, left)


def availability_in(session: Session, variant_id: int) -> int:
    return sum(max(level.available, 0) for level in _levels(session, variant_id))


def _claim(session: Session, hold_id: int, kinds: tuple[str, ...], status: str) -> bool:
    """Move one reservation from ``kinds`` to ``status``; False if someone else already did.

    The claim is one conditional UPDATE, so two staff members cancelling (or shipping and
    cancelling) at the same moment cannot both give the units back.
    """
    claimed = session.execute(
        update(StockReservation)
        .where(StockReservation.id == hold_id, StockReservation.status.in_(kinds))
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def _finish(owner_id: int, reference: str, status: str, kinds: tuple[str, ...]) -> int:
    """Move the reservations of ``reference`` out of ``kinds`` to ``status``."""
    done = 0
    with desk(owner_id) as session:
        holds = session.execute(select(StockReservation.id, StockReservation.level_id,
                                       StockReservation.quantity).where(
            StockReservation.reference == reference, StockReservation.status.in_(kinds))).all()
        for hold_id, level_id, quantity in holds:
            if not _claim(session, hold_id, kinds, status):
                continue
            changes: dict[str, Any] = {"reserved": StockLevel.reserved - quantity}
            if status == "shipped":
                changes["on_hand"] = StockLevel.on_hand - quantity
            session.execute(update(StockLevel).where(StockLevel.id == level_id)
                            .values(**changes).execution_options(synchronize_session=False))
            _journal(session, level_id, {"released": "release", "shipped": "ship"}[status],
                     quantity, reference)
            done += 1
    return done


def commit(office_id: int, reference: str) -> int:
    """Paid: what a checkout held for a limited time is now the order's, with no expiry.

    :return: how many holds were committed; fewer than the order's lines means some had
        already been released (the payment came after the hold ran out).
    """
    with desk(office_id) as session:
        done = session.execute(
            update(StockReservation)
            .where(StockReservation.reference == reference, StockReservation.status == "held")
            .values(status="committed", expires_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    return done


def released_holds(office_id: int, reference: str) -> int:
    """How many of ``reference``'s reservations at this desk were given back (a hold that
    ran out, a cancellation)."""
    with desk(office_id) as session:
        return len(session.scalars(select(StockReservation.id).where(
            StockReservation.reference == reference,
            StockReservation.status == "released")).all())


def release(office_id: int, reference: str) -> int:
    """Cancelled or abandoned: give the units back."""
    return _finish(office_id, reference, "released", ("held", "committed"))


def ship(office_id: int, reference: str) -> int:
    """Shipped: the units leave the shelves."""
    return _finish(office_id, reference, "shipped", ("committed",))


def restock(office_id: int, reference: str) -> int:
    """Returned goods go back on the shelves they left: everything ``reference`` still has
    out (``shipped``) from this office — a whole order sent back, or the rest of one after
    earlier partial returns (see :func:`restock_units`).

    :return: units put back.
    """
    with desk(office_id) as session:
        shipped = session.execute(select(StockReservation.id, StockReservation.level_id,
                                         StockReservation.quantity).where(
            StockReservation.reference == reference, StockReservation.status == "shipped")
            .order_by(StockReservation.id)).all()
        return sum(quantity for hold_id, level_id, quantity in shipped
                   if _put_back(session, reference, hold_id, level_id, quantity, quantity))


def restock_units(office_id: int, reference: str, units: Mapping[int, int]) -> dict[int, int]:
    """Part of a shipment came back: put ``units`` (``{variant id: quantity}``) back on the
    shelves they left, never more than ``reference`` has out from this office.

    A reservation that comes back in part is split: its ``shipped`` row keeps what the
    customer still has, and the units back join the order's ``returned`` row for that
    level (created the first time); each move is a ``return`` in the stock journal. A
    variant this desk never shipped for ``reference`` (another desk's, or not stocked) is
    left out of the answer, as are units beyond what was shipped.

    :return: units put back per variant id.
    :raises StockError: for a quantity that is not a whole number of 0 or more (nothing is
        changed then).
    """
    for variant_id, quantity in units.items():
        if (not isinstance(variant_id, int) or isinstance(quantity, bool)
                or not isinstance(quantity, int) or quantity < 0):
            raise StockError(f"cannot put back {quantity!r} of variant {variant_id!r}")
    done: dict[int, int] = {}
    with desk(office_id) as session:
        for variant_id, quantity in units.items():
            remaining = quantity
            shipped = session.execute(
                select(StockReservation.id, StockReservation.level_id,
                       StockReservation.quantity)
                .join(StockLevel, StockLevel.id == StockReservation.level_id)
                .where(StockReservation.reference == reference,
                       StockReservation.status == "shipped",
                       StockLevel.variant_id == variant_id)
                .order_by(StockReservation.id)).all()
            for hold_id, level_id, out in shipped:
                take = min(remaining, out)
                if take > 0 and _put_back(session, reference, hold_id, level_id, out, take):
                    remaining -= take
                    done[variant_id] = done.get(variant_id, 0) + take
    return done


def _put_back(session: Session, reference: str, hold_id: int, level_id: int, out: int,
              quantity: int) -> bool:
    """Move ``quantity`` units of the shipped reservation ``hold_id`` (seen with ``out``
    units) back to its shelf; False when someone else moved that reservation meanwhile.

    Every change to the shipped row is guarded by the status and quantity seen, so two
    staff members receiving the same parcel at once cannot both put the units back.
    """
    back = session.scalars(select(StockReservation.id).where(
        StockReservation.reference == reference, StockReservation.level_id == level_id,
        StockReservation.status == "returned")).first()
    if quantity == out and back is None:
        moved = _claim(session, hold_id, ("shipped",), "returned")
    else:
        seen = (StockReservation.id == hold_id, StockReservation.status == "shipped",
                StockReservation.quantity == out)
        change = (delete(StockReservation).where(*seen) if quantity == out
                  else update(StockReservation).where(*seen).values(quantity=out - quantity))
        moved = session.execute(
            change.execution_options(synchronize_session=False)).rowcount == 1
        if moved and back is not None:
            session.execute(update(StockReservation).where(StockReservation.id == back)
                            .values(quantity=StockReservation.quantity + quantity)
                            .execution_options(synchronize_session=False))
        elif moved:
            session.add(StockReservation(level_id=level_id, reference=reference,
                                         quantity=quantity, status="returned"))
    if moved:
        session.execute(update(StockLevel).where(StockLevel.id == level_id)
                        .values(on_hand=StockLevel.on_hand + quantity)
                        .execution_options(synchronize_session=False))
        _journal(session, level_id, "return", quantity, reference)
    return moved


def release_expired(office_id: int, now: datetime | None = None) -> int:
    """Give back what abandoned checkouts held past their time."""
    moment = now or _now()
    with desk(office_id) as session:
        references = set(session.scalars(select(StockReservation.reference).where(
            StockReservation.status == "held", StockReservation.expires_at < moment)))
    # Only what is still merely held: a hold committed meanwhile (the order was just paid)
    # is the order's, and each claim below is conditional on the "held" status.
    return sum(_finish(office_id, ref, "released", ("held",)) for ref in references)


@periodic("stock.release_expired", minutes=5)
def release_expired_everywhere() -> dict[str, int]:
    """Release expired holds at every office (stock belongs to offices only).

    The worker runs it every five minutes; ``comptoir stock release-expired`` runs it by
    hand or from cron. Returns ``{office slug: holds released}`` for the offices that had
    any.
    """
    from comptoir.tenants.models import Tenant

    offices = db.session.execute(
        select(Tenant.slug, Tenant.id).where(Tenant.parent_id.is_(None)).order_by(Tenant.slug)
    ).all()
    db.session.commit()  # each office's desk works in a session of its own
    done: dict[str, int] = {}
    for slug, office_id in offices:
        released = release_expired(office_id)
        if released:
            log.info("%s: released %s expired holds", slug, released)
            done[slug] = released
    return done


def _level(session: Session, location: str, sku: str) -> StockLevel:
    level = session.scalars(
        select(StockLevel)
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .join(Variant, Variant.id == StockLevel.variant_id)
        .where(StockLocation.code == location, Variant.sku == sku)
    ).first()
    if level is None:
        raise StockError(f"no stock of '{sku}' at '{location}'")
    return level


def sell_in_shop(office_id: int, location: str, sku: str, quantity: int,
                 reference: str = "") -> int:
    """A sale at a physical shop's till: the web sees the new availability at once.

    :return: units left at that location.
    """
    if not isinstance(quantity, int) or not 0 < quantity <= 10_000:
        raise StockError(f"quantity {quantity!r} must be a whole number from 1 to 10000")
    with desk(office_id) as session:
        level = _level(session, location, sku)
        if not _take(session, level.id, quantity, "on_hand"):
            raise Shortage(sku, quantity, level.available)
        _journal(session, level.id, "sale", quantity, reference)
        session.flush()
        session.refresh(level)
        left = level.available
        if left <= level.low_threshold:
            log.warning("low stock: %s at %s, %s left (threshold %s)", sku, location, left,
                        level.low_threshold)
        return left


def receive(office_id: int, location: str, sku: str, quantity: int,
            low_threshold: int | None = None) -> None:
    """Goods in: add to a location's stock, creating the level if it is the first."""
    if not isinstance(quantity, int) or not 0 <= quantity <= 1_000_000:
        raise StockError(f"quantity {quantity!r} must be a whole number from 0 to 1000000")
    with desk(office_id) as session:
        place = session.scalars(select(StockLocation).where(StockLocation.code == location)).first()
        variant = session.scalars(select(Variant).where(Variant.sku == sku)).first()
        if place is None or variant is None:
            raise StockError(f"no location '{location}'" if place is None else f"no SKU '{sku}'")
        level = session.scalars(select(StockLevel).where(
            StockLevel.location_id == place.id, StockLevel.variant_id == variant.id)).first()
        if level is None:
            level = StockLevel(location_id=place.id, variant_id=variant.id, on_hand=0,
                               reserved=0, low_threshold=low_threshold or 0)
            session.add(level)
            session.flush()
        session.execute(update(StockLevel).where(StockLevel.id == level.id)
                        .values(on_hand=StockLevel.on_hand + quantity)
                        .execution_options(synchronize_session=False))
        if low_threshold is not None:
            level.low_threshold = low_threshold
        _journal(session, level.id, "receipt", quantity, "")


def low_stock() -> list[dict[str, Any]]:
    """Levels at or below their threshold, for the staff's alert list, each with a
    proposed supplier order: enough to get back to twice the threshold."""
    from comptoir.catalog.models import Product

    rows = db.session.execute(
        select(StockLevel, StockLocation.code, StockLocation.name, Variant.sku, Product.name)
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .join(Variant, Variant.id == StockLevel.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(StockLevel.on_hand - StockLevel.reserved <= StockLevel.low_threshold)
        .order_by(Variant.sku, StockLocation.code)
    ).all()
    return [{
        "code": code, "location": location, "sku": sku, "name": name,
        "available": level.available, "threshold": level.low_threshold,
        "propose": max(level.low_threshold * 2 - level.available, 1),
    } for level, code, location, sku, name in rows]


def create_location(code: str, name: str, kind: str = "warehouse",
                    sells_online: bool = True) -> StockLocation:
    """A warehouse or a physical shop of the current (office) tenant."""
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", code):
        raise StockError(f"location code '{code}' must be lower-case letters, digits, hyphens")
    if kind not in ("warehouse", SHOP):
        raise StockError(f"kind '{kind}' must be warehouse or shop")
    if db.session.scalars(select(StockLocation.id).where(StockLocation.code == code)).first():
        raise StockError(f"a location '{code}' exists already")
    location = StockLocation(code=code, name=name, kind=kind, sells_online=sells_online)
    db.session.add(location)
    return location
