"""Reading and changing the catalogue, with every value checked before anything is written.

Reading: :func:`browse` answers what a shopper may see — the office's products and the
tenant's own, minus what the tenant hid, narrowed to a restricted company's list — with text
search, category, attribute facets and pagination. Writing: :func:`create_product` and
friends refuse a bad SKU, price or category with a :class:`CatalogError` naming the field.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import selectinload

from comptoir.catalog.models import (
    TAX_CLASSES,
    Category,
    Configuration,
    ConfigurationItem,
    HiddenProduct,
    Product,
    ProductImage,
    Variant,
)
from comptoir.core.db import db
from comptoir.core.scoping import current_office_id, current_tenant_id
from comptoir.customers.models import CatalogEntry, Company

SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CATEGORY_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_PRICE = Decimal("9999999999.99")
PAGE_SIZE = 24
MAX_QUERY = 100


class CatalogError(ValueError):
    """A catalogue value was refused; ``field`` says which."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def parse_price(value: Any, field: str = "price") -> Decimal:
    """A price as typed (``"1049.50"``) or given (``Decimal``), checked; floats refused."""
    if isinstance(value, float):
        raise CatalogError(field, "give prices as Decimal or text, never as float")
    try:
        price = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise CatalogError(field, f"'{value}' is not an amount") from exc
    if not price.is_finite() or price < 0:
        raise CatalogError(field, f"'{value}' must be zero or more")
    if price > MAX_PRICE:
        raise CatalogError(field, f"'{value}' is above {MAX_PRICE}")
    if price != price.quantize(Decimal("0.01")):
        raise CatalogError(field, f"'{value}' has more than two decimals")
    return price.quantize(Decimal("0.01"))


# -- reading ------------------------------------------------------------------------------


@dataclass
class Entitlement:
    """What a restricted company may see; ``None`` lists mean "everything"."""

    product_ids: set[int] | None = None
    configuration_ids: set[int] | None = None

    @classmethod
    def of(cls, company: Company | None) -> Entitlement:
        if company is None or not company.restricted:
            return cls()
        entries = db.session.scalars(
            select(CatalogEntry).where(CatalogEntry.company_id == company.id)
        ).all()
        return cls(
            {e.product_id for e in entries if e.product_id is not None},
            {e.configuration_id for e in entries if e.configuration_id is not None},
        )

    def allows_product(self, product_id: int) -> bool:
        return self.product_ids is None or product_id in self.product_ids

    def allows_configuration(self, configuration_id: int) -> bool:
        return self.configuration_ids is None or configuration_id in self.configuration_ids


def _visible(entitlement: Entitlement) -> Select:
    hidden = select(HiddenProduct.product_id)
    query = select(Product).where(Product.active.is_(True), Product.id.not_in(hidden))
    if entitlement.product_ids is not None:
        query = query.where(Product.id.in_(entitlement.product_ids or {-1}))
    return query


def category_tree_ids(category: Category) -> list[int]:
    """The category and all its descendants visible to this shop."""
    ids, frontier = [category.id], [category.id]
    while frontier:
        frontier = list(db.session.scalars(
            select(Category.id).where(Category.parent_id.in_(frontier))))
        ids += [i for i in frontier if i not in ids]
    return ids


