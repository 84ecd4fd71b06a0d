"""What the affiliates plugin keeps: who may earn commission, on what rules, which customer
and which order each brought, and the commission ledger with its payouts.

The ledger is append-only: a commission is one entry per order line when the order is paid,
a return adds a reversal entry for the units that came back, and a payout lists the entries
it pays (``affiliates_payout_entries``) instead of changing them. Whether an entry is
pending, payable or paid is read from the order (its return period) and from the payouts,
so nothing is ever rewritten and any statement can be recomputed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.toolkit import TenantScoped, db

#: The reseller itself, earning on every order of its storefront (from its office).
HOUSE = "house"
KINDS = (HOUSE, "affiliate", "manufacturer", "publisher", "partner_site")
PERCENT, FLAT = "percent", "flat"
COMMISSION, REVERSAL = "commission", "reversal"


def _now() -> datetime:
    return datetime.now(UTC)


class Affiliate(TenantScoped, db.Model):
    """Someone who earns commission on the orders they bring to this shop."""

    __tablename__ = "affiliates_partners"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What referral links carry: ``/r/<code>``; upper-case letters, digits and hyphens.
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="affiliate")
    #: Orders placed with this address are the affiliate's own: never a commission.
    email: Mapped[str] = mapped_column(String(254), default="")
    #: The affiliate's login in this shop, to see its own statement.
    user_id: Mapped[int | None] = mapped_column()
    #: Where payouts go: a Stripe Connect account (``acct_...``) or a bank reference.
    payout_account: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    rules: Mapped[list[Rule]] = relationship(
        back_populates="affiliate", cascade="all, delete-orphan",
        primaryjoin="Affiliate.id == Rule.affiliate_id", foreign_keys="Rule.affiliate_id",
        order_by="(Rule.category, Rule.min_monthly_volume)")


class Rule(TenantScoped, db.Model):
    """One commission rule: a percentage of the line's net amount (tax and shipping never
    count) or a flat amount per unit, for one category or all, from a monthly volume on."""

    __tablename__ = "affiliates_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "affiliate_id", "category", "min_monthly_volume"),
        ForeignKeyConstraint(["tenant_id", "affiliate_id"],
                             ["affiliates_partners.tenant_id", "affiliates_partners.id"],
                             ondelete="CASCADE"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("kind <> 'percent' OR value <= 100", name="percent_at_most_100"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    affiliate_id: Mapped[int] = mapped_column(index=True)
    #: A category slug, or "" for every category.
    category: Mapped[str] = mapped_column(String(80), default="")
    kind: Mapped[str] = mapped_column(String(10), default=PERCENT)
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: The tier: the rule applies once the affiliate's month reaches this net volume.
    min_monthly_volume: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))

    affiliate: Mapped[Affiliate] = relationship(
        back_populates="rules", primaryjoin="Affiliate.id == Rule.affiliate_id",
        foreign_keys=[affiliate_id])


class Binding(TenantScoped, db.Model):
    """A customer belongs to the affiliate who brought them, for life."""

    __tablename__ = "affiliates_bindings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "affiliate_id"],
                             ["affiliates_partners.tenant_id", "affiliates_partners.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    affiliate_id: Mapped[int] = mapped_column(index=True)
    #: ``link`` (a referral link's cookie), ``storefront`` (the reseller's own shop),
    #: ``coupon`` (a coupon bound to the affiliate), ``staff`` (moved by staff).
    source: Mapped[str] = mapped_column(String(20))
    bound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class BindingChange(TenantScoped, db.Model):
    """Audit of a binding moved by staff: who, when, from whom to whom, why."""

    __tablename__ = "affiliates_binding_changes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    from_affiliate_id: Mapped[int | None] = mapped_column()
    to_affiliate_id: Mapped[int] = mapped_column()
    actor: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Attribution(TenantScoped, db.Model):
    """Which affiliate an order is credited to, decided once when it is placed."""

    __tablename__ = "affiliates_orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "affiliate_id"],
                             ["affiliates_partners.tenant_id", "affiliates_partners.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column()
    affiliate_id: Mapped[int] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Entry(TenantScoped, db.Model):
    """One line of the commission ledger; never updated, never deleted."""

    __tablename__ = "affiliates_ledger"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"]),
        ForeignKeyConstraint(["tenant_id", "affiliate_id"],
                             ["affiliates_partners.tenant_id", "affiliates_partners.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    affiliate_id: Mapped[int] = mapped_column(index=True)
    order_id: Mapped[int] = mapped_column(index=True)
    order_line_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(12))
    #: Signed: a reversal is negative.
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    #: The net amount the commission was computed on (signed like ``amount``).
    base: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: Units covered: the line's quantity for a commission, minus the returned units.
    units: Mapped[int] = mapped_column()
    category: Mapped[str] = mapped_column(String(80), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)


class Payout(TenantScoped, db.Model):
    """A statement of what an affiliate is paid for a period, then its payment."""

    __tablename__ = "affiliates_payouts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "affiliate_id"],
                             ["affiliates_partners.tenant_id", "affiliates_partners.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    affiliate_id: Mapped[int] = mapped_column(index=True)
    reference: Mapped[str] = mapped_column(String(60))
    period_end: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default="open")
    paid_reference: Mapped[str] = mapped_column(String(120), default="")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    affiliate: Mapped[Affiliate] = relationship(
        primaryjoin="Affiliate.id == Payout.affiliate_id", foreign_keys=[affiliate_id])


class PayoutEntry(TenantScoped, db.Model):
    """An entry paid by a payout; an entry is in one payout at most."""

    __tablename__ = "affiliates_payout_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "entry_id"),
        ForeignKeyConstraint(["tenant_id", "payout_id"],
                             ["affiliates_payouts.tenant_id", "affiliates_payouts.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "entry_id"],
                             ["affiliates_ledger.tenant_id", "affiliates_ledger.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(index=True)
    entry_id: Mapped[int] = mapped_column()
