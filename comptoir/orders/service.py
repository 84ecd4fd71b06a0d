"""Cart and checkout: what a customer may buy, at which price, and placing the order.

The rules a shopper relies on live here, not in the views: quantities are whole numbers from
1 to 999; only what the shopper may see can be bought (a key account's restricted list);
the price charged is the price shown — when a price changed since the item was put in the
cart, the checkout stops and says so, with the new price; stock is reserved before the order
exists and released if anything fails after; nothing is charged or reserved for a refused
order.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from flask import session as web_session
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.catalog import pricing
from comptoir.catalog import service as catalog
from comptoir.catalog.models import Configuration, Variant
from comptoir.core.db import db
from comptoir.core.jobs import periodic
from comptoir.core.plugins import hooks, plugin_host
from comptoir.core.scoping import current_tenant_id
from comptoir.customers.models import Company, User
from comptoir.orders.models import (
    AWAITING_PAYMENT,
    CANCELLED,
    DELIVERED,
    PAID,
    PENDING_APPROVAL,
    PLACED,
    RETURNED,
    SHIPPED,
    Cart,
    CartLine,
    Order,
    OrderCounter,
    OrderEvent,
    OrderLine,
    Refund,
    ReturnLine,
    ReturnRequest,
)
from comptoir.stock import service as stock
from comptoir.tax import basis as tax
from comptoir.tax.compute import Taxes, compute, to_cents
from comptoir.tax.tables import UnknownTaxClass
from comptoir.tax.vatnumbers import VatNumberError, normalise, usable_for_reverse_charge

log = logging.getLogger("comptoir.orders")

MAX_QUANTITY = 999
CART_KEY = "cart_token"
#: How long a buyer has to pay online after placing the order, before it is cancelled.
PAYMENT_MINUTES = 30
#: The stock hold outlives the payment window by this much, so that the order's own expiry
#: (which first asks the payment provider) cancels it, not the stock desk's sweep.
HOLD_MARGIN_MINUTES = 30
#: After an approval chain agrees, the buyer has this long to pay online.
APPROVED_PAYMENT_DAYS = 3
HANDLING_DAYS = 1
SUPPLIER_DAYS = 10


@dataclass(frozen=True)
class ShippingMethod:
    code: str
    days: int
    price: Decimal


SHIPPING_METHODS = {
    "standard": ShippingMethod("standard", 3, Decimal("0.00")),
    "express": ShippingMethod("express", 1, Decimal("15.00")),
}

# Which status may follow which; anything else is refused.
TRANSITIONS = {
    PENDING_APPROVAL: {PLACED, AWAITING_PAYMENT, CANCELLED},
    AWAITING_PAYMENT: {PAID, CANCELLED},
    PLACED: {PAID, SHIPPED, CANCELLED},
    PAID: {SHIPPED, CANCELLED},
    SHIPPED: {DELIVERED},
    DELIVERED: {RETURNED},
    CANCELLED: set(),
    RETURNED: set(),
}
#: What staff may do by hand: approving a held order is the approval chain's business, and
#: an order becomes "returned" only when its returned parcel is received (restock, refund).
STAFF_TRANSITIONS = {
    PENDING_APPROVAL: {CANCELLED},
    AWAITING_PAYMENT: {CANCELLED},
    PLACED: {PAID, SHIPPED, CANCELLED},
    PAID: {SHIPPED, CANCELLED},
    SHIPPED: {DELIVERED},
}


class CheckoutError(ValueError):
    """A cart or checkout step was refused; ``field`` names what to fix."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


# -- cart ---------------------------------------------------------------------------------


def _quantity(value: Any) -> int:
    text = str(value).strip()
    digits = text.isascii() and text.isdigit() and len(text) < 5
    if not digits or not 0 < int(text) <= MAX_QUANTITY:
        raise CheckoutError("quantity", f"'{value}' is not a whole number from 1 to "
                                        f"{MAX_QUANTITY}")
    return int(text)


def current_cart(user: User | None, create: bool = False) -> Cart | None:
    """The visitor's cart (kept in the shop's session) or the customer's own."""
    if user is not None:
        cart = db.session.scalars(select(Cart).where(Cart.user_id == user.id)).first()
    else:
        token = web_session.get(CART_KEY)
        cart = None if token is None else db.session.scalars(
            select(Cart).where(Cart.token == token, Cart.user_id.is_(None))).first()
    if cart is None and create:
        cart = Cart(token=str(uuid.uuid4()), user_id=user.id if user else None)
        db.session.add(cart)
        db.session.flush()
        if user is None:
            web_session[CART_KEY] = cart.token
    return cart


def _buyable_variant(sku: str, entitlement: catalog.Entitlement) -> Variant:
    if "\x00" in sku or len(sku) > 64:
        raise CheckoutError("sku", "is not a reference")
    variant = catalog.find_variant(sku)
    if variant is None or not variant.active:
        raise CheckoutError("sku", f"no product '{sku}' on sale here")
    if not catalog.is_visible(variant.product_id, entitlement):
        raise CheckoutError("sku", f"'{sku}' is not in your catalogue")
    return variant


def _still_buyable(line: CartLine, entitlement: catalog.Entitlement) -> bool:
    """At checkout again: the item may have been taken off sale since it went in the cart."""
    if line.configuration_id is not None:
        configuration = line.configuration
        return (configuration.active and entitlement.allows_configuration(configuration.id)
                and all(i.variant.active for i in configuration.items))
    return line.variant.active and catalog.is_visible(line.variant.product_id, entitlement)


def _buyable_configuration(code: str, entitlement: catalog.Entitlement) -> Configuration:
    if "\x00" in code or len(code) > 64:
        raise CheckoutError("sku", "is not a reference")
    configuration = db.session.scalars(
        select(Configuration).where(Configuration.code == code)).first()
    if configuration is None or not configuration.active:
        raise CheckoutError("sku", f"no configuration '{code}' on sale here")
    if not entitlement.allows_configuration(configuration.id):
        raise CheckoutError("sku", f"'{code}' is not in your catalogue")
    return configuration


def line_price(tenant: Any, line: CartLine, company: Company | None) -> pricing.Price:
    if line.variant_id is not None:
        return pricing.variant_price(tenant, line.variant, company)
    return pricing.configuration_price(tenant, line.configuration, company)


