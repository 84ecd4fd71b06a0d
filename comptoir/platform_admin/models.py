"""Platform tables of the platform admin: who administers the platform, what plugins broke.

Both are platform tables (no ``tenant_id`` scoping, no row-level security): a platform admin
belongs to no tenant, and a plugin failure is recorded for the platform's operators whatever
tenant it happened in. Neither is ever read by a storefront.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.core.db import db


def _now() -> datetime:
    return datetime.now(UTC)


class PlatformAdmin(db.Model):
    """Someone who onboards, edits and suspends tenants; logs in on the platform host only.

    Not a :class:`comptoir.customers.models.User`: a user belongs to one shop and logs in
    through Flask-Login there, while a platform admin belongs to none, so the two never share
    a session key or a login form.
    """

    __tablename__ = "platform_admins"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Failed log-ins counted since ``failures_since`` (the throttle, see :mod:`.auth`).
    failed_logins: Mapped[int] = mapped_column(default=0)
    failures_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PluginFailure(db.Model):
    """How often one plugin's hook failed for one tenant, and the last message.

    Written by :func:`comptoir.platform_admin.errors.record` on a connection of its own, so
    a request that rolls back still leaves the trace. ``tenant_id`` is ``None`` for a
    failure outside any tenant (a platform page, a CLI command).
    """

    __tablename__ = "plugin_errors"
    __table_args__ = (UniqueConstraint("tenant_id", "plugin", "hook"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    plugin: Mapped[str] = mapped_column(String(64))
    hook: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_message: Mapped[str] = mapped_column(Text, default="")
