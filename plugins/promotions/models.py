"""What the promotions plugin keeps: promotions (the rules), their coupon codes and batches
of unique codes, and what was used up: one redemption per order and promotion, usage
counters, and the claims of single-use codes.

- :class:`Promotion` and its :class:`Coupon` and :class:`Batch` rows are
  :class:`~comptoir.toolkit.OfficeShared`: an office writes them, its resellers read them and
  apply them when the office lets them (the office's ``resellers_inherit`` setting).
- :class:`Redemption`, :class:`Usage` and :class:`CodeClaim` are written by the shop where
  the order is booked (a reseller using its office's promotion writes its own rows: it may
  not write the office's). So the limits of an inherited promotion count per shop, except
  single-use codes: :class:`CodeClaim`'s ``coupon_id`` is unique across every tenant on
  purpose, so a newsletter code is used once whichever shop it is typed in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.toolkit import OfficeShared, TenantScoped, db

# What a promotion gives.
PERCENT, FIXED, FREE_SHIPPING, BUY_X_GET_Y = "percent", "fixed", "free_shipping", "bxgy"
KINDS = (PERCENT, FIXED, FREE_SHIPPING, BUY_X_GET_Y)
# On which goods.
CART, CATEGORY, PRODUCT = "cart", "category", "product"
SCOPES = (CART, CATEGORY, PRODUCT)
# How it is triggered: on its own, or by a code the buyer types.
AUTOMATIC, CODE = "automatic", "code"
TRIGGERS = (AUTOMATIC, CODE)
# Who may get it.
ALL, B2C, B2B, COMPANY, NEW_CUSTOMERS, SPENT_OVER, EMAILS = (
    "all", "b2c", "b2b", "company", "new_customers", "spent_over", "emails")
AUDIENCES = (ALL, B2C, B2B, COMPANY, NEW_CUSTOMERS, SPENT_OVER, EMAILS)
# A redemption's status: it counts while booked; a cancelled order gives its uses back.
BOOKED, CANCELLED = "booked", "cancelled"


def _now() -> datetime:
    return datetime.now(UTC)


class Promotion(OfficeShared, db.Model):
    """One promotion: what it gives (``kind``, ``value``) on which goods (``scope``), to
    whom (``audience``, ``first_order_only``), when (``starts_on``..``ends_on``, days in the
    shop's time zone, both included), how often (``max_uses`` in the shop,
    ``max_uses_per_customer`` per e-mail address) and whether it adds up with others."""

    __tablename__ = "promotions_promotions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("min_amount >= 0", name="min_amount_not_negative"),
        CheckConstraint("max_uses IS NULL OR max_uses >= 1", name="max_uses_positive"),
        CheckConstraint("max_uses_per_customer IS NULL OR max_uses_per_customer >= 1",
                        name="max_uses_per_customer_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the buyer reads on the cart, the order line and the invoice.
    name: Mapped[str] = mapped_column(String(120))
    #: For the staff only.
    note: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))
    #: A percentage for ``percent``, an amount excluding VAT for ``fixed``; unused otherwise.
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    scope: Mapped[str] = mapped_column(String(20), default=CART)
    #: A category slug (``category``) or SKUs separated by commas (``product``).
    scope_value: Mapped[str] = mapped_column(String(500), default="")
    #: Buy-X-get-Y: ``buy_quantity`` units bought, ``get_quantity`` free: the cheapest of
    #: each group of X+Y units in scope, or units of ``gift_sku`` when it is set.
    buy_quantity: Mapped[int] = mapped_column(default=0)
    get_quantity: Mapped[int] = mapped_column(default=0)
    gift_sku: Mapped[str] = mapped_column(String(64), default="")
    #: The goods' net (excluding VAT, before discounts) the cart must reach; 0: none.
    min_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    #: The welcome offer: only for a buyer with no earlier order that was not cancelled.
    first_order_only: Mapped[bool] = mapped_column(default=False)
    trigger: Mapped[str] = mapped_column(String(20), default=AUTOMATIC)
    audience: Mapped[str] = mapped_column(String(20), default=ALL)
    #: The company for ``company`` (one of this shop's).
    audience_company_id: Mapped[int | None] = mapped_column()
    #: The amount for ``spent_over``, the addresses for ``emails`` (commas or lines).
    audience_value: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    max_uses: Mapped[int | None] = mapped_column()
    max_uses_per_customer: Mapped[int | None] = mapped_column()
    #: Whether it adds up with other promotions; one that does not is given alone, or not
    #: at all when the others together give the buyer more.
    combinable: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    coupons: Mapped[list[Coupon]] = relationship(
        back_populates="promotion", primaryjoin="Promotion.id == Coupon.promotion_id",
        foreign_keys="Coupon.promotion_id", order_by="Coupon.id", viewonly=True)


class Batch(OfficeShared, db.Model):
    """A batch of unique single-use codes made at once (a newsletter, a partner's mailing),
    exported as CSV."""

    __tablename__ = "promotions_batches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "promotion_id"],
                             ["promotions_promotions.tenant_id", "promotions_promotions.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(12), default="")
    size: Mapped[int] = mapped_column()
    #: Every code of the batch credits this affiliate (its referral code), if set.
    affiliate_code: Mapped[str] = mapped_column(String(32), default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Coupon(OfficeShared, db.Model):
    """A code that triggers a promotion: a shared code (``BIENVENUE``, limited by the
    promotion's limits) or a unique single-use code of a batch."""

    __tablename__ = "promotions_coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "promotion_id"],
                             ["promotions_promotions.tenant_id", "promotions_promotions.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "batch_id"],
                             ["promotions_batches.tenant_id", "promotions_batches.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(index=True)
    batch_id: Mapped[int | None] = mapped_column(index=True)
    #: Upper-case letters, digits and hyphens, as the buyer types it (any case).
    code: Mapped[str] = mapped_column(String(40))
    single_use: Mapped[bool] = mapped_column(default=False)
    #: The affiliate (its referral code) an order using this code is credited to.
    affiliate_code: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    promotion: Mapped[Promotion] = relationship(
        back_populates="coupons", primaryjoin="Promotion.id == Coupon.promotion_id",
        foreign_keys=[promotion_id], viewonly=True)


class Redemption(TenantScoped, db.Model):
    """A promotion an order was given, written when the order is booked: the usage and
    revenue on the staff pages, the affiliate a coupon credits, the uses a cancelled order
    gives back. ``promotion_id`` and ``coupon_id`` may name the office's rows (no foreign
    key: a reseller's row may not point into another tenant's table)."""

    __tablename__ = "promotions_redemptions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id", "promotion_id"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
        Index("ix_promotions_redemptions_promotion", "tenant_id", "promotion_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(index=True)
    promotion_id: Mapped[int] = mapped_column()
    coupon_id: Mapped[int | None] = mapped_column()
    code: Mapped[str] = mapped_column(String(40), default="")
    #: The buyer's address, lower case: what per-customer limits count.
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column()
    #: What the promotion really took off, excluding VAT.
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    affiliate_code: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(20), default=BOOKED)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Usage(TenantScoped, db.Model):
    """How many booked orders used a promotion in this shop (``customer`` empty) or by one
    customer (their address): the row a guarded ``UPDATE ... SET used = used + 1 WHERE used
    < :limit`` claims, so two checkouts at once cannot both take the last use."""

    __tablename__ = "promotions_usage"
    __table_args__ = (
        UniqueConstraint("tenant_id", "promotion_id", "customer"),
        CheckConstraint("used >= 0", name="used_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column()
    customer: Mapped[str] = mapped_column(String(254), default="")
    used: Mapped[int] = mapped_column(default=0)


class CodeClaim(TenantScoped, db.Model):
    """A single-use code taken by an order. ``coupon_id`` is unique across all tenants on
    purpose (coupon ids are global): the INSERT of a second claim fails in the database even
    from a reseller's shop that cannot see the first one, so a code is used once."""

    __tablename__ = "promotions_code_claims"
    __table_args__ = (
        UniqueConstraint("coupon_id"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column()
    order_id: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