def add_to_cart(tenant: Any, user: User | None, company: Company | None, sku: str,
                quantity: Any, *, configuration: bool = False) -> CartLine:
    """Put ``quantity`` of a variant (or a configuration) in the cart, at today's price."""
    amount = _quantity(quantity)
    entitlement = catalog.Entitlement.of(company)
    cart = current_cart(user, create=True)
    if configuration:
        item = _buyable_configuration(sku, entitlement)
        price = pricing.configuration_price(tenant, item, company).net
        line = next((x for x in cart.lines if x.configuration_id == item.id), None)
        new = CartLine(configuration_id=item.id, configuration=item)
    else:
        item = _buyable_variant(sku, entitlement)
        price = pricing.variant_price(tenant, item, company).net
        line = next((x for x in cart.lines if x.variant_id == item.id), None)
        new = CartLine(variant_id=item.id, variant=item)
    if line is None:
        line = new
        line.quantity = 0
        line.unit_price = price
        cart.lines.append(line)
    if line.quantity + amount > MAX_QUANTITY:
        raise CheckoutError("quantity", f"at most {MAX_QUANTITY} of one item per order")
    line.quantity += amount
    line.unit_price = price
    cart.updated_at = datetime.now(UTC)
    return line


def set_quantity(user: User | None, line_id: Any, quantity: Any) -> None:
    """Change a line's quantity; 0 removes it."""
    cart = current_cart(user)
    line = next((x for x in (cart.lines if cart else []) if str(x.id) == str(line_id)), None)
    if line is None:
        raise CheckoutError("line", "this line is not in your cart")
    if str(quantity).strip() == "0":
        cart.lines.remove(line)
        return
    line.quantity = _quantity(quantity)


def merge_at_login(user: User) -> None:
    """A visitor who logs in keeps what they put in the cart: it joins their own cart."""
    token = web_session.pop(CART_KEY, None)
    if token is None:
        return
    guest = db.session.scalars(
        select(Cart).where(Cart.token == token, Cart.user_id.is_(None))).first()
    if guest is None:
        return
    own = current_cart(user, create=True)
    for line in list(guest.lines):
        same = next((x for x in own.lines if x.variant_id == line.variant_id
                     and x.configuration_id == line.configuration_id), None)
        if same is None:
            own.lines.append(CartLine(variant_id=line.variant_id,
                                      configuration_id=line.configuration_id,
                                      quantity=line.quantity, unit_price=line.unit_price))
        else:
            same.quantity = min(MAX_QUANTITY, same.quantity + line.quantity)
    db.session.delete(guest)


# -- checkout -----------------------------------------------------------------------------


@dataclass
class Address:
    name: str
    street: str
    postcode: str
    city: str
    country: str
    company: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any], prefix: str) -> Address:
        values = {k: str(data.get(f"{prefix}{k}", "")).strip()
                  for k in ("name", "street", "postcode", "city", "country", "company")}
        for key, value in values.items():
            if "\x00" in value:
                raise CheckoutError(f"{prefix}{key}", "holds a NUL character")
        for key in ("name", "street", "postcode", "city", "country"):
            if not values[key]:
                raise CheckoutError(f"{prefix}{key}", "is required")
            if len(values[key]) > 200:
                raise CheckoutError(f"{prefix}{key}", "is longer than 200 characters")
        values["country"] = values["country"].upper()
        if values["country"] not in _countries():
            raise CheckoutError(f"{prefix}country", "is a two-letter country code, e.g. FR")
        return cls(**values)


@cache
def _countries() -> frozenset[str]:
    """ISO 3166 codes Babel knows (``FR``, ``DE``...), not regions such as ``150``."""
    from babel import Locale

    return frozenset(code for code in Locale("en").territories if code.isalpha()
                     and len(code) == 2 and code not in ("ZZ", "EU", "EZ", "UN", "QO"))


