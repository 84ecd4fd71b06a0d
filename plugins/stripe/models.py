"""What the stripe plugin keeps: who is which Stripe customer, each payment attempt, and
every webhook event received.

Events are stored before they are processed, under a unique ``(tenant_id, event_id)``: a
delivery Stripe repeats (it retries until it gets a 2xx, and may send an event twice) finds
its row already there and is acknowledged without being processed again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKeyConstraint, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.toolkit import TenantScoped, db

#: Statuses of a payment attempt, as Stripe names its PaymentIntent's, plus ours.
OPEN = ("requires_payment_method", "requires_confirmation", "requires_action", "processing")
SUCCEEDED = "succeeded"
#: The money arrived but not the amount the order asked for: never settles the order.
MISMATCH = "amount_mismatch"


def _now() -> datetime:
    return datetime.now(UTC)


class StripeCustomer(TenantScoped, db.Model):
    """A shop customer's Stripe customer, which holds the cards they chose to keep."""

    __tablename__ = "stripe_customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    customer_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class StripePayment(TenantScoped, db.Model):
    """One PaymentIntent made for an order: the amount asked, and its last known status."""

    __tablename__ = "stripe_payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "intent_id"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(index=True)
    intent_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(40))
    #: "Visa •••• 4242", for the order page and the staff.
    card: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                 onupdate=_now)


class StripeEvent(TenantScoped, db.Model):
    """A webhook event as received, and what processing it did."""

    __tablename__ = "stripe_events"
    __table_args__ = (UniqueConstraint("tenant_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: ``settled``, ``ignored``, ``rejected: <why>``...: what the job made of it.
    outcome: Mapped[str] = mapped_column(String(200), default="")
