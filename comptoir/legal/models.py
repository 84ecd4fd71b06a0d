"""Legal pages, one per kind and language, written by the office and inherited by resellers.

Office-shared: a reseller shows its office's terms of sale until it writes its own (a
reseller is a separate company and may sell on its own terms), and cannot edit the office's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.core.db import db
from comptoir.core.scoping import OfficeShared

TERMS, NOTICE, PRIVACY = "terms", "legal-notice", "privacy"
KINDS = (TERMS, NOTICE, PRIVACY)


def _now() -> datetime:
    return datetime.now(UTC)


class LegalPage(OfficeShared, db.Model):
    __tablename__ = "legal_pages"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The language of the text (``fr``, ``de``); a Swiss shop keeps one per language.
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    #: Plain text; blank lines separate paragraphs. Shown escaped, never as HTML.
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                 onupdate=_now)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