@dataclass
class Priced:
    """A cart, priced now, line by line, with what changed since it was filled."""

    lines: list[tuple[CartLine, pricing.Price, int | None]] = field(default_factory=list)
    changed: list[tuple[CartLine, Decimal, Decimal]] = field(default_factory=list)
    short: list[tuple[CartLine, int]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((p.net * line.quantity for line, p, _ in self.lines), Decimal("0"))


def price_cart(tenant: Any, cart: Cart | None, company: Company | None) -> Priced:
    priced = Priced()
    if cart is None:
        return priced
    variant_ids = [line.variant_id for line in cart.lines if line.variant_id is not None]
    for line in cart.lines:
        if line.configuration_id is not None:
            variant_ids += [i.variant_id for i in line.configuration.items]
    available = stock.availability(variant_ids)
    for line in cart.lines:
        price = line_price(tenant, line, company)
        if price.net != line.unit_price:
            priced.changed.append((line, line.unit_price, price.net))
        left = _units_available(line, available)
        priced.lines.append((line, price, left))
        if left is not None and left < line.quantity:
            priced.short.append((line, left))
    return priced


def price_signature(priced: Priced) -> str:
    """A fingerprint of the cart's lines at their current prices, for the confirmation."""
    import hashlib

    text = ";".join(f"{line.id}:{line.quantity}:{price.net}"
                    for line, price, _left in sorted(priced.lines, key=lambda x: x[0].id))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _units_available(line: CartLine, available: Mapping[int, int]) -> int | None:
    """How many of the line can ship from stock; ``None`` when nothing is stocked."""
    parts = ([(line.variant, 1)] if line.variant_id is not None
             else [(i.variant, i.quantity) for i in line.configuration.items])
    counts = [available.get(v.id, 0) // per for v, per in parts if v.product.stocked]
    return min(counts) if counts else None


def wanted_units(lines: Iterable[Any]) -> list[tuple[Variant, int]]:
    """Units of stocked variants that cart or quote ``lines`` take, configurations expanded."""
    units: dict[int, list[Any]] = {}
    for line in lines:
        parts = ([(line.variant, 1)] if line.variant_id is not None
                 else [(i.variant, i.quantity) for i in line.configuration.items])
        for variant, per in parts:
            if variant.product.stocked:
                units.setdefault(variant.id, [variant, 0])[1] += per * line.quantity
    return [(variant, quantity) for variant, quantity in units.values()]


def expected_delivery(in_stock: bool, method: ShippingMethod, start: date | None = None) -> date:
    """Business days: handling (or the supplier's lead time), then the carrier's days."""
    day = start or date.today()
    remaining = (HANDLING_DAYS if in_stock else SUPPLIER_DAYS) + method.days
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day


def _reserve(tenant: Any, reference: str, units: list[tuple[Variant, int]],
             online: bool = False) -> None:
    """Each owner's desk reserves its own goods: the office its catalogue, a reseller the
    stocked products it sells itself; all or nothing.

    An order paid online holds its stock only for a while (the payment window plus a
    margin): a buyer who leaves the card page gives the units back to the others.
    """
    by_owner: dict[int, list[tuple[Variant, int]]] = defaultdict(list)
    for variant, quantity in units:
        by_owner[variant.tenant_id].append((variant, quantity))
    done: list[int] = []
    try:
        for owner, lines in by_owner.items():
            stock.reserve(owner, reference, lines, committed=not online,
                          minutes=PAYMENT_MINUTES + HOLD_MARGIN_MINUTES)
            done.append(owner)
    except stock.Shortage:
        for owner in done:
            stock.release(owner, reference)
        raise


def _next_number() -> int:
    """Bump the tenant's counter inside the order's transaction: a rolled-back order gives
    its number back, so numbers have no gaps; concurrent orders queue on the row lock."""
    bumped = db.session.execute(
        update(OrderCounter).values(last_number=OrderCounter.last_number + 1)
        .returning(OrderCounter.last_number)
    ).scalar()
    if bumped is None:  # the tenant's first order
        try:
            with db.session.begin_nested():
                db.session.execute(insert(OrderCounter),
                                   [{"tenant_id": current_tenant_id(), "last_number": 1}])
            return 1
        except IntegrityError:  # another first order was faster: queue behind it
            return _next_number()
    return bumped


def _taxes(lines: list[OrderLine], basis: tax.Basis) -> Taxes:
    """VAT per rate of the order's lines, rounded as the taxing country says."""
    return compute(((line.line_net, line.vat_rate) for line in lines
                    if line.vat_rate is not None), basis.rounding)


def _untaxed_net(lines: list[OrderLine]) -> Decimal:
    return sum((line.line_net for line in lines if line.vat_rate is None), Decimal("0"))


MAX_LINE = Decimal("9999999999.99")


def _split_by_tax_class(configuration: Configuration, net: Decimal) -> list[tuple[str, Decimal]]:
    """A configuration's price shared among the VAT classes of its parts, in proportion to
    their public prices, so that a pack holding books and a laptop is taxed at both rates.
    The last class takes the rounding remainder: the parts always add up to ``net``."""
    weights: dict[str, Decimal] = defaultdict(Decimal)
    for item in configuration.items:
        weights[item.variant.product.tax_class] += item.variant.public_price * item.quantity
    total = sum(weights.values(), Decimal("0"))
    classes = sorted(weights)
    if len(classes) <= 1 or total == 0:
        return [(classes[0] if classes else "standard", net)]
    shares, given = [], Decimal("0")
    for tax_class in classes[:-1]:
        share = pricing.to_cents(net * weights[tax_class] / total)
        shares.append((tax_class, share))
        given += share
    shares.append((classes[-1], net - given))
    return shares


def order_lines(tenant: Any, priced: Priced, method: ShippingMethod,
                basis: tax.Basis) -> list[OrderLine]:
    """What the order (and the checkout's summary) will say: one line per item and VAT
    class, and the delivery, each with the rate ``basis`` gives its class.

    Raises :class:`CheckoutError` when the taxing country has no rate for a class: an order
    is never taxed at a guess.
    """
    def rate(tax_class: str) -> Decimal | None:
        try:
            return basis.rate(tax_class)
        except UnknownTaxClass as unknown:
            raise CheckoutError("tax_class", str(unknown)) from None

    rows = []
    for line, price, _left in priced.lines:
        if line.variant_id is not None:
            product = line.variant.product
            rows.append(OrderLine(
                sku=line.variant.sku, name=product.name, quantity=line.quantity,
                unit_public=price.public, unit_net=price.net,
                line_net=price.net * line.quantity, tax_class=product.tax_class,
                vat_rate=rate(product.tax_class)))
            continue
        configuration = line.configuration
        parts = _split_by_tax_class(configuration, price.net)
        for tax_class, unit_net in parts:
            share_public = (price.public if len(parts) == 1
                            else pricing.to_cents(price.public * unit_net / price.net)
                            if price.net else unit_net)
            rows.append(OrderLine(
                sku=configuration.code, name=configuration.name, quantity=line.quantity,
                unit_public=share_public, unit_net=unit_net,
                line_net=unit_net * line.quantity, tax_class=tax_class,
                vat_rate=rate(tax_class)))
    if method.price:
        rows.append(OrderLine(sku=f"SHIPPING-{method.code.upper()}", name=method.code,
                              quantity=1, unit_public=method.price, unit_net=method.price,
                              line_net=method.price, tax_class="standard",
                              vat_rate=rate("standard")))
    return rows


#: ``(user, company)``: who is buying, for the discounts plugins give them.
Buyer = tuple[Any, Any]


@dataclass
class Preview:
    """The checkout's summary: the same lines and the same VAT code as the order."""

    shipping: Decimal
    net: Decimal
    taxes: Taxes
    gross: Decimal
    basis: tax.Basis
    #: The discounts given (``order.discounts``'s shape), and the lines they came off.
    discounts: list[dict[str, str]] = field(default_factory=list)
    lines: list[OrderLine] = field(default_factory=list)

    @property
    def discount_total(self) -> Decimal:
        """What the discounts took off, excluding VAT."""
        return sum((Decimal(d["amount"]) for d in self.discounts), Decimal("0.00"))

    @property
    def discounts_key(self) -> str:
        """The discounts shown, echoed by the form: different ones at booking re-ask."""
        return ";".join(f"{d['ref']}={d['amount']}" for d in self.discounts)

    @property
    def vat(self) -> dict[str, str]:
        return self.taxes.breakdown()

    @property
    def basis_key(self) -> str:
        """What the shopper was shown, echoed by the form: a change re-asks them."""
        return f"{self.basis.regime}:{self.basis.country or ''}"


def checkout_basis(tenant: Any, company: Company | None, destination: str | None,
                   vat_number: str | None = None) -> tax.Basis:
    """The VAT situation for delivering to ``destination``; raises :class:`CheckoutError`
    when it cannot be decided (no VAT table known for a consumer's country under OSS)."""
    try:
        return tax.determine(tenant, destination=destination, vat_number=vat_number)
    except tax.NoVatTable as missing:
        raise CheckoutError("shipping_country",
                            f"we cannot deliver consumers in {missing.country} yet") from None


def company_vat_number(company: Company | None) -> str | None:
    """The company's VAT number if well formed (no VIES call: for showing, not charging)."""
    if company is None or not company.vat_number:
        return None
    try:
        return normalise(company.vat_number)
    except VatNumberError:
        return None


def preview(tenant: Any, priced: Priced, shipping_method: str,
            basis: tax.Basis | None = None, *, buyer: Buyer | None = None) -> Preview:
    """The totals the order will have, computed by the same code as the order itself.

    :param buyer: ``(user, company)`` to ask plugins for the discounts this buyer gets (the
        checkout); ``None`` for none.
    """
    method = SHIPPING_METHODS.get(shipping_method, SHIPPING_METHODS["standard"])
    basis = basis or tax.domestic(tenant)
    rows = order_lines(tenant, priced, method, basis)
    given = apply_discounts(tenant, *buyer, rows) if buyer is not None else []
    taxes = _taxes(rows, basis)
    net = taxes.net + _untaxed_net(rows)
    return Preview(method.price, net, taxes, net + taxes.vat, basis, given, rows)


def _shares(amount: Decimal, bases: list[Decimal]) -> list[Decimal]:
    """``amount`` shared among lines in proportion to ``bases``, to the cent, never more
    than a line's base; the caller has checked ``amount <= sum(bases)``."""
    room = sum(bases, Decimal("0"))
    shares = [min(base, pricing.to_cents(amount * base / room)) if room else Decimal("0.00")
              for base in bases]
    left = amount - sum(shares, Decimal("0"))
    # Rounding leaves a cent or two over (or under): the lines with the most room take it.
    order = sorted(range(len(bases)), key=lambda i: bases[i] - shares[i], reverse=True)
    for i in order * 2:
        if left == 0:
            break
        step = min(left, bases[i] - shares[i]) if left > 0 else max(left, -shares[i])
        shares[i] += step
        left -= step
    return shares


def apply_discounts(tenant: Any, user: Any, company: Any,
                    rows: list[OrderLine]) -> list[dict[str, str]]:
    """Take the discounts plugins give (``comptoir_order_discounts``) off ``rows``, before
    VAT; returns what ``order.discounts`` records.

    Each discount is capped at what is left of the lines it names, so no line, and so no
    total, ever goes below zero whatever the plugins return; a malformed answer is logged
    and ignored rather than guessed at.
    """
    from comptoir.toolkit import Discount

    for row in rows:
        row.discount = Decimal("0.00")
        row.discount_label = ""
    answers = hooks(tenant).comptoir_order_discounts(tenant=tenant, user=user,
                                                     company=company, lines=list(rows))
    given = []
    for answer in answers:
        for discount in answer or ():
            # NaN or Infinity would raise in the arithmetic below, outside the plugin's
            # shield: the checkout would fail instead of ignoring the answer.
            if (not isinstance(discount, Discount) or not isinstance(discount.amount, Decimal)
                    or not discount.amount.is_finite()
                    or not isinstance(discount.lines, tuple | list)):
                log.warning("ignored a discount that is not a toolkit Discount with a finite "
                            "Decimal amount and a tuple of line indexes: %r", discount)
                continue
            targets = list(dict.fromkeys(
                i for i in discount.lines
                if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(rows)))
            bases = [rows[i].line_net for i in targets]
            # Capped before rounding: a huge amount has no cents to round to.
            amount = pricing.to_cents(min(discount.amount, sum(bases, Decimal("0"))))
            if amount <= 0:
                continue
            for i, share in zip(targets, _shares(amount, bases), strict=True):
                if share:
                    row = rows[i]
                    row.discount += share
                    row.line_net -= share
                    row.discount_label = "; ".join(
                        part for part in (row.discount_label, discount.label) if part)[:200]
            given.append({"ref": str(discount.ref)[:100], "label": str(discount.label)[:200],
                          "amount": str(amount)})
    return given


def payment_methods(tenant: Any, company: Company | None) -> list[dict[str, str]]:
    found = hooks(tenant).comptoir_payment_methods(tenant=tenant, company=company)
    return [m for methods in found if methods for m in methods]


def place_order(tenant: Any, user: User | None, company: Company | None, *,
                email: str, billing: Address, shipping: Address, shipping_method: str,
                payment_method: str, accepted_prices: str = "",
                shown_tax: str | None = None, shown_discounts: str | None = None) -> Order:
    """Turn the cart into an order, or refuse with a :class:`CheckoutError` and change nothing.

    :param accepted_prices: the :func:`price_signature` of the prices the shopper confirmed
        after being told they changed.
    :param shown_tax: the :attr:`Preview.basis_key` of the summary the shopper saw; if the
        addresses they entered change whose VAT applies (a delivery abroad, a reverse
        charge), the checkout stops and shows the new totals instead of charging others.
    :param shown_discounts: the :attr:`Preview.discounts_key` of the summary the shopper
        saw; if the discounts differ when the order is booked (a promotion ended, a coupon
        ran out meanwhile), the checkout stops and shows the new totals.
    """
    cart = current_cart(user)
    if cart is None or not cart.lines:
        raise CheckoutError("cart", "your cart is empty")
    method = SHIPPING_METHODS.get(shipping_method)
    if method is None:
        raise CheckoutError("shipping_method", f"unknown shipping method '{shipping_method}'")
    if payment_method not in {m["code"] for m in payment_methods(tenant, company)}:
        raise CheckoutError("payment_method", f"'{payment_method}' is not offered here")
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or "\x00" in email:
        raise CheckoutError("email", f"'{email}' is not an e-mail address")
    entitlement = catalog.Entitlement.of(company)
    for line in cart.lines:
        if not _still_buyable(line, entitlement):
            raise CheckoutError("cart", "your cart holds an item you may no longer buy")
    priced = price_cart(tenant, cart, company)
    if priced.changed and accepted_prices != price_signature(priced):
        # The shopper confirms the prices they were shown, not whatever they became since.
        for line, _old, new in priced.changed:
            line.unit_price = new
        db.session.commit()
        raise CheckoutError("prices", "some prices changed since you added the items")

    return book(tenant, user, company, email=email, billing=billing, shipping=shipping,
                method=method, payment_method=payment_method, priced=priced,
                units=wanted_units(cart.lines), shown_tax=shown_tax,
                shown_discounts=shown_discounts, discounts=True,
                consume=lambda order: db.session.delete(cart))


def book(tenant: Any, user: User | None, company: Company | None, *, email: str,
         billing: Address, shipping: Address, method: ShippingMethod, payment_method: str,
         priced: Priced, units: list[tuple[Variant, int]], shown_tax: str | None = None,
         shown_discounts: str | None = None, discounts: bool = False,
         consume: Callable[[Order], None] = lambda order: None) -> Order:
    """Tax, check, reserve and write an order for ``priced`` lines, then call ``consume``
    (delete the cart, mark the quote accepted) in the order's own transaction.

    Shared by the checkout and by quotes, so that an accepted quote meets the same VAT
    engine, the same veto and hold hooks (approval chains) and the same stock desk as a
    cart; raises :class:`CheckoutError` and changes nothing when refused.

    :param discounts: ask plugins for the buyer's discounts (``comptoir_order_discounts``)
        and let them claim what they use (``comptoir_order_booking``): the checkout does,
        an accepted quote does not (its prices were negotiated).
    """
    vat_number = usable_for_reverse_charge(
        tenant, company.vat_number if company is not None else None)
    basis = checkout_basis(tenant, company, shipping.country, vat_number)
    rows = order_lines(tenant, priced, method, basis)
    given = apply_discounts(tenant, user, company, rows) if discounts else []
    if any(row.line_net > MAX_LINE for row in rows) or sum(
            (row.line_net for row in rows), Decimal("0")) > MAX_LINE:
        raise CheckoutError("quantity", "this order is too large to be placed online")
    taxes = _taxes(rows, basis)
    net, vat = taxes.net + _untaxed_net(rows), taxes.vat
    refusal = hooks(tenant).comptoir_checkout_veto(tenant=tenant, user=user, company=company,
                                                   net=net, currency=tenant.currency)
    if refusal:
        raise CheckoutError("approval", str(refusal))
    summary = Preview(method.price, net, taxes, net + vat, basis, given, rows)
    if shown_tax is not None and shown_tax != summary.basis_key:
        db.session.commit()  # keep the VIES answer, if one was asked for
        raise CheckoutError("tax", summary.basis_key)
    if shown_discounts is not None and shown_discounts != summary.discounts_key:
        db.session.commit()
        raise CheckoutError("discounts", summary.discounts_key)
    # Stock first, in the office's own transaction, before this one writes anything: the
    # guarded UPDATE decides who gets the last unit, and SQLite allows one writer at a time.
    reference = f"{tenant.slug}-{uuid.uuid4().hex[:16]}"
    online = is_online(tenant, company, payment_method)
    try:
        _reserve(tenant, reference, units, online=online)
    except stock.Shortage as short:
        raise CheckoutError("stock", f"only {short.available} of {short.sku} left") from short
    try:
        order = Order(
            number=_next_number(), reference=reference, status=PLACED, email=email,
            user_id=user.id if user else None, company_id=company.id if company else None,
            billing_address=vars(billing), shipping_address=vars(shipping),
            shipping_method=method.code, payment_method=payment_method,
            currency=tenant.currency, total_net=net, total_vat=vat, total_gross=net + vat,
            vat_breakdown=taxes.breakdown(), lines=rows, discounts=given,
            tax_country=basis.country,
            vat_regime=basis.regime, buyer_vat_number=basis.vat_number,
            destination_country=shipping.country,
            expected_delivery=expected_delivery(not priced.short, method),
            due_date=due_date_for(company, payment_method, tax.today(tenant)),
        )
        db.session.add(order)
        db.session.flush()
        if discounts:
            refusal = hooks(tenant).comptoir_order_booking(tenant=tenant, order=order,
                                                           user=user)
            if refusal:
                raise CheckoutError("promotion", str(refusal))
        hold = hooks(tenant).comptoir_checkout_hold(tenant=tenant, order=order, user=user)
        order.status = (PENDING_APPROVAL if hold else AWAITING_PAYMENT if online
                        else PLACED)
        actor = user.email if user else email
        db.session.add(OrderEvent(order=order, actor=actor, from_status=None,
                                  to_status=order.status, note=hold or ""))
        consume(order)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for owner in stock_owners(tenant):
            stock.release(owner, reference)
        raise
    if hold and online:
        # Waiting for an approval chain takes days, not the card form's minutes: the stock
        # is the order's until the chain decides (a rejection cancels and releases it).
        for owner in stock_owners(tenant):
            stock.commit(owner, reference)
    hooks(tenant).comptoir_order_event(tenant=tenant, order=order,
                                       event="held" if hold else "placed")
    return order


def due_date_for(company: Company | None, payment_method: str, day: date) -> date | None:
    """When an invoice falls due: the company's payment terms after the invoice date."""
    if payment_method != "invoice" or company is None:
        return None
    return day + timedelta(days=company.payment_terms_days)


def stock_owners(tenant: Any) -> tuple[int, ...]:
    """Whose shelves an order of ``tenant`` may take from: its office's, and its own."""
    return tuple(dict.fromkeys((tenant.office_id, tenant.id)))


def change_status(tenant: Any, order: Order, to_status: str, actor: str, note: str = "",
                  *, by_staff: bool = False) -> None:
    """Move an order on, if that step is allowed, with its stock and its audit line.

    The step is claimed with one conditional UPDATE (``WHERE status = <the status seen>``):
    when two people act on the same order at once, one wins and the other is told the
    order moved meanwhile; stock is touched only by the winner.
    """
    if to_status == PLACED and order.status == PENDING_APPROVAL and is_online(
            tenant, order.company, order.payment_method):
        to_status = AWAITING_PAYMENT  # approved: now the buyer pays
    allowed = (STAFF_TRANSITIONS if by_staff else TRANSITIONS).get(order.status, set())
    if to_status not in allowed:
        raise CheckoutError("status", f"an order {order.status} cannot become {to_status}")
    before = order.status
    values: dict[str, Any] = {"status": to_status}
    if to_status == PAID:
        values["paid_at"] = datetime.now(UTC)
    claimed = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == before)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CheckoutError("status", "the order changed meanwhile: reload it")
    db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=before,
                              to_status=to_status, note=note))
    db.session.commit()
    db.session.refresh(order)
    for owner in stock_owners(tenant):
        if to_status == CANCELLED:
            stock.release(owner, order.reference)
        elif to_status == SHIPPED:
            stock.ship(owner, order.reference)
        elif to_status == PAID and before == AWAITING_PAYMENT:
            stock.commit(owner, order.reference)
    if to_status == CANCELLED and order.paid_at is not None and order.refundable > 0:
        try:
            refund(tenant, order, order.refundable, actor, reason="order cancelled")
        except CheckoutError as failed:
            log.error("order %s cancelled but not refunded: %s", order.number, failed.problem)
            db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=CANCELLED,
                                      to_status=CANCELLED,
                                      note=f"refund pending: {failed.problem}"))
            db.session.commit()
    hooks(tenant).comptoir_order_event(tenant=tenant, order=order, event=to_status)


