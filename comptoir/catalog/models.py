"""The catalogue: categories, products and their variants, standard configurations.

Offices own the master catalogue (:class:`OfficeShared` rows, which their resellers read);
a reseller adds rows of its own and may hide an office product from its shop. Prices are
public prices excluding VAT, ``Decimal``, in the office's currency; what a given customer
pays is computed in :mod:`comptoir.catalog.pricing`, never here.

Variants are the sellable units. The same PC sold with a French (AZERTY, type E plug), German
(QWERTZ, type F) or British (QWERTY, type G) set-up is one product with three variants, each
with its own SKU and ``country``; a shop offers the variant of its own country first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comptoir.core.db import db
from comptoir.core.scoping import OfficeShared, TenantScoped
from comptoir.tax.tables import TAX_CLASSES as TAX_CLASSES  # the catalogue's to offer


class Category(OfficeShared, db.Model):
    __tablename__ = "categories"
    __table_args__ = (
        UniqueConstraint("tenant_id", "slug"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["categories.tenant_id", "categories.id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(index=True)
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(
        remote_side=[id], primaryjoin="Category.parent_id == Category.id",
        foreign_keys=[parent_id],
    )

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class Product(OfficeShared, db.Model):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # An office's category may hold a reseller's product: a plain key, checked by the service.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    tax_class: Mapped[str] = mapped_column(String(20), default="standard")
    active: Mapped[bool] = mapped_column(default=True)
    #: False for services and anything else that is not taken from a shelf.
    stocked: Mapped[bool] = mapped_column(default=True)

    category: Mapped[Category | None] = relationship()
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", order_by="ProductImage.position", cascade="all, delete-orphan",
        primaryjoin="Product.id == ProductImage.product_id",
        foreign_keys="ProductImage.product_id",
    )
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.sku", cascade="all, delete-orphan",
        primaryjoin="Product.id == Variant.product_id", foreign_keys="Variant.product_id",
    )

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"


class ProductImage(OfficeShared, db.Model):
    """A picture of a product, kept with it (and shared with the office's resellers)."""

    __tablename__ = "product_images"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"],
                             ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(index=True)
    position: Mapped[int] = mapped_column(default=0)
    content_type: Mapped[str] = mapped_column(String(40))
    #: Deferred: listings need the picture's id, not its bytes.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    alt: Mapped[str] = mapped_column(String(200), default="")

    product: Mapped[Product] = relationship(
        back_populates="images", primaryjoin="Product.id == ProductImage.product_id",
        foreign_keys=[product_id])


class Variant(OfficeShared, db.Model):
    """A sellable version of a product: its own SKU, attributes and, if it differs, price."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"],
                             ondelete="CASCADE"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(index=True)
    sku: Mapped[str] = mapped_column(String(64))
    #: ISO country the variant is made for (plug, keyboard); ``None`` for any market.
    country: Mapped[str | None] = mapped_column(String(2))
    #: Facets shoppers filter on, e.g. ``{"keyboard": "AZERTY", "plug": "E"}``.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Public price of this variant when it differs from the product's.
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(
        back_populates="variants",
        primaryjoin="Product.id == Variant.product_id", foreign_keys=[product_id],
    )

    @property
    def public_price(self) -> Decimal:
        return self.price if self.price is not None else self.product.price

    def __repr__(self) -> str:
        return f"<Variant {self.sku}>"


class HiddenProduct(TenantScoped, db.Model):
    """An office product a reseller chose not to sell."""

    __tablename__ = "hidden_products"
    __table_args__ = (UniqueConstraint("tenant_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))


class Configuration(TenantScoped, db.Model):
    """A named standard configuration: chosen variants bundled, offered to companies.

    A key account may buy only its five or six of these. The price is the fixed ``price``
    when set, else the sum of its items' prices.
    """

    __tablename__ = "configurations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    active: Mapped[bool] = mapped_column(default=True)

    items: Mapped[list[ConfigurationItem]] = relationship(
        back_populates="configuration", cascade="all, delete-orphan",
        primaryjoin="Configuration.id == ConfigurationItem.configuration_id",
        foreign_keys="ConfigurationItem.configuration_id", order_by="ConfigurationItem.id",
    )


class ConfigurationItem(TenantScoped, db.Model):
    __tablename__ = "configuration_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "configuration_id"], ["configurations.tenant_id", "configurations.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    configuration_id: Mapped[int] = mapped_column(index=True)
    # May name an office variant: a plain key, checked by the service.
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(default=1)

    configuration: Mapped[Configuration] = relationship(
        back_populates="items",
        primaryjoin="Configuration.id == ConfigurationItem.configuration_id",
        foreign_keys=[configuration_id],
    )
    variant: Mapped[Variant] = relationship()
