"""Quotes, their versions and their history.

A quote belongs to one company. Every change is a new version of its lines, kept: a signed
link names the version it was sent for, so an old e-mail cannot accept a superseded offer.
Prices are the agreed ones, excluding VAT; VAT is worked out when the quote becomes an
order, by the same engine as any order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped

#: A customer asked; the reseller sent an offer; the customer wants changes; accepted
#: (an order exists); declined by the customer.
REQUESTED, SENT, CHANGES_REQUESTED, ACCEPTED, DECLINED = (
    "requested", "sent", "changes_requested", "accepted", "declined")
STATUSES = (REQUESTED, SENT, CHANGES_REQUESTED, ACCEPTED, DECLINED)


def _now() -> datetime:
    return datetime.now(UTC)


class Quote(TenantScoped, db.Model):
    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"]),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column()
    company_id: Mapped[int] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(default=1)
    valid_until: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    #: The company user the offer is addressed to (who the signed link speaks for).
    recipient_id: Mapped[int | None] = mapped_column()
    order_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    lines: Mapped[list[QuoteLine]] = relationship(
        primaryjoin="Quote.id == QuoteLine.quote_id", foreign_keys="QuoteLine.quote_id",
        order_by="QuoteLine.id", cascade="all, delete-orphan", back_populates="quote")
    events: Mapped[list[QuoteEvent]] = relationship(
        primaryjoin="Quote.id == QuoteEvent.quote_id", foreign_keys="QuoteEvent.quote_id",
        order_by="QuoteEvent.id", cascade="all, delete-orphan")
    company = relationship("Company", primaryjoin="Company.id == Quote.company_id",
                           foreign_keys=[company_id])

    @property
    def current_lines(self) -> list[QuoteLine]:
        return [line for line in self.lines if line.version == self.version]

    @property
    def total_net(self) -> Decimal:
        return sum((line.unit_net * line.quantity for line in self.current_lines),
                   Decimal("0"))


class QuoteLine(TenantScoped, db.Model):
    """One item of one version, at the agreed unit price excluding VAT."""

    __tablename__ = "quote_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "quote_id"], ["quotes.tenant_id", "quotes.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "configuration_id"],
                             ["configurations.tenant_id", "configurations.id"]),
        CheckConstraint("(variant_id IS NULL) <> (configuration_id IS NULL)",
                        name="variant_xor_configuration"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_net >= 0", name="unit_net_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(index=True)
    version: Mapped[int] = mapped_column()
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    configuration_id: Mapped[int | None] = mapped_column()
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column()
    unit_net: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    quote: Mapped[Quote] = relationship(
        back_populates="lines", primaryjoin="Quote.id == QuoteLine.quote_id",
        foreign_keys=[quote_id])
    variant = relationship("Variant")
    configuration = relationship(
        "Configuration", primaryjoin="Configuration.id == QuoteLine.configuration_id",
        foreign_keys=[configuration_id])


class QuoteEvent(TenantScoped, db.Model):
    """The quote's history, never rewritten: who sent, changed, asked, accepted, when."""

    __tablename__ = "quote_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "quote_id"], ["quotes.tenant_id", "quotes.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
