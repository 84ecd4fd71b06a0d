"""Products. Prices are stored excluding VAT, as ``Decimal``, in the tenant's currency."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comptoir.core.db import db
from comptoir.core.scoping import TenantScoped


class Product(TenantScoped, db.Model):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("tenant_id", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    tax_class: Mapped[str] = mapped_column(String(20), default="standard")
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"
