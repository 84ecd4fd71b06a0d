"""Carts and orders.

A cart survives logout and merges into the customer's own cart at login. An order copies
what was bought (SKU, name, prices, VAT rate) so that later catalogue changes never rewrite
history; its number is gapless per tenant, and every status change is kept in its audit
trail with who made it and when.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
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

# Order statuses, in the order an order usually goes through them.
PENDING_APPROVAL = "pending_approval"
#: Paid online (a card): the order waits for the payment provider's word, its stock held
#: for a limited time; abandoned, it is cancelled and the stock released.
AWAITING_PAYMENT = "awaiting_payment"
PLACED = "placed"
PAID = "paid"
SHIPPED = "shipped"
DELIVERED = "delivered"
CANCELLED = "cancelled"
RETURNED = "returned"
STATUSES = (PENDING_APPROVAL, AWAITING_PAYMENT, PLACED, PAID, SHIPPED, DELIVERED, CANCELLED,
            RETURNED)


def _now() -> datetime:
    return datetime.now(UTC)


class Cart(TenantScoped, db.Model):
    __tablename__ = "carts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id",
        primaryjoin="Cart.id == CartLine.cart_id", foreign_keys="CartLine.cart_id",
    )


class CartLine(TenantScoped, db.Model):
    __tablename__ = "cart_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "cart_id"], ["carts.tenant_id", "carts.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "configuration_id"],
                             ["configurations.tenant_id", "configurations.id"],
                             ondelete="CASCADE"),
        CheckConstraint("(variant_id IS NULL) <> (configuration_id IS NULL)",
                        name="variant_xor_configuration"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    configuration_id: Mapped[int | None] = mapped_column()
    quantity: Mapped[int] = mapped_column()
    #: The unit price the customer was shown when adding; a change is announced at checkout.
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    cart: Mapped[Cart] = relationship(
        back_populates="lines", primaryjoin="Cart.id == CartLine.cart_id",
        foreign_keys=[cart_id])
    variant = relationship("Variant")
    configuration = relationship(
        "Configuration", primaryjoin="Configuration.id == CartLine.configuration_id",
        foreign_keys=[configuration_id])


class OrderCounter(TenantScoped, db.Model):
    """The last order number of a tenant, bumped in the order's own transaction: gapless."""

    __tablename__ = "order_counters"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Order(TenantScoped, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "reference"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column()
    #: How the stock desk and payment providers name this order; made before the order
    #: itself, since its stock is reserved first.
    reference: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(index=True)
    company_id: Mapped[int | None] = mapped_column(index=True)
    billing_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    shipping_method: Mapped[str] = mapped_column(String(40))
    payment_method: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    total_net: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    total_vat: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    total_gross: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: VAT per rate, ``{"20": "200.00"}``, as printed on the invoice.
    vat_breakdown: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: The discounts the order was given, as plugins described them when it was booked:
    #: ``[{"ref": "promotions:coupon:12", "label": "BIENVENUE", "amount": "30.00"}]``
    #: (``amount`` excluding VAT). The lines carry the amounts; this names their causes.
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Whose VAT applied and why (see :mod:`comptoir.tax.basis`): the seller's country for a
    #: domestic sale, the destination's under OSS, none for reverse charge or export.
    tax_country: Mapped[str | None] = mapped_column(String(2))
    vat_regime: Mapped[str] = mapped_column(String(20), default="domestic")
    #: The buyer's VAT number as checked when the order was placed (reverse charge).
    buyer_vat_number: Mapped[str | None] = mapped_column(String(32))
    destination_country: Mapped[str | None] = mapped_column(String(2), index=True)
    expected_delivery: Mapped[date] = mapped_column(Date)
    #: When an invoice falls due: the order date plus the company's payment terms.
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    #: When the money arrived (the card payment confirmed, the transfer or invoice settled).
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id",
        primaryjoin="Order.id == OrderLine.order_id", foreign_keys="OrderLine.order_id",
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id",
        primaryjoin="Order.id == OrderEvent.order_id", foreign_keys="OrderEvent.order_id",
    )
    user = relationship("User", primaryjoin="User.id == Order.user_id",
                        foreign_keys=[user_id])
    company = relationship("Company", primaryjoin="Company.id == Order.company_id",
                           foreign_keys=[company_id])

    refunds: Mapped[list[Refund]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Refund.id",
        primaryjoin="Order.id == Refund.order_id", foreign_keys="Refund.order_id",
    )

    @property
    def refunded(self) -> Decimal:
        """What has been given back so far, VAT included."""
        return sum((refund.amount for refund in self.refunds), Decimal("0"))

    @property
    def refundable(self) -> Decimal:
        """What may still be given back: never more than was charged."""
        return self.total_gross - self.refunded

    @property
    def vat_by_rate(self) -> list[tuple[Decimal, Decimal, Decimal]]:
        """``(rate, base, VAT)`` per rate, as the invoice prints them: bases from the lines,
        VAT as it was computed (and rounded) when the order was placed."""
        from comptoir.tax.compute import rate_key

        bases: dict[Decimal, Decimal] = {}
        for line in self.lines:
            if line.vat_rate is not None:
                bases[line.vat_rate] = bases.get(line.vat_rate, Decimal("0")) + line.line_net
        return [(rate, base, Decimal(self.vat_breakdown.get(rate_key(rate), "0")))
                for rate, base in sorted(bases.items())]


