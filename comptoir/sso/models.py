"""A company's OpenID Connect configuration and the e-mail domains it claims.

Domains live in a table of their own so the database itself refuses a second claim on a
domain within one shop (``UNIQUE (tenant_id, domain)``): whoever owns ``example.com`` at a
shop decides how ``@example.com`` users log in there, and nobody else.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped

#: Roles a company admin may give to users created at their first SSO login.
DEFAULT_ROLES = ("buyer", "approver")


def _now() -> datetime:
    return datetime.now(UTC)


class CompanySSO(TenantScoped, db.Model):
    """One company's provider: at most one per company."""

    __tablename__ = "company_sso"
    __table_args__ = (
        UniqueConstraint("tenant_id", "company_id"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "company_id"], ["companies.tenant_id", "companies.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    #: Fernet token (key derived from SECRET_KEY, :mod:`comptoir.sso.secrets`), never shown.
    client_secret: Mapped[str] = mapped_column(Text)
    default_role: Mapped[str] = mapped_column(String(20), default="buyer")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                 onupdate=_now)

    domains: Mapped[list[SSODomain]] = relationship(
        back_populates="sso", cascade="all, delete-orphan", order_by="SSODomain.domain",
        primaryjoin="CompanySSO.id == SSODomain.sso_id", foreign_keys="SSODomain.sso_id",
    )


class SSODomain(TenantScoped, db.Model):
    """An e-mail domain a company claims; used for log-in only once the shop approved it."""

    __tablename__ = "company_sso_domains"
    __table_args__ = (
        UniqueConstraint("tenant_id", "domain"),
        ForeignKeyConstraint(["tenant_id", "sso_id"], ["company_sso.tenant_id", "company_sso.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sso_id: Mapped[int] = mapped_column(index=True)
    domain: Mapped[str] = mapped_column(String(253))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    sso: Mapped[CompanySSO] = relationship(
        back_populates="domains",
        primaryjoin="CompanySSO.id == SSODomain.sso_id", foreign_keys="SSODomain.sso_id",
    )
