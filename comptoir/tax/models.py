"""What the shop learnt about its customers' VAT numbers, kept as evidence.

A reverse-charge invoice rests on the buyer's VAT number being valid on the day of the sale;
when the office checks numbers with VIES, the answer (valid or not, the consultation
reference, the date) is stored here and the order points to the number it used.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped


def _now() -> datetime:
    return datetime.now(UTC)


class VatNumberCheck(TenantScoped, db.Model):
    __tablename__ = "vat_number_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    vat_number: Mapped[str] = mapped_column(String(32), index=True)
    valid: Mapped[bool] = mapped_column()
    #: ``vies`` (the Commission's service answered) or ``vies_unavailable``.
    source: Mapped[str] = mapped_column(String(20))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    #: VIES's consultation number, proof of the check for the tax inspector.
    reference: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