# -- payments -----------------------------------------------------------------------------


def record_payment(tenant: Any, order: Order, actor: str, note: str = "") -> None:
    """The money of an order that already shipped came in (an invoice paid on its terms):
    keep when, without moving the order back to "paid". Claimed with a conditional UPDATE,
    so it is recorded once."""
    if order.status not in (SHIPPED, DELIVERED):
        raise CheckoutError("status", f"an order {order.status} is marked paid through its "
                                      "status, not here")
    claimed = db.session.execute(
        update(Order).where(Order.id == order.id, Order.paid_at.is_(None))
        .values(paid_at=datetime.now(UTC)).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CheckoutError("status", "this order's payment is recorded already")
    db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=order.status,
                              to_status=order.status, note=note or "payment received"))
    db.session.commit()
    db.session.refresh(order)
    hooks(tenant).comptoir_order_event(tenant=tenant, order=order, event="paid")


def is_online(tenant: Any, company: Company | None, payment_method: str) -> bool:
    """Whether ``payment_method`` is paid online: the order then waits for the provider."""
    return any(m.get("online") and m["code"] == payment_method
               for m in payment_methods(tenant, company))


def payment_deadline(order: Order) -> datetime | None:
    """Until when an order awaiting payment may still be paid: the payment window after
    checkout, a few days after an approval chain agreed to it."""
    if order.status != AWAITING_PAYMENT:
        return None
    started = [e for e in order.events if e.to_status == AWAITING_PAYMENT]
    if not started:
        return None
    since = started[-1].at if started[-1].at.tzinfo else started[-1].at.replace(tzinfo=UTC)
    if started[-1].from_status == PENDING_APPROVAL:
        return since + timedelta(days=APPROVED_PAYMENT_DAYS)
    return since + timedelta(minutes=PAYMENT_MINUTES)


