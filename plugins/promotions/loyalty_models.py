"""What loyalty points and sponsorship keep.

Points:

- :class:`PointsAccount`: one per customer account and shop, with the ``balance`` the
  checkout spends from. ``CHECK (balance >= 0)`` is the last lock: whatever the code does,
  the database refuses a negative balance. Every change to a balance is one guarded
  ``UPDATE`` on this row, so it is also the row concurrent checkouts queue on.
- :class:`PointsEntry`: the append-only ledger (``earn``, ``spend``, ``reverse``, ``expire``,
  ``reward``, ``adjust``); never updated, never deleted. The balance always equals the sum of
  an account's entries, which a test checks after every scenario.
- :class:`PointsLot`: the points of one positive entry, with the day they expire and how
  many are left. Spending, reversing and expiring draw from lots (oldest expiry first), and
  :class:`PointsDraw` records which lot gave how many, so expiry is exact (a lot expires with
  precisely what was not spent of it) and a cancelled order's points go back to the lots they
  came from, with their own expiry dates.

Sponsorship:

- :class:`InviteCode`: a customer's personal code (``/invite/<code>``);
- :class:`Sponsorship`: a friend bound to a sponsor, once (``friend_email`` is unique per
  shop), with the order that used the friend's welcome offer and the sponsor's reward.
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.toolkit import TenantScoped, db

EARN, SPEND, REVERSE, EXPIRE, REWARD, ADJUST = (
    "earn", "spend", "reverse", "expire", "reward", "adjust")
ENTRY_KINDS = (EARN, SPEND, REVERSE, EXPIRE, REWARD, ADJUST)

#: A sponsorship waits for the friend's first paid order to pass its withdrawal period.
PENDING, REWARDED = "pending", "rewarded"


def _now() -> datetime:
    return datetime.now(UTC)


class PointsAccount(TenantScoped, db.Model):
    """A customer's points in one shop: the balance the checkout spends from."""

    __tablename__ = "promotions_points_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    balance: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PointsEntry(TenantScoped, db.Model):
    """One line of an account's statement; never updated, never deleted.

    ``points`` is signed (a spend is negative). ``ref`` names what an entry is *for* when
    there may be only one (``earn:order:12``, ``spend:order:12``, ``reward:sponsorship:3``),
    and its uniqueness per shop makes recording twice impossible, whatever runs twice.
    """

    __tablename__ = "promotions_points_ledger"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "ref"),
        ForeignKeyConstraint(["tenant_id", "account_id"],
                             ["promotions_points_accounts.tenant_id",
                              "promotions_points_accounts.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"]),
        CheckConstraint("kind IN ('earn', 'spend', 'reverse', 'expire', 'reward', 'adjust')",
                        name="known_kind"),
        CheckConstraint("shortfall >= 0", name="shortfall_not_negative"),
        Index("ix_promotions_points_ledger_account", "tenant_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[int] = mapped_column()
    #: The order it is about (earn, spend, reverse), if any.
    order_id: Mapped[int | None] = mapped_column(index=True)
    #: The order's net amount the points were computed on (earn: the goods after
    #: discounts; spend: what the points took off), in the order's currency.
    basis: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: A reversal of earned points that found them spent already: how many it could not
    #: take back (the balance never goes below zero).
    shortfall: Mapped[int] = mapped_column(default=0)
    ref: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(254), default="system")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PointsLot(TenantScoped, db.Model):
    """The points one positive entry brought, with their expiry and what is left of them."""

    __tablename__ = "promotions_points_lots"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "account_id"],
                             ["promotions_points_accounts.tenant_id",
                              "promotions_points_accounts.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "entry_id"],
                             ["promotions_points_ledger.tenant_id",
                              "promotions_points_ledger.id"], ondelete="CASCADE"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_range"),
        Index("ix_promotions_points_lots_open", "tenant_id", "account_id", "remaining",
              "expires_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column()
    entry_id: Mapped[int] = mapped_column()
    points: Mapped[int] = mapped_column()
    remaining: Mapped[int] = mapped_column()
    earned_on: Mapped[date] = mapped_column(Date)
    #: The last day the points may be spent (in the shop's time zone); ``None``: never.
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: When the customer was told these points expire soon (once per lot).
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PointsDraw(TenantScoped, db.Model):
    """How many points an entry took from (or, negative, gave back to) one lot."""

    __tablename__ = "promotions_points_draws"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "entry_id"],
                             ["promotions_points_ledger.tenant_id",
                              "promotions_points_ledger.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "lot_id"],
                             ["promotions_points_lots.tenant_id",
                              "promotions_points_lots.id"], ondelete="CASCADE"),
        CheckConstraint("points <> 0", name="points_not_zero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(index=True)
    lot_id: Mapped[int] = mapped_column(index=True)
    points: Mapped[int] = mapped_column()


class InviteCode(TenantScoped, db.Model):
    """A customer's personal invite code, made the first time they open their invite page."""

    __tablename__ = "promotions_invite_codes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Sponsorship(TenantScoped, db.Model):
    """A friend who came through a sponsor's invite link, bound once and for good.

    Made when the friend's account is created with the invite cookie, or when a first order
    uses the friend's welcome offer (a guest: the account comes after the order).
    ``friend_email`` (lower case) is unique per shop: a customer has at most one sponsor.
    """

    __tablename__ = "promotions_sponsorships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "friend_email"),
        UniqueConstraint("tenant_id", "friend_id"),
        # Named: the convention names a foreign key after its first column (tenant_id),
        # and two of them point at ``users`` here.
        ForeignKeyConstraint(["tenant_id", "sponsor_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE", name="fk_promotions_sponsorships_sponsor"),
        ForeignKeyConstraint(["tenant_id", "friend_id"], ["users.tenant_id", "users.id"],
                             ondelete="CASCADE", name="fk_promotions_sponsorships_friend"),
        CheckConstraint("friend_id IS NULL OR friend_id <> sponsor_id", name="not_self"),
        CheckConstraint("status IN ('pending', 'rewarded')", name="known_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(index=True)
    friend_id: Mapped[int | None] = mapped_column()
    friend_email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    #: The order that used the friend's welcome offer (given back if it is cancelled).
    offer_order_id: Mapped[int | None] = mapped_column()
    #: The friend's order that earned the sponsor's reward, and when.
    rewarded_order_id: Mapped[int | None] = mapped_column()
    rewarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reward_points: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
