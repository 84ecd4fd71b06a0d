"""Companies and users, both owned by one tenant.

An e-mail address is unique per tenant, not globally: the same buyer may hold accounts at
two resellers, and neither reseller may learn of the other account.
"""

from __future__ import annotations

from flask_login import UserMixin
from sqlalchemy import ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

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

    users: Mapped[list[User]] = relationship(
        back_populates="company",
        primaryjoin="Company.id == User.company_id",
        foreign_keys="User.company_id",
    )


class User(UserMixin, TenantScoped, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="customer")
    company_id: Mapped[int | None] = mapped_column(index=True)

    company: Mapped[Company | None] = relationship(
        back_populates="users",
        primaryjoin="Company.id == User.company_id",
        foreign_keys="User.company_id",
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        # Bound to the tenant: a session cookie from one shop names no user in another.
        return f"{self.tenant_id}:{self.id}"