def settle(tenant: Any, order: Order, actor: str, note: str = "") -> bool:
    """The payment provider confirmed the money arrived: the order is paid, its stock its own.

    Safe to call twice and from two places at once (the buyer's return page and the
    provider's webhook): the conditional UPDATE lets one through, the other gets ``False``.
    """
    db.session.refresh(order)
    if order.status != AWAITING_PAYMENT:
        return False
    try:
        change_status(tenant, order, PAID, actor, note=note)
    except CheckoutError:
        return False
    if any(stock.released_holds(owner, order.reference) for owner in stock_owners(tenant)):
        # Paid after the hold ran out: staff must find the goods again before shipping.
        log.warning("order %s paid after its stock hold expired", order.number)
        db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=PAID,
                                  to_status=PAID, note="paid after the stock hold expired: "
                                                       "check stock before shipping"))
        db.session.commit()
    return True


def expire_unpaid(tenant: Any, now: datetime | None = None) -> int:
    """Cancel the orders whose payment window closed, and give their stock back.

    Each payment plugin is asked first (``comptoir_payment_abandoned``): it cancels the
    pending payment at the provider, or answers ``False`` when the provider says the money
    came after all, in which case the order is left for the payment to settle.
    """
    moment = now or datetime.now(UTC)
    waiting = db.session.scalars(select(Order).where(Order.status == AWAITING_PAYMENT)).all()
    cancelled = 0
    for order in waiting:
        deadline = payment_deadline(order)
        if deadline is None or deadline > moment:
            continue
        verdict = hooks(tenant).comptoir_payment_abandoned(tenant=tenant, order=order)
        if verdict is False:
            continue
        if verdict is None and is_online(tenant, order.company, order.payment_method):
            # The plugin that takes this payment is on but gave no answer (it failed, and
            # was logged): cancelling now could cancel an order whose payment completes.
            log.warning("order %s kept: its payment plugin could not say whether it was "
                        "paid", order.number)
            continue
        try:
            change_status(tenant, order, CANCELLED, "system",
                          note="payment not received in time")
            cancelled += 1
        except CheckoutError:
            db.session.rollback()  # paid meanwhile
    return cancelled


