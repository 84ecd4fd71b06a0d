"""A company's world: its negotiated prices and, for key accounts, its restricted catalogue.

Every change is checked whole before it is written; a refused one raises
:class:`CustomerError` naming the field and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_login import current_user
from sqlalchemy import select

from comptoir.catalog.models import Category, Configuration, Product
from comptoir.catalog.service import CatalogError, parse_price
from comptoir.core.db import db
from comptoir.customers.models import CatalogEntry, Company, CompanyAddress, PriceRule


class CustomerError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def current_company() -> Company | None:
    """The company of the logged-in buyer, if any: it decides prices and catalogue."""
    if not current_user or not current_user.is_authenticated:
        return None
    return current_user.company


def get_company(name: str) -> Company:
    company = db.session.scalars(select(Company).where(Company.name == name)).first()
    if company is None:
        raise CustomerError("company", f"no company '{name}'")
    return company


def _product(sku: str) -> Product:
    product = db.session.scalars(select(Product).where(Product.sku == sku)).first()
    if product is None:
        raise CustomerError("product", f"no product '{sku}'")
    return product


def _configuration(code: str) -> Configuration:
    configuration = db.session.scalars(
        select(Configuration).where(Configuration.code == code)).first()
    if configuration is None:
        raise CustomerError("configuration", f"no configuration '{code}'")
    return configuration


def _percent(value: Any) -> Decimal:
    if isinstance(value, float):
        raise CustomerError("discount", "give the discount as Decimal or text, not float")
    try:
        percent = Decimal(str(value).strip().rstrip("%").strip().replace(",", "."))
    except InvalidOperation as exc:
        raise CustomerError("discount", f"'{value}' is not a percentage") from exc
    if not percent.is_finite() or not 0 < percent < 100:
        raise CustomerError("discount", f"'{value}' must be between 0 and 100 (exclusive)")
    if percent != percent.quantize(Decimal("0.01")):
        raise CustomerError("discount", f"'{value}' has more than two decimals")
    return percent


def _replace(company: Company, **scope: Any) -> None:
    """One rule per company and scope: a new one replaces the old."""
    from comptoir.catalog import pricing

    pricing.forget()
    query = select(PriceRule).where(PriceRule.company_id == company.id)
    for column in ("product_id", "category_id", "configuration_id"):
        value = scope.get(column)
        attribute = getattr(PriceRule, column)
        query = query.where(attribute.is_(None) if value is None else attribute == value)
    for old in db.session.scalars(query):
        db.session.delete(old)


def set_discount(company: Company, percent: Any, *, product: str | None = None,
                 category: str | None = None) -> PriceRule:
    """A percentage off the public price: of one product, a category, or everything."""
    if product and category:
        raise CustomerError("scope", "a discount applies to a product or a category, not both")
    scope: dict[str, Any] = {}
    if product:
        scope["product_id"] = _product(product).id
    if category:
        row = db.session.scalars(select(Category).where(Category.slug == category)).first()
        if row is None:
            raise CustomerError("category", f"no category '{category}'")
        scope["category_id"] = row.id
    rule = PriceRule(company_id=company.id, discount_percent=_percent(percent), **scope)
    _replace(company, **scope)
    db.session.add(rule)
    return rule


def set_fixed_price(company: Company, price: Any, *, product: str | None = None,
                    configuration: str | None = None) -> PriceRule:
    """A negotiated price for one product or configuration."""
    if bool(product) == bool(configuration):
        raise CustomerError("scope", "a fixed price is for one product or one configuration")
    try:
        amount = parse_price(price)
    except CatalogError as exc:
        raise CustomerError("price", exc.problem) from exc
    scope = ({"product_id": _product(product).id} if product
             else {"configuration_id": _configuration(configuration).id})
    rule = PriceRule(company_id=company.id, fixed_price=amount, **scope)
    _replace(company, **scope)
    db.session.add(rule)
    return rule


def restrict_catalogue(company: Company, *, products: Iterable[str] = (),
                       configurations: Iterable[str] = ()) -> None:
    """Make ``company`` a key account that sees only these products and configurations."""
    entries = [CatalogEntry(company_id=company.id, product_id=_product(sku).id)
               for sku in dict.fromkeys(products)]
    entries += [CatalogEntry(company_id=company.id, configuration_id=_configuration(code).id)
                for code in dict.fromkeys(configurations)]
    if not entries:
        raise CustomerError("catalogue", "a restricted catalogue needs at least one entry")
    for old in db.session.scalars(select(CatalogEntry).where(
            CatalogEntry.company_id == company.id)):
        db.session.delete(old)
    db.session.flush()
    company.restricted = True
    db.session.add_all(entries)


def addresses(company: Company) -> list[CompanyAddress]:
    return list(db.session.scalars(select(CompanyAddress).where(
        CompanyAddress.company_id == company.id).order_by(
        CompanyAddress.is_default.desc(), CompanyAddress.label)))


def set_vat_number(company: Company, number: str) -> str | None:
    """Give the company its VAT number, checked by python-stdnum; empty removes it.

    A wrong number is refused with what is wrong with it, and the old one stays: a reverse
    charge must never rest on a number that cannot exist.
    """
    from comptoir.tax.vatnumbers import VatNumberError, normalise_company_number

    if not number.strip():
        company.vat_number = None
        return None
    try:
        company.vat_number = normalise_company_number(number)
    except VatNumberError as wrong:
        raise CustomerError("vat_number", str(wrong)) from None
    return company.vat_number


def add_address(company: Company, values: dict[str, str], default: bool = False) -> CompanyAddress:
    """Keep an address in the company's book; the first one becomes the default."""
    fields = {k: str(values.get(k, "")).strip() for k in
              ("label", "name", "street", "postcode", "city", "country")}
    for key, value in fields.items():
        if not value:
            raise CustomerError(key, "is required")
        if "\x00" in value:
            raise CustomerError(key, "holds a NUL character")
        if len(value) > 200:
            raise CustomerError(key, "is longer than 200 characters")
    fields["country"] = fields["country"].upper()
    if len(fields["country"]) != 2 or not fields["country"].isalpha():
        raise CustomerError("country", "is a two-letter country code, e.g. FR")
    existing = addresses(company)
    if default or not existing:
        for other in existing:
            other.is_default = False
    address = CompanyAddress(company_id=company.id, is_default=default or not existing,
                             **fields)
    db.session.add(address)
    return address


def remove_address(company: Company, address_id: int) -> None:
    address = db.session.get(CompanyAddress, address_id)
    if address is None or address.company_id != company.id:
        raise CustomerError("address", "no such address in your company's book")
    db.session.delete(address)
