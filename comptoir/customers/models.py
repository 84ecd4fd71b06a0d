"""Companies and users, both owned by one tenant.

An e-mail address is unique per tenant, not globally: the same buyer may hold accounts at
two resellers, and neither reseller may learn of the other account.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Numeric,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped

ROLES = ("customer", "company_admin", "buyer", "approver", "staff", "tenant_admin")


class Company(TenantScoped, db.Model):
    __tablename__ = "companies"
    # (tenant_id, id) is what other tenant tables reference, so the database itself refuses
    # a row pointing at another tenant's company.
    __table_args__ = (UniqueConstraint("tenant_id", "name"), UniqueConstraint("tenant_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    vat_number: Mapped[str | None] = mapped_column(String(32))
    #: A key account: its users see only the catalogue entries listed for it.
    restricted: Mapped[bool] = mapped_column(default=False)
    #: Days after the invoice date within which the company pays an invoice ("30 days net").
    payment_terms_days: Mapped[int] = mapped_column(default=30, server_default="30")

    users: Mapped[list[User]] = relationship(
        back_populates="company",
        primaryjoin="Company.id == User.company_id",
        foreign_keys="User.company_id",
    )


class User(UserMixin, TenantScoped, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="customer")
    company_id: Mapped[int | None] = mapped_column(index=True)
    #: An inactive user cannot log in and their open sessions end (comptoir.accounts).
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: When the user followed a verification link (or accepted an invitation); None: not yet.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    company: Mapped[Company | None] = relationship(
        back_populates="users",
        primaryjoin="Company.id == User.company_id",
        foreign_keys="User.company_id",
    )

    def set_password(self, password: str) -> None:
        """Store an argon2id hash of ``password`` (the policy is the caller's business:
        :func:`comptoir.accounts.passwords.check_policy`)."""
        from comptoir.accounts.passwords import hash_password

        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        """Whether ``password`` is this user's; an older kind of hash (werkzeug) that
        matches is replaced by an argon2id one, which the caller's commit stores."""
        from comptoir.accounts.passwords import verify_password

        ok, new_hash = verify_password(self.password_hash, password)
        if ok and new_hash is not None:
            self.password_hash = new_hash
        return ok

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users are not logged in
        return bool(self.active) if self.active is not None else True

    def get_id(self) -> str:
        # Bound to the tenant: a session cookie from one shop names no user in another.
        return f"{self.tenant_id}:{self.id}"


class PriceRule(TenantScoped, db.Model):
    """A company's negotiated price: a discount or a fixed price, the public price staying the
    reference.

    Scope, most specific first: a configuration or a product (discount or fixed price), a
    category (discount, including its sub-categories), or the whole catalogue (discount).
    """

    __tablename__ = "price_rules"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "configuration_id"],
                             ["configurations.tenant_id", "configurations.id"],
                             ondelete="CASCADE"),
        CheckConstraint("(discount_percent IS NULL) <> (fixed_price IS NULL)",
                        name="discount_xor_fixed"),
        CheckConstraint("discount_percent IS NULL OR "
                        "(discount_percent > 0 AND discount_percent < 100)",
                        name="discount_range"),
        CheckConstraint("fixed_price IS NULL OR fixed_price >= 0", name="fixed_not_negative"),
        CheckConstraint("fixed_price IS NULL OR product_id IS NOT NULL "
                        "OR configuration_id IS NOT NULL", name="fixed_needs_item"),
        CheckConstraint("(CASE WHEN product_id IS NULL THEN 0 ELSE 1 END) "
                        "+ (CASE WHEN category_id IS NULL THEN 0 ELSE 1 END) "
                        "+ (CASE WHEN configuration_id IS NULL THEN 0 ELSE 1 END) <= 1",
                        name="one_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"))
    configuration_id: Mapped[int | None] = mapped_column()
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    fixed_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class CatalogEntry(TenantScoped, db.Model):
    """One product or configuration a restricted company may see and buy."""

    __tablename__ = "company_catalog_entries"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "configuration_id"],
                             ["configurations.tenant_id", "configurations.id"],
                             ondelete="CASCADE"),
        CheckConstraint("(product_id IS NULL) <> (configuration_id IS NULL)",
                        name="product_xor_configuration"),
        UniqueConstraint("tenant_id", "company_id", "product_id", "configuration_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    configuration_id: Mapped[int | None] = mapped_column()


class CompanyAddress(TenantScoped, db.Model):
    """A delivery or billing address a company keeps for its orders."""

    __tablename__ = "company_addresses"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    is_default: Mapped[bool] = mapped_column(default=False)
