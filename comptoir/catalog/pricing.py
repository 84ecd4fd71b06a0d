"""What a customer pays, computed in one place.

The public price (excluding VAT) is the reference every customer sees. A company may have
negotiated better: a fixed price for a product or configuration, or a discount on one
product, on a category (and its sub-categories), or on everything. The most specific rule
applies; then plugins may lower the price through ``comptoir_adjust_price`` (promotions,
loyalty), and the lowest of their answers wins. The price shown is the price charged: the
cart and the order call the same functions.

VAT is not computed here: :mod:`comptoir.tax` applies the country's table, which a locale
plugin gives through ``comptoir_vat_table``; with no table the shop says so rather than
guess. Amounts are ``Decimal``,
rounded half-up to the cent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from comptoir.catalog.models import Category, Configuration, Product, Variant
from comptoir.core.db import db
from comptoir.core.plugins import hooks
from comptoir.customers.models import Company, PriceRule
from comptoir.tax.compute import to_cents

log = logging.getLogger("comptoir.pricing")

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Price:
    """A price as shown and charged: the public reference and what this customer pays."""

    public: Decimal
    net: Decimal
    #: Why ``net`` differs from ``public`` ("-12 % on Laptops", "negotiated price"), or None.
    reason: str | None = None

    @property
    def discounted(self) -> bool:
        return self.net < self.public


def _memo() -> dict[Any, Any]:
    """Per-request memo: a listing prices 24 items for one company against the same rules
    and categories, which need reading once, not 24 times."""
    from flask import g, has_app_context

    if not has_app_context():
        return {}
    return g.setdefault("comptoir_pricing_memo", {})


def forget() -> None:
    """Drop the request's memo: called by whatever changes rules or categories."""
    _memo().clear()


def _category_chain(category_id: int | None) -> list[int]:
    """The category and its ancestors, nearest first (a discount on "Computers" covers
    "Laptops")."""
    memo = _memo()
    parents = memo.get("parents")
    if parents is None:
        parents = memo["parents"] = dict(db.session.execute(
            select(Category.id, Category.parent_id)).all())
    chain: list[int] = []
    while category_id is not None and category_id not in chain:
        chain.append(category_id)
        category_id = parents.get(category_id)
    return chain


def _rules(company: Company) -> list[PriceRule]:
    memo = _memo()
    key = ("rules", company.id)
    if key not in memo:
        memo[key] = list(db.session.scalars(
            select(PriceRule).where(PriceRule.company_id == company.id)))
    return memo[key]


def _apply(public: Decimal, rule: PriceRule) -> Decimal:
    if rule.fixed_price is not None:
        return rule.fixed_price
    return to_cents(public * (HUNDRED - rule.discount_percent) / HUNDRED)


def _describe(rule: PriceRule) -> str:
    from flask_babel import gettext

    if rule.fixed_price is not None:
        return gettext("your negotiated price")
    return gettext("your discount: %(percent)s %%", percent=rule.discount_percent.normalize())


def _adjusted(tenant: Any, item: Any, company: Company | None, price: Price) -> Price:
    answers = hooks(tenant).comptoir_adjust_price(
        tenant=tenant, item=item, company=company, price=price.net
    )
    valid = [a for a in answers
             if isinstance(a, Decimal) and a.is_finite() and 0 <= a <= price.net]
    for bad in (a for a in answers if a is not None and a not in valid):
        log.error("comptoir_adjust_price gave %r; a Decimal not above %s is expected",
                  bad, price.net)
    if not valid:
        return price
    return Price(price.public, to_cents(min(valid)), price.reason)


def variant_price(tenant: Any, variant: Variant, company: Company | None = None) -> Price:
    """The price of ``variant`` for ``company`` (``None``: a consumer or a visitor)."""
    public = variant.public_price
    price = Price(public, public)
    if company is not None:
        rules = _rules(company)
        chain = _category_chain(variant.product.category_id)
        specific = (
            [r for r in rules if r.product_id == variant.product_id]
            + sorted((r for r in rules if r.category_id in chain),
                     key=lambda r: chain.index(r.category_id))
            + [r for r in rules
               if r.product_id is None and r.category_id is None and r.configuration_id is None]
        )
        if specific:
            rule = specific[0]
            price = Price(public, min(public, _apply(public, rule)), _describe(rule))
    return _adjusted(tenant, variant, company, price)


def configuration_price(
    tenant: Any, configuration: Configuration, company: Company | None = None
) -> Price:
    """A configuration's fixed price, or the sum of its items at this company's prices."""
    if configuration.price is not None:
        public = configuration.price
    else:
        public = sum((i.variant.public_price * i.quantity for i in configuration.items),
                     Decimal("0"))
    price = Price(public, public)
    if company is not None:
        rule = db.session.scalars(select(PriceRule).where(
            PriceRule.company_id == company.id,
            PriceRule.configuration_id == configuration.id,
        )).first()
        if rule is not None:
            price = Price(public, min(public, _apply(public, rule)), _describe(rule))
        elif configuration.price is None:
            net = sum((variant_price(tenant, i.variant, company).net * i.quantity
                       for i in configuration.items), Decimal("0"))
            price = Price(public, net, None if net == public else _describe_sum())
    return _adjusted(tenant, configuration, company, price)


def _describe_sum() -> str:
    from flask_babel import gettext

    return gettext("your prices on its parts")


def default_variant(tenant: Any, product: Product) -> Variant | None:
    """The variant a shop offers first.

    The active variant matching most of the shop's preferred attributes
    (``settings["default_variant"]``, e.g. keyboard AZERTY and plug E; names and values
    compared without regard to case), then among those the one made for the shop's country,
    else one for any market, else the first.
    """

    def folded(attributes: Any) -> dict[str, str]:
        return {str(k).strip().casefold(): str(v).strip().casefold()
                for k, v in (attributes or {}).items()}

    active = [v for v in product.variants if v.active]
    wanted = folded((getattr(tenant, "settings", None) or {}).get("default_variant"))
    if wanted and active:
        def matches(variant: Variant) -> int:
            have = folded(variant.attributes)
            return sum(1 for name, value in wanted.items() if have.get(name) == value)

        scores = [matches(v) for v in active]
        best = max(scores)
        if best:
            active = [v for v, score in zip(active, scores, strict=True) if score == best]
    for variant in active:
        if variant.country == tenant.country:
            return variant
    neutral = [v for v in active if v.country is None]
    return (neutral or active or [None])[0]


def vat_rate(tenant: Any, tax_class: str, on_date: date | None = None) -> Decimal | None:
    """The rate in percent for ``tax_class`` in the shop's country today, or ``None`` when
    the country has no table or no rate for the class (the page then says VAT is unknown;
    the checkout refuses the order, see :mod:`comptoir.orders.service`)."""
    from comptoir.tax.basis import domestic
    from comptoir.tax.tables import UnknownTaxClass

    memo = _memo()
    key = ("vat", tax_class, on_date)
    if key not in memo:
        try:
            memo[key] = domestic(tenant, on_date).rate(tax_class)
        except UnknownTaxClass:
            log.warning("no VAT rate for tax class %s in %s", tax_class, tenant.country)
            memo[key] = None
    return memo[key]


def gross(net: Decimal, rate: Decimal) -> Decimal:
    """``net`` plus VAT at ``rate`` percent, to the cent."""
    return to_cents(net * (1 + rate / HUNDRED))


__all__ = [
    "Price",
    "configuration_price",
    "default_variant",
    "gross",
    "to_cents",
    "variant_price",
    "vat_rate",
]