class OrderLine(TenantScoped, db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("discount >= 0", name="discount_not_negative"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column()
    unit_public: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_net: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: ``unit_net × quantity − discount``: what the line costs, the base of its VAT, of a
    #: return's refund and of commissions.
    line_net: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: What promotions took off this line, excluding VAT (``0`` without any), and why.
    discount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    discount_label: Mapped[str] = mapped_column(String(200), default="")
    tax_class: Mapped[str] = mapped_column(String(20))
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    order: Mapped[Order] = relationship(
        back_populates="lines", primaryjoin="Order.id == OrderLine.order_id",
        foreign_keys=[order_id])

    @property
    def is_shipping(self) -> bool:
        """The delivery charged (``SHIPPING-EXPRESS``...): not goods, never sent back."""
        return self.sku.startswith("SHIPPING-")


class OrderEvent(TenantScoped, db.Model):
    """One line of an order's audit trail: who moved it from which status to which."""

    __tablename__ = "order_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(254))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[Order] = relationship(
        back_populates="events", primaryjoin="Order.id == OrderEvent.order_id",
        foreign_keys=[order_id])


class ReturnRequest(TenantScoped, db.Model):
    """A customer's withdrawal from a delivered order: requested, then accepted (or
    rejected) by staff, then received and refunded.

    ``lines`` say which goods lines go back and how many units of each; a request with no
    lines (made before returns went line by line) sends every goods line back in full.
    """

    __tablename__ = "order_returns"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    refund_reference: Mapped[str | None] = mapped_column(String(120))

    order: Mapped[Order] = relationship(
        primaryjoin="Order.id == ReturnRequest.order_id", foreign_keys=[order_id])
    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnLine.id",
        primaryjoin="ReturnRequest.id == ReturnLine.return_id",
        foreign_keys="ReturnLine.return_id",
    )


class ReturnLine(TenantScoped, db.Model):
    """Units of one order line asked back in a :class:`ReturnRequest`."""

    __tablename__ = "order_return_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "return_id"],
                             ["order_returns.tenant_id", "order_returns.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "order_line_id"],
                             ["order_lines.tenant_id", "order_lines.id"],
                             ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "return_id", "order_line_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(index=True)
    order_line_id: Mapped[int] = mapped_column(index=True)
    quantity: Mapped[int] = mapped_column()

    request: Mapped[ReturnRequest] = relationship(
        back_populates="lines", primaryjoin="ReturnRequest.id == ReturnLine.return_id",
        foreign_keys=[return_id])
    order_line: Mapped[OrderLine] = relationship(
        primaryjoin="OrderLine.id == ReturnLine.order_line_id", foreign_keys=[order_line_id])


class Refund(TenantScoped, db.Model):
    """Money given back on an order, in full or in part, through the way it was paid.

    One row per refund, never updated: the sum of an order's refunds can never pass what
    was charged (checked before the payment provider is asked), and each row keeps the
    provider's reference for the accountant.
    """

    __tablename__ = "order_refunds"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(index=True)
    return_id: Mapped[int | None] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    reference: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    order: Mapped[Order] = relationship(
        back_populates="refunds", primaryjoin="Order.id == Refund.order_id",
        foreign_keys=[order_id])