@periodic("orders.expire_unpaid", minutes=5)
def expire_unpaid_everywhere(now: str | None = None) -> dict[str, int]:
    """Cancel unpaid online orders past their window, in every shop that takes online
    payments (the tenants with a plugin offering a payment page turned on).

    :param now: an ISO 8601 moment to judge by instead of the clock (tests, catching up).
    :return: ``{tenant slug: orders cancelled}`` for the shops that had any.
    """
    moment = datetime.fromisoformat(now) if now else None
    from comptoir.core.scoping import tenant_context
    from comptoir.tenants.models import Tenant
    from comptoir.tenants.resolution import directory

    online = plugin_host().implementing("comptoir_payment_page")
    ids = db.session.scalars(select(Tenant.id).order_by(Tenant.id)).all()
    db.session.commit()
    done: dict[str, int] = {}
    for tenant_id in ids:
        tenant = directory().by_id(tenant_id)
        if tenant is None or not (tenant.plugins & online):
            continue
        with tenant_context(db.session, tenant.id, tenant.office_id):
            cancelled = expire_unpaid(tenant, moment)
            db.session.commit()
        if cancelled:
            log.info("%s: %s unpaid orders cancelled", tenant.slug, cancelled)
            done[tenant.slug] = cancelled
    return done


def refund(tenant: Any, order: Order, amount: Decimal, actor: str, *, reason: str = "",
           return_id: int | None = None) -> Refund:
    """Give ``amount`` (VAT included) back through the way the order was paid.

    Never more than what is left to refund; the payment plugin is asked before anything is
    written, so a refusal from the provider changes nothing here.

    :raises CheckoutError: naming the problem (amount, status, provider).
    """
    if not isinstance(amount, Decimal) or not amount.is_finite() or abs(amount) > MAX_LINE:
        raise CheckoutError("amount", f"'{amount}' is not an amount")
    amount = amount.quantize(Decimal("0.01"))
    if order.status in (PENDING_APPROVAL, AWAITING_PAYMENT) or (
            order.status == CANCELLED and order.paid_at is None):
        raise CheckoutError("refund", "nothing was paid for this order")
    if amount <= 0:
        raise CheckoutError("amount", "must be more than zero")
    # Lock the order until this refund is recorded (PostgreSQL; SQLite has one writer at a
    # time): two staff members refunding at once are served one after the other, and the
    # second sees the first's refund in what is left.
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    db.session.refresh(order)
    if amount > order.refundable:
        raise CheckoutError("amount", f"at most {order.refundable} is left to refund")
    # A plugin that raises is logged and answers None (see PluginHost.shield): either way
    # nothing is recorded and staff are told, to try again or refund by other means.
    reference = hooks(tenant).comptoir_refund(tenant=tenant, order=order, amount=amount)
    if not reference:
        raise CheckoutError("refund", f"the refund of {amount} {order.currency} by "
                                      f"'{order.payment_method}' did not go through (see the "
                                      "log); nothing was recorded")
    done = Refund(order_id=order.id, amount=amount, reference=str(reference)[:120],
                  reason=reason.strip()[:2000], actor=actor, return_id=return_id)
    db.session.add(done)
    db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=order.status,
                              to_status=order.status,
                              note=f"refunded {amount} {order.currency}: {reference}"))
    db.session.commit()
    db.session.refresh(order)
    return done


# -- returns ------------------------------------------------------------------------------


def delivered_on(order: Order) -> date | None:
    moments = [e.at for e in order.events if e.to_status == DELIVERED]
    return moments[-1].date() if moments else None


def return_deadline(tenant: Any, order: Order) -> date | None:
    """The last day the customer may ask to send the order back."""
    delivered = delivered_on(order)
    if delivered is None or order.status != DELIVERED:
        return None
    days = hooks(tenant).comptoir_withdrawal_days(tenant=tenant) or 14
    return delivered + timedelta(days=int(days))


def open_return(order: Order) -> ReturnRequest | None:
    return db.session.scalars(select(ReturnRequest).where(
        ReturnRequest.order_id == order.id,
        ReturnRequest.status.in_(("requested", "accepted")))).first()


#: Returns that hold their units: asked for, on the way, or back. A rejected one does not.
CLAIMING_RETURNS = ("requested", "accepted", "received", "refunded")
#: Returns whose units are back on the shelves.
RECEIVED_RETURNS = ("received", "refunded")


