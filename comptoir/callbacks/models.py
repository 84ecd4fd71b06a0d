"""A callback task: who to call, why, about what, and the outcome once called."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped

OPEN, DONE, CANCELLED = "open", "done", "cancelled"
STATUSES = (OPEN, DONE, CANCELLED)


def _now() -> datetime:
    return datetime.now(UTC)


class CallbackTask(TenantScoped, db.Model):
    """One customer to call back."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        Index("ix_callback_tasks_status", "tenant_id", "status", "created_at"),
        UniqueConstraint("tenant_id", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    #: Why: ``browse_abandonment``, ``staff``, ``satisfaction``...
    reason: Mapped[str] = mapped_column(String(40))
    #: What the customer looked at: ``[{"sku": ..., "name": ...}]``.
    about: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    #: What the customer said ("wanted a colour printer"), recorded by whoever called.
    outcome: Mapped[str] = mapped_column(Text, default="")
    #: A key that makes a second request for the same thing a no-op (``views:<user>:<day>``).
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    done_by: Mapped[str] = mapped_column(String(254), default="")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
