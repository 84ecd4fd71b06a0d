"""Stock per location (warehouse, physical shop), and what checkouts hold of it.

Stock belongs to the country office, which delivers for its resellers (the seed's WStore
"delivers and invoices" for its VARs): a reseller's shop reads its office's availability and
reserves through the office's stock desk (:mod:`comptoir.stock.service`), never by writing
office rows itself. Availability is ``on_hand - reserved``, changed only by single guarded
UPDATEs, so two checkouts can never both take the last unit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db
from comptoir.core.scoping import OfficeShared, TenantScoped

WAREHOUSE, SHOP = "warehouse", "shop"


class StockLocation(OfficeShared, db.Model):
    __tablename__ = "stock_locations"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), UniqueConstraint("tenant_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default=WAREHOUSE)
    #: Whether the web shop sells from here (a showroom may keep its stock for walk-ins).
    sells_online: Mapped[bool] = mapped_column(default=True)


class StockLevel(OfficeShared, db.Model):
    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "location_id", "variant_id"),
        ForeignKeyConstraint(["tenant_id", "location_id"],
                             ["stock_locations.tenant_id", "stock_locations.id"],
                             ondelete="CASCADE"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("low_threshold >= 0", name="threshold_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"),
                                            index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    #: At or below this many available, staff are alerted and a supplier order proposed.
    low_threshold: Mapped[int] = mapped_column(default=0)

    location: Mapped[StockLocation] = relationship(
        primaryjoin="StockLocation.id == StockLevel.location_id", foreign_keys=[location_id])

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockReservation(TenantScoped, db.Model):
    """Units held for one order line, kept by the office that holds the stock.

    ``held`` until the order is placed or the hold expires; ``committed`` for a placed order
    until it ships (``shipped``) or is cancelled (``released``); ``returned`` when the
    customer sent the units back. A partial return splits a shipped row: the shipped row
    keeps what the customer still has, a ``returned`` row (one per order and level) what
    came back, hence at most one row per order, level *and status*.
    """

    __tablename__ = "stock_reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("tenant_id", "reference", "level_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("stock_levels.id", ondelete="CASCADE"),
                                          index=True)
    #: Who holds it: ``<tenant slug>/<order number>``.
    reference: Mapped[str] = mapped_column(String(120), index=True)
    quantity: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="held")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StockMovement(TenantScoped, db.Model):
    """The office's stock journal: every sale, reservation, receipt and correction."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("stock_levels.id", ondelete="CASCADE"),
                                          index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))  # receipt, sale, reserve, release, ship, return
    quantity: Mapped[int] = mapped_column()
    reference: Mapped[str] = mapped_column(String(120), default="")