@dataclass
class Page:
    products: list[Product]
    total: int
    page: int
    pages: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def browse(
    entitlement: Entitlement,
    *,
    category: Category | None = None,
    text: str = "",
    filters: Mapping[str, str] | None = None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> Page:
    """One page of what the shopper may see, with facet counts over the whole result."""
    query = _visible(entitlement)
    tree = category_tree_ids(category) if category is not None else None
    if tree is not None:
        query = query.where(Product.category_id.in_(tree))
    text = text.strip()[:MAX_QUERY]
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(or_(
            func.lower(Product.name).like(pattern),
            func.lower(Product.description).like(pattern),
            func.lower(Product.sku).like(pattern),
            Product.id.in_(select(Variant.product_id).where(
                func.lower(Variant.sku).like(pattern))),
        ))
    for name, value in (filters or {}).items():
        query = query.where(Product.id.in_(select(Variant.product_id).where(
            Variant.active.is_(True), Variant.attributes[name].as_string() == value)))
    chosen = query.with_only_columns(Product.id).scalar_subquery()
    total = db.session.scalar(query.with_only_columns(func.count(Product.id))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    products = db.session.scalars(
        query.options(selectinload(Product.variants), selectinload(Product.images))
        .order_by(Product.name, Product.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    key = (tuple(sorted(tree)) if tree is not None else None,
           text, tuple(sorted((filters or {}).items())),
           None if entitlement.product_ids is None else tuple(sorted(entitlement.product_ids)))
    facets = _cached_facets(key, chosen)
    return Page(list(products), total, page, pages, facets)


FACET_TTL_SECONDS = 60
_facet_lock = threading.Lock()


def _cached_facets(key: tuple, product_ids: Any) -> dict[str, list[tuple[str, int]]]:
    """Facet counts per (tenant, office, listing), kept a minute per app and process.

    Counting over a large category is most of a listing's cost, and counts a minute old
    mislead nobody: a product's page, the cart and the checkout always read live data.
    """
    from flask import current_app

    cache = current_app.extensions.setdefault(
        "comptoir.facets", TTLCache(maxsize=2048, ttl=FACET_TTL_SECONDS))
    full_key = (current_tenant_id(), current_office_id(), *key)
    with _facet_lock:
        found = cache.get(full_key)
    if found is None:
        found = _facet_counts(product_ids)
        with _facet_lock:
            cache[full_key] = found
    return found


def _facet_counts(product_ids: Any) -> dict[str, list[tuple[str, int]]]:
    """How many of the chosen products have each attribute value, counted by the database.

    JSON is unnested with ``json_each`` (SQLite) or ``json_each_text`` (PostgreSQL), as a
    table-valued function joined to the variants of the products the scoped query chose.
    """
    each = "json_each_text" if db.session.get_bind().dialect.name == "postgresql" \
        else "json_each"
    counts: dict[str, list[tuple[str, int]]] = {}
    for name, value, count in db.session.execute(_facet_statement(each, product_ids)):
        counts.setdefault(str(name), []).append((str(value), int(count)))
    return {name: sorted(values) for name, values in sorted(counts.items())}


def _facet_statement(each: str, product_ids: Any) -> Any:
    kv = getattr(func, each)(Variant.attributes).table_valued("key", "value").alias("kv")
    return (
        select(kv.c.key, kv.c.value, func.count(Variant.product_id.distinct()))
        .select_from(Variant).join(kv, true())
        .where(Variant.active.is_(True), Variant.product_id.in_(product_ids))
        .group_by(kv.c.key, kv.c.value)
    )


def find_product(sku: str, entitlement: Entitlement) -> Product | None:
    """A product the shopper may see, by its SKU (or one of its variants' SKUs)."""
    query = _visible(entitlement).where(or_(
        Product.sku == sku,
        Product.id.in_(select(Variant.product_id).where(Variant.sku == sku)),
    ))
    own = current_tenant_id()
    # A reseller's own product wins over an office product with the same SKU.
    return db.session.scalars(query.order_by((Product.tenant_id == own).desc())).first()


def is_visible(product_id: int, entitlement: Entitlement) -> bool:
    """Whether the shopper may see and buy this product (by id: SKUs may repeat between an
    office and its resellers)."""
    query = _visible(entitlement).where(Product.id == product_id)
    return db.session.scalars(query.with_only_columns(Product.id)).first() is not None


def find_variant(sku: str) -> Variant | None:
    """The variant this shop means by ``sku``: its own first, then its office's."""
    own = current_tenant_id()
    return db.session.scalars(select(Variant).where(Variant.sku == sku)
                              .order_by((Variant.tenant_id == own).desc())).first()


def related(product: Product, entitlement: Entitlement, limit: int = 4) -> list[Product]:
    if product.category_id is None:
        return []
    query = _visible(entitlement).where(
        Product.category_id == product.category_id, Product.id != product.id
    ).order_by(Product.name).limit(limit)
    return list(db.session.scalars(query))


def top_categories() -> list[Category]:
    return list(db.session.scalars(
        select(Category).where(Category.parent_id.is_(None))
        .order_by(Category.position, Category.name)))


def find_category(slug: str) -> Category | None:
    own = current_tenant_id()
    return db.session.scalars(
        select(Category).where(Category.slug == slug)
        .order_by((Category.tenant_id == own).desc())).first()


def configurations_for(entitlement: Entitlement) -> list[Configuration]:
    query = select(Configuration).where(Configuration.active.is_(True))
    if entitlement.configuration_ids is not None:
        query = query.where(Configuration.id.in_(entitlement.configuration_ids or {-1}))
    return list(db.session.scalars(query.order_by(Configuration.name)))


# -- writing ------------------------------------------------------------------------------


@dataclass
class VariantSpec:
    sku: str
    country: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    price: Any = None


def create_category(slug: str, name: str, parent: str | None = None,
                    position: int = 0) -> Category:
    if not CATEGORY_SLUG.match(slug):
        raise CatalogError("slug", f"'{slug}' must be lower-case letters, digits and hyphens")
    if db.session.scalars(select(Category.id).where(
            Category.slug == slug, Category.tenant_id == current_tenant_id())).first():
        raise CatalogError("slug", f"a category '{slug}' exists already")
    if not name.strip() or len(name) > 120:
        raise CatalogError("name", "must be 1 to 120 characters")
    parent_row = None
    if parent is not None:
        parent_row = find_category(parent)
        if parent_row is None or parent_row.tenant_id != current_tenant_id():
            raise CatalogError("parent", f"no category '{parent}' of this shop")
    category = Category(slug=slug, name=name.strip(), parent=parent_row, position=position)
    db.session.add(category)
    from comptoir.catalog import pricing

    pricing.forget()
    return category


def _check_variant(spec: VariantSpec, taken: set[str]) -> Variant:
    if not SKU.match(spec.sku):
        raise CatalogError("variants", f"SKU '{spec.sku}' may hold letters, digits, . _ -")
    if spec.sku in taken or _sku_in_use(spec.sku):
        raise CatalogError("variants", f"SKU '{spec.sku}' is already used")
    taken.add(spec.sku)
    for name, value in spec.attributes.items():
        if not ATTRIBUTE.match(name) or not isinstance(value, str) or not 0 < len(value) <= 40:
            raise CatalogError("variants", f"attribute {name}={value!r} is not a short text")
    country = spec.country.upper() if spec.country else None
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise CatalogError("variants", f"country '{spec.country}' is not an ISO code")
    price = parse_price(spec.price, "variants") if spec.price is not None else None
    return Variant(sku=spec.sku, country=country, attributes=dict(spec.attributes), price=price)


def _sku_in_use(sku: str) -> bool:
    """Among everything this shop sees: its own rows and its office's."""
    return bool(
        db.session.scalars(select(Product.id).where(Product.sku == sku)).first()
        or db.session.scalars(select(Variant.id).where(Variant.sku == sku)).first()
    )


def create_product(
    sku: str,
    name: str,
    price: Any,
    *,
    description: str = "",
    category: str | None = None,
    tax_class: str = "standard",
    variants: Sequence[VariantSpec] = (),
    stocked: bool = True,
) -> Product:
    """Add a product with its variants (one plain variant when none is given)."""
    if not SKU.match(sku):
        raise CatalogError("sku", f"'{sku}' may hold letters, digits, . _ - (64 at most)")
    if "\x00" in name or "\x00" in description:
        raise CatalogError("name", "holds a NUL character")
    if _sku_in_use(sku):
        raise CatalogError("sku", f"'{sku}' is already used in this catalogue")
    if not name.strip() or len(name) > 200:
        raise CatalogError("name", "must be 1 to 200 characters")
    if tax_class not in TAX_CLASSES:
        raise CatalogError("tax_class", f"must be one of {', '.join(TAX_CLASSES)}")
    amount = parse_price(price)
    category_row = None
    if category is not None:
        category_row = find_category(category)
        if category_row is None:
            raise CatalogError("category", f"no category '{category}'")
    taken = {sku}
    rows = [_check_variant(v, taken) for v in variants] or [Variant(sku=sku, attributes={})]
    product = Product(sku=sku, name=name.strip(), description=description, price=amount,
                      category=category_row, tax_class=tax_class, variants=rows,
                      stocked=stocked)
    db.session.add(product)
    return product


def hide_product(sku: str) -> None:
    """Stop selling an office product in this (reseller's) shop."""
    product = db.session.scalars(select(Product).where(Product.sku == sku)).first()
    if product is None:
        raise CatalogError("sku", f"no product '{sku}'")
    if product.tenant_id == current_tenant_id():
        raise CatalogError("sku", f"'{sku}' is your own product: deactivate it instead")
    if not db.session.scalars(select(HiddenProduct).where(
            HiddenProduct.product_id == product.id)).first():
        db.session.add(HiddenProduct(product_id=product.id))


def unhide_product(sku: str) -> None:
    """Sell an office product again in this shop."""
    product = db.session.scalars(select(Product).where(Product.sku == sku)).first()
    if product is None:
        raise CatalogError("sku", f"no product '{sku}'")
    for row in db.session.scalars(select(HiddenProduct).where(
            HiddenProduct.product_id == product.id)):
        db.session.delete(row)


def set_active(sku: str, active: bool) -> None:
    """Put one of this shop's own products on sale, or take it off."""
    product = db.session.scalars(select(Product).where(
        Product.sku == sku, Product.tenant_id == current_tenant_id())).first()
    if product is None:
        raise CatalogError("sku", f"'{sku}' is not one of your own products")
    product.active = active


def set_price(sku: str, price: Any) -> Product:
    """Change the public price of one of this shop's own products.

    Carts keep the price their items were added at; the next checkout shows the new price
    and asks the shopper to confirm it.
    """
    amount = parse_price(price)
    product = db.session.scalars(select(Product).where(
        Product.sku == sku, Product.tenant_id == current_tenant_id())).first()
    if product is None:
        raise CatalogError("sku", f"'{sku}' is not one of your own products")
    product.price = amount
    return product


def staff_listing(text: str = "", limit: int = 200) -> list[tuple[Product, bool]]:
    """Every product this shop sees, active or not, with whether it hides it."""
    hidden = set(db.session.scalars(select(HiddenProduct.product_id)))
    query = select(Product).order_by(Product.sku)
    text = text.strip()[:MAX_QUERY]
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(or_(func.lower(Product.name).like(pattern),
                                func.lower(Product.sku).like(pattern)))
    return [(p, p.id in hidden) for p in db.session.scalars(query.limit(limit))]


def visible_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)))


IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/svg+xml"}
MAX_IMAGE_BYTES = 2 * 1024 * 1024


def add_image(product: Product, data: bytes, content_type: str, alt: str = "") -> ProductImage:
    """Attach a picture to one of this shop's own products."""
    if product.tenant_id not in (None, current_tenant_id()):  # None: not flushed yet
        raise CatalogError("image", "pictures are added by the product's owner")
    if content_type not in IMAGE_TYPES:
        raise CatalogError("image", f"type must be one of {', '.join(sorted(IMAGE_TYPES))}")
    if not data or len(data) > MAX_IMAGE_BYTES:
        raise CatalogError("image", f"must be 1 byte to {MAX_IMAGE_BYTES // 1024} KiB")
    image = ProductImage(content_type=content_type, data=data, alt=alt[:200],
                         position=len(product.images))
    product.images.append(image)
    return image


def create_configuration(code: str, name: str, items: Iterable[tuple[str, int]],
                         price: Any = None, description: str = "") -> Configuration:
    if not SKU.match(code):
        raise CatalogError("code", f"'{code}' may hold letters, digits, . _ -")
    if db.session.scalars(select(Configuration.id).where(Configuration.code == code)).first():
        raise CatalogError("code", f"a configuration '{code}' exists already")
    rows = []
    for variant_sku, quantity in items:
        variant = db.session.scalars(select(Variant).where(Variant.sku == variant_sku)).first()
        if variant is None:
            raise CatalogError("items", f"no variant '{variant_sku}'")
        if not isinstance(quantity, int) or not 0 < quantity <= 1000:
            raise CatalogError("items", f"quantity {quantity!r} must be 1 to 1000")
        rows.append(ConfigurationItem(variant_id=variant.id, quantity=quantity))
    if not rows:
        raise CatalogError("items", "a configuration needs at least one item")
    configuration = Configuration(
        code=code, name=name, description=description, items=rows,
        price=parse_price(price) if price is not None else None,
    )
    db.session.add(configuration)
    return configuration
