"""The approvals plugin's tables: a company's decision chain, requests, technical reviews,
and their audit trail.

Every table is tenant-scoped and prefixed ``approvals_``; rows point at the core's companies,
users and orders through composite keys with ``tenant_id``, so the database itself refuses a
row that names another tenant's company or order.
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
    ForeignKeyConstraint,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.toolkit import TenantScoped, db

PENDING, APPROVED, REJECTED, SENT_BACK = "pending", "approved", "rejected", "sent_back"
STATUSES = (PENDING, APPROVED, REJECTED, SENT_BACK)
#: A technical reviewer's third answer: neither yes nor no, but "change this first".
CHANGES_PROPOSED = "changes_proposed"
REVIEW_STATUSES = (PENDING, APPROVED, REJECTED, CHANGES_PROPOSED)
CART, CONFIGURATION = "cart", "configuration"


def _now() -> datetime:
    return datetime.now(UTC)


class CompanyRule(TenantScoped, db.Model):
    """How a company's chain works: with ``sequential``, every budget approver up the chain
    approves in turn until one whose ceiling covers the amount; without, that one alone."""

    __tablename__ = "approvals_companies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "company_id"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column()
    sequential: Mapped[bool] = mapped_column(default=False)


class Member(TenantScoped, db.Model):
    """A person in a company's decision chain: whom they report to, what they may sign."""

    __tablename__ = "approvals_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE"),
        CheckConstraint("ceiling >= 0", name="ceiling_not_negative"),
        CheckConstraint("level >= 1", name="level_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column()
    #: 1 for a buyer; the chain climbs to the highest level.
    level: Mapped[int] = mapped_column(default=1)
    #: What this person may commit alone, excluding VAT, in the shop's currency.
    ceiling: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    #: The user this person reports to; ``None`` for the top of the chain.
    reports_to: Mapped[int | None] = mapped_column()
    #: May approve budgets (orders above a buyer's ceiling).
    budget: Mapped[bool] = mapped_column(default=False)
    #: May validate configurations technically.
    technical: Mapped[bool] = mapped_column(default=False)
    #: Who decides in this person's place until ``deputy_until`` (holidays, absence).
    deputy: Mapped[int | None] = mapped_column()
    deputy_until: Mapped[date | None] = mapped_column(Date)


class Request(TenantScoped, db.Model):
    """An order held until someone with the authority approves it."""

    __tablename__ = "approvals_requests"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column()
    company_id: Mapped[int] = mapped_column(index=True)
    requester_id: Mapped[int] = mapped_column()
    approver_id: Mapped[int] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    #: When the decider was last reminded (``comptoir approvals remind``); reminders go out
    #: at most once per ``reminder_hours``, so a cron running every few minutes is harmless.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Review(TenantScoped, db.Model):
    """A cart or a standard configuration submitted for technical validation.

    The lines are a snapshot taken at submission (sku, name, quantity): the reviewer judges
    what the buyer submitted, even if the cart or the configuration changes afterwards.
    The two user keys put the user column first so that their constraint names differ.
    """

    __tablename__ = "approvals_reviews"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["requester_id", "tenant_id"], ["users.id", "users.tenant_id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["reviewer_id", "tenant_id"], ["users.id", "users.tenant_id"],
                             ondelete="CASCADE"),
        CheckConstraint("kind IN ('cart', 'configuration')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(index=True)
    requester_id: Mapped[int] = mapped_column()
    reviewer_id: Mapped[int] = mapped_column(index=True)
    #: ``cart`` or ``configuration``.
    kind: Mapped[str] = mapped_column(String(20))
    #: The standard configuration's code and name; empty for a cart.
    configuration_code: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    #: ``[{"sku": ..., "name": ..., "quantity": ...}, ...]`` as submitted.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column()
    #: The reason of a rejection, or the changes proposed.
    note: Mapped[str] = mapped_column(Text, default="")


class Event(TenantScoped, db.Model):
    """One line of the audit trail, never changed: who did what to which request, when."""

    __tablename__ = "approvals_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(index=True)
    request_id: Mapped[int | None] = mapped_column(index=True)
    review_id: Mapped[int | None] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(254))
    #: ``submitted``, ``approved``, ``rejected``, ``sent_back``, ``endorsed``,
    #: ``chain_changed``, ``reminded``, ``delegated``, ``review_submitted``,
    #: ``review_approved``, ``review_rejected``, ``changes_proposed``.
    action: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