def _goods_lines(order: Order) -> list[OrderLine]:
    """What a customer may send back: every line but the delivery."""
    return [line for line in order.lines if not line.is_shipping]


def return_lines(request: ReturnRequest) -> list[tuple[OrderLine, int]]:
    """``(order line, units)`` that ``request`` sends back, in the order's line order.

    A request with no lines of its own (made before returns went line by line) sends every
    goods line back in full.
    """
    order = request.order
    if not request.lines:
        return [(line, line.quantity) for line in _goods_lines(order)]
    asked: dict[int, int] = defaultdict(int)
    for row in request.lines:
        asked[row.order_line_id] += row.quantity
    return [(line, asked[line.id]) for line in order.lines if asked.get(line.id)]


def _units_in(order: Order, statuses: tuple[str, ...]) -> dict[int, int]:
    units: dict[int, int] = defaultdict(int)
    requests = db.session.scalars(select(ReturnRequest).where(
        ReturnRequest.order_id == order.id, ReturnRequest.status.in_(statuses))
        .order_by(ReturnRequest.id)).all()
    for request in requests:
        for line, quantity in return_lines(request):
            units[line.id] += quantity
    return dict(units)


def returned_quantities(order: Order) -> dict[int, int]:
    """Units sent back per order line id, counting the returns received (or received and
    refunded); lines with nothing back are left out.

    What a commission plugin needs to reverse commissions line by line, on the
    ``partly_returned`` and ``returned`` events. A return with no lines of its own (made
    before returns went line by line) counts every goods line in full; the delivery line
    is never returned.
    """
    return {line_id: units for line_id, units in _units_in(order, RECEIVED_RETURNS).items()
            if units > 0}


def returnable_quantities(order: Order) -> dict[int, int]:
    """Units the customer may still ask back per goods line id: what was bought, less what
    an earlier return (requested, accepted, received or refunded; not rejected) holds."""
    claimed = _units_in(order, CLAIMING_RETURNS)
    return {line.id: max(line.quantity - claimed.get(line.id, 0), 0)
            for line in _goods_lines(order)}


def _return_quantity(value: Any) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise CheckoutError("quantity", f"'{str(value)[:20]}' is not a whole number of units")
    return int(text)


def _chosen_lines(order: Order, lines: Mapping[Any, Any] | None) -> dict[int, int]:
    """Check what the customer asks back (``{order line id: units}``, ``None`` for
    everything not yet returned) and answer it as ``{line id: units}``, units above 0.

    The lines of a configuration split across VAT classes (same code) are one item: a
    quantity given for one of them stands for all, and different ones are refused.
    """
    left = returnable_quantities(order)
    if lines is None:
        chosen = {line_id: units for line_id, units in left.items() if units > 0}
        if not chosen:
            raise CheckoutError("lines", "everything in this order has already been sent back")
        return chosen
    by_id = {str(line.id): line for line in order.lines}
    asked: dict[int, int] = {}
    for key, value in lines.items():
        line = by_id.get(str(key).strip())
        if line is None:
            raise CheckoutError("lines", f"line '{str(key)[:20]}' is not in this order")
        if line.is_shipping:
            raise CheckoutError("lines", "the delivery cannot be sent back")
        if line.id in asked:
            raise CheckoutError("lines", f"line '{line.id}' is listed twice")
        asked[line.id] = _return_quantity(value)
    groups: dict[str, list[OrderLine]] = defaultdict(list)
    for line in _goods_lines(order):
        groups[line.sku].append(line)
    for parts in groups.values():
        given = {asked[part.id] for part in parts if part.id in asked}
        if len(given) > 1:
            raise CheckoutError("quantity", f"the parts of '{parts[0].name}' go back "
                                            "together: ask the same quantity for each")
        if given:
            units = given.pop()
            asked.update({part.id: units for part in parts})
    for line_id, units in asked.items():
        if units > left.get(line_id, 0):
            line = next(x for x in order.lines if x.id == line_id)
            raise CheckoutError("quantity", f"at most {left.get(line_id, 0)} of "
                                            f"'{line.name}' can still be sent back")
    chosen = {line_id: units for line_id, units in asked.items() if units > 0}
    if not chosen:
        raise CheckoutError("lines", "choose at least one item to send back")
    return chosen


def _summary(order: Order, units: Mapping[int, int]) -> str:
    """``1 × LAPTOP-FR, 2 × SCREEN`` for the order's audit trail."""
    seen: dict[str, int] = {}
    for line in order.lines:
        if units.get(line.id):
            seen.setdefault(line.sku, units[line.id])
    return ", ".join(f"{quantity} × {sku}" for sku, quantity in seen.items())


def request_return(tenant: Any, order: Order, actor: str, reason: str,
                   today: date | None = None,
                   lines: Mapping[Any, Any] | None = None) -> ReturnRequest:
    """The customer asks to send goods of a delivered order back, within the withdrawal
    period; one return at a time.

    :param lines: ``{order line id: units}`` to send back (ids and units may be the form's
        strings; a line at 0 stays with the customer); ``None`` sends back everything not
        yet in an earlier return.
    :raises CheckoutError: naming the problem, with nothing recorded: a line of another
        order or the delivery line, units that are not a whole number or more than what is
        left to return (units in an earlier return that was not rejected count as gone),
        nothing chosen.
    """
    deadline = return_deadline(tenant, order)
    if deadline is None:
        raise CheckoutError("return", "only a delivered order can be sent back")
    if (today or date.today()) > deadline:
        raise CheckoutError("return", f"the withdrawal period ended on {deadline.isoformat()}")
    if open_return(order) is not None:
        raise CheckoutError("return", "a return is already under way for this order")
    chosen = _chosen_lines(order, lines)
    request = ReturnRequest(order_id=order.id, reason=reason.strip()[:2000],
                            lines=[ReturnLine(order_line_id=line_id, quantity=units)
                                   for line_id, units in sorted(chosen.items())])
    db.session.add(request)
    db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=order.status,
                              to_status=order.status,
                              note=f"return requested: {_summary(order, chosen)}"))
    db.session.commit()
    return request


def decide_return(request: ReturnRequest, accept: bool, actor: str) -> None:
    if request.status != "requested":
        raise CheckoutError("return", f"this return is already {request.status}")
    request.status = "accepted" if accept else "rejected"
    db.session.add(OrderEvent(order_id=request.order_id, actor=actor,
                              from_status=request.order.status,
                              to_status=request.order.status,
                              note=f"return {request.status}"))
    db.session.commit()


