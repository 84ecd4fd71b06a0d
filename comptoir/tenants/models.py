"""Tenants: country offices and the resellers attached to them.

These are platform tables, not tenant-owned ones: resolving a request needs a reseller's row
and its office's together, before any tenant is active. Tenant business data (products,
customers, orders...) lives in :class:`~comptoir.core.scoping.TenantScoped` tables instead.
Columns a reseller leaves empty (locale, currency, theme, plugin settings...) are inherited
from its office when the tenant is resolved, see :mod:`comptoir.tenants.directory`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db

OFFICE = "office"
RESELLER = "reseller"
KINDS = (OFFICE, RESELLER)

#: A tenant's status: an active shop serves; a suspended one answers every request with a
#: 503 "closed for the moment" page and keeps all its data (see docs/platform-admin.md).
ACTIVE = "active"
SUSPENDED = "suspended"
STATUSES = (ACTIVE, SUSPENDED)


def _now() -> datetime:
    return datetime.now(UTC)


class Tenant(db.Model):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    locale: Mapped[str | None] = mapped_column(String(16))
    currency: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str | None] = mapped_column(String(64))
    theme: Mapped[str | None] = mapped_column(String(64))
    primary_color: Mapped[str | None] = mapped_column(String(7))
    accent_color: Mapped[str | None] = mapped_column(String(7))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(String(40))
    public: Mapped[bool] = mapped_column(default=True)
    #: Localisation and shop settings (languages, price display, VAT options...), validated
    #: by :mod:`comptoir.tenants.settings`; a reseller's fill in over its office's where the
    #: office allows it.
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE, server_default=ACTIVE)
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Why the platform admin suspended it; for the platform's eyes only, never shown to
    #: the shop's visitors.
    suspension_reason: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Tenant | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Tenant]] = relationship(back_populates="parent")
    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.domain"
    )
    plugins: Mapped[list[TenantPlugin]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantPlugin.plugin"
    )

    @property
    def office(self) -> Tenant:
        """The country office this tenant belongs to (itself for an office)."""
        return self.parent if self.parent is not None else self

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantDomain(db.Model):
    """A custom domain (``shop.acme.fr``) that serves one tenant's storefront."""

    __tablename__ = "tenant_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class TenantPlugin(db.Model):
    """A tenant's word on one plugin: on or off, and its own settings.

    ``enabled`` ``None`` (or no row) means "as my office says"; an office that says nothing
    has the plugin off. Settings hold only what this tenant set; the office's fill the rest.
    """

    __tablename__ = "tenant_plugins"
    __table_args__ = (UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    plugin: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool | None] = mapped_column(default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    tenant: Mapped[Tenant] = relationship(back_populates="plugins")


class PlatformState(db.Model):
    """One row of counters every process can read cheaply.

    ``tenants_generation`` grows whenever a tenant, its domains or its plugins change, so each
    process's tenant cache knows when to forget what it resolved (see the directory module).
    """

    __tablename__ = "platform_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenants_generation: Mapped[int] = mapped_column(default=0)