def receive_return(tenant: Any, request: ReturnRequest, actor: str) -> None:
    """The parcel is back: its units go back on the shelves and are refunded through the
    order's payment method.

    When every goods line is back in full (this parcel and the earlier ones), the order
    becomes ``returned`` (event ``returned``) and whatever the order still has out comes
    back on the shelves; otherwise it stays ``delivered``, only the units of this return
    are restocked, and ``comptoir_order_event`` is called with ``partly_returned`` once
    that is committed. Then the refund (see :func:`retry_return_refund`).

    The return is claimed with one conditional UPDATE: two staff members receiving the same
    parcel at once restock and refund it once.
    """
    if request.status != "accepted":
        raise CheckoutError("return", "accept the return before receiving it")
    order = request.order
    back = {line.id: units for line, units in return_lines(request)}
    before = returned_quantities(order)
    complete = all(before.get(line.id, 0) + back.get(line.id, 0) >= line.quantity
                   for line in _goods_lines(order))
    claimed = db.session.execute(
        update(ReturnRequest).where(ReturnRequest.id == request.id,
                                    ReturnRequest.status == "accepted")
        .values(status="received").execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CheckoutError("return", "the return changed meanwhile: reload it")
    if complete:
        change_status(tenant, order, RETURNED, actor, note="goods received")
        for owner in stock_owners(tenant):
            stock.restock(owner, order.reference)
    else:
        db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=order.status,
                                  to_status=order.status,
                                  note=f"goods received: {_summary(order, back)}"))
        db.session.commit()
        _restock_lines(tenant, order, back)
    db.session.commit()
    db.session.refresh(request)
    if not complete:
        hooks(tenant).comptoir_order_event(tenant=tenant, order=order, event="partly_returned")
    retry_return_refund(tenant, request, actor)


def _restock_lines(tenant: Any, order: Order, back: Mapping[int, int]) -> None:
    """Put the units of ``back`` (``{order line id: units}``) on the shelves they left.

    A line's variant is found by its SKU; a configuration's line (its code as SKU) brings
    back its items as the configuration lists them today, once for all its VAT parts.
    What cannot be matched to a shipped reservation any more (a variant or configuration
    since deleted, a configuration whose items changed) is logged and left for staff to
    count by hand; products that are not stocked have nothing to restock.
    """
    units: dict[int, int] = defaultdict(int)
    owners: dict[int, int] = {}
    done_skus: set[str] = set()
    for line in order.lines:
        quantity = back.get(line.id, 0)
        if quantity <= 0 or line.sku in done_skus:
            continue
        done_skus.add(line.sku)
        variant = catalog.find_variant(line.sku)
        if variant is not None:
            parts = [(variant, 1)]
        else:
            configuration = db.session.scalars(
                select(Configuration).where(Configuration.code == line.sku)).first()
            if configuration is None:
                log.warning("order %s: %s × %s back but not restocked: no variant or "
                            "configuration %s any more", order.number, quantity, line.sku,
                            line.sku)
                continue
            parts = [(item.variant, item.quantity) for item in configuration.items]
        for part, per in parts:
            if part.product.stocked:
                units[part.id] += per * quantity
                owners[part.id] = part.tenant_id
    by_owner: dict[int, dict[int, int]] = defaultdict(dict)
    for variant_id, quantity in units.items():
        by_owner[owners[variant_id]][variant_id] = quantity
    for owner, wanted in by_owner.items():
        put = stock.restock_units(owner, order.reference, wanted)
        for variant_id, quantity in wanted.items():
            if put.get(variant_id, 0) < quantity:
                log.warning("order %s: %s of variant %s back but only %s were still out "
                            "for it: count the rest by hand", order.number, quantity,
                            variant_id, put.get(variant_id, 0))


def return_value(request: ReturnRequest) -> Decimal:
    """What the units of ``request`` are worth, VAT included: for each line, its share of
    the line's net price (``line_net × units / quantity``) and VAT on that share at the
    line's rate, each rounded half-up to the cent.

    A return is priced line by line whatever the shop's rounding method, so it may differ
    by a cent from the order's own VAT rounded per invoice; the return that brings the
    last units back refunds what is left of the order instead (see
    :func:`retry_return_refund`), so a fully returned order is refunded to the cent.
    """
    total = Decimal("0.00")
    for line, units in return_lines(request):
        net = to_cents(line.line_net * units / line.quantity)
        vat = to_cents(net * line.vat_rate / 100) if line.vat_rate is not None else Decimal(0)
        total += net + vat
    return total


def retry_return_refund(tenant: Any, request: ReturnRequest, actor: str) -> bool:
    """Refund a received return; ``False`` (and a note) if the provider refused, for staff
    to try again.

    A partial return refunds :func:`return_value` (less what was already refunded for
    it), never more than the order's :attr:`~Order.refundable`. Once the order is
    ``returned`` (every goods line back), the return refunds everything left on the order,
    delivery included, as a withdrawal of the whole order does. Nothing left to refund
    (refunded by hand already): the return is marked refunded.
    """
    order = request.order
    db.session.refresh(order)
    given = sum((r.amount for r in order.refunds if r.return_id == request.id), Decimal(0))
    if order.status == RETURNED:
        due = order.refundable
    else:
        due = min(return_value(request) - given, order.refundable)
    if due <= 0:  # refunded by hand already
        request.status = "refunded"
        request.refund_reference = order.refunds[-1].reference if order.refunds else ""
        db.session.commit()
        return True
    try:
        done = refund(tenant, order, due, actor, reason="return received",
                      return_id=request.id)
    except CheckoutError as failed:
        db.session.rollback()
        request.status = "received"
        db.session.add(OrderEvent(order_id=order.id, actor=actor, from_status=order.status,
                                  to_status=order.status,
                                  note=f"refund pending: {failed.problem}"))
        db.session.commit()
        return False
    request.status = "refunded"
    request.refund_reference = done.reference
    db.session.commit()
    return True


def orders_of(user: User) -> list[Order]:
    """A customer's orders; a company admin sees the whole company's."""
    query = select(Order).order_by(Order.number.desc())
    if user.role == "company_admin" and user.company_id is not None:
        query = query.where(Order.company_id == user.company_id)
    else:
        query = query.where(Order.user_id == user.id)
    return list(db.session.scalars(query))


def register_after_order(order: Order, name: str, password: str) -> User:
    """Lazy registration: the guest who just ordered becomes a customer in one step."""
    if order.user_id is not None:
        raise CheckoutError("account", "this order already belongs to an account")
    if db.session.scalars(select(User).where(User.email == order.email)).first():
        raise CheckoutError("email", "an account with this e-mail exists: log in instead")
    if not name.strip():
        raise CheckoutError("name", "is required")
    from comptoir.accounts.passwords import password_problems

    problems = password_problems(password, user_inputs=(order.email, name))
    if problems:  # the account policy: length, common passwords, own e-mail or name
        raise CheckoutError("password", " ".join(problems))
    user = User(email=order.email, name=name.strip()[:200], role="customer")
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    order.user_id = user.id
    db.session.add(OrderEvent(order_id=order.id, actor=user.email, from_status=order.status,
                              to_status=order.status, note="account created after the order"))
    return user

