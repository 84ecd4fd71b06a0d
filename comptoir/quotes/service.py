"""Quotes both ways (seed, section 4): what a reseller offers and what a customer asks for.

- A reseller's staff writes a quote for a customer company, at the prices it chooses, valid
  until a date, and sends it to one of the company's people with a signed link; that person
  accepts it in one click, from the link (no login: the signature speaks for them) or from
  their account. Acceptance places an order at the quoted prices through the same code as
  the checkout (:func:`comptoir.orders.service.book`): VAT, stock, and the approval chain,
  which holds the order if it exceeds the accepter's ceiling.
- A customer turns their cart into a request for a quote; the reseller answers with a new
  version, the customer asks for changes or accepts.

Every change is a new version; a link names its version, so a superseded offer cannot be
accepted. A quote is accepted once: the acceptance is claimed with a conditional UPDATE in
the order's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from comptoir.catalog import pricing
from comptoir.catalog.models import Configuration, Variant
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.orders import service as orders
from comptoir.quotes.models import (
    ACCEPTED,
    CHANGES_REQUESTED,
    DECLINED,
    REQUESTED,
    SENT,
    Quote,
    QuoteEvent,
    QuoteLine,
)

VALIDITY_DAYS = 30
MAX_VALIDITY_DAYS = 365
MAX_LINES = 100
SALT = "comptoir.quote-accept"


class QuoteError(ValueError):
    """A quote step refused; ``field`` names what to fix, and nothing changed."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


@dataclass(frozen=True)
class Wanted:
    """One line as written by its author, before it is checked."""

    sku: str
    quantity: int
    unit_net: Decimal | None = None


LINE = re.compile(r"^\s*(?P<sku>\S+)\s+(?P<qty>\S+)(?:\s+(?P<price>\S+))?\s*$")


def parse_lines(text: str) -> list[Wanted]:
    """``SKU quantity [unit price]`` per line, as staff type them; errors name the line."""
    wanted = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = LINE.match(raw)
        if match is None:
            raise QuoteError("lines", f"line {number}: write 'SKU quantity [unit price]'")
        qty = match["qty"]
        if not (qty.isascii() and qty.isdigit()) or not 0 < int(qty) <= orders.MAX_QUANTITY:
            raise QuoteError("lines", f"line {number}: '{qty}' is not a quantity from 1 to "
                                      f"{orders.MAX_QUANTITY}")
        price = None
        if match["price"] is not None:
            try:
                price = Decimal(match["price"].replace(",", "."))
            except InvalidOperation:
                price = None
            if price is None or not price.is_finite() or price < 0 \
                    or price != price.quantize(Decimal("0.01")) or price > orders.MAX_LINE:
                raise QuoteError("lines", f"line {number}: '{match['price']}' is not a price "
                                          "of at least 0 with at most 2 decimals")
        wanted.append(Wanted(match["sku"], int(qty), price))
    if not wanted:
        raise QuoteError("lines", "a quote needs at least one line")
    if len(wanted) > MAX_LINES:
        raise QuoteError("lines", f"a quote has at most {MAX_LINES} lines")
    return wanted


def _item(sku: str) -> Variant | Configuration | None:
    variant = db.session.scalars(select(Variant).where(Variant.sku == sku,
                                                       Variant.active.is_(True))).first()
    if variant is not None and variant.product.active:
        return variant
    return db.session.scalars(select(Configuration).where(Configuration.code == sku)).first()


def _lines(tenant: Any, company: Company, wanted: list[Wanted], version: int) -> list[QuoteLine]:
    """Quote lines for ``wanted``; a missing price is the company's price today."""
    lines = []
    for item in wanted:
        found = _item(item.sku)
        if found is None:
            raise QuoteError("lines", f"'{item.sku}' is not sold in this shop")
        if isinstance(found, Variant):
            price = item.unit_net if item.unit_net is not None \
                else pricing.variant_price(tenant, found, company).net
            lines.append(QuoteLine(version=version, variant_id=found.id, sku=found.sku,
                                   name=found.product.name, quantity=item.quantity,
                                   unit_net=price))
        else:
            price = item.unit_net if item.unit_net is not None \
                else pricing.configuration_price(tenant, found, company).net
            lines.append(QuoteLine(version=version, configuration_id=found.id, sku=found.code,
                                   name=found.name, quantity=item.quantity, unit_net=price))
    return lines


def _validity(value: Any, today: date) -> date:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if text else today + timedelta(days=VALIDITY_DAYS)
        except ValueError:
            raise QuoteError("valid_until", f"'{text}' is not a date (YYYY-MM-DD)") from None
    if value < today:
        raise QuoteError("valid_until", "the validity date is in the past")
    if value > today + timedelta(days=MAX_VALIDITY_DAYS):
        raise QuoteError("valid_until", f"a quote is valid for {MAX_VALIDITY_DAYS} days at most")
    return value


def _next_number() -> int:
    return (db.session.scalar(select(func.max(Quote.number))) or 0) + 1


def _recipient(company: Company, user_id: Any) -> User:
    user = db.session.get(User, int(user_id)) if str(user_id).isdigit() else None
    if user is None or user.company_id != company.id:
        raise QuoteError("recipient", "choose a person of the customer company")
    return user


def create_offer(tenant: Any, company: Company, author: User, lines_text: str,
                 recipient_id: Any, valid_until: Any = "", note: str = "") -> Quote:
    """A reseller's quote for ``company``, version 1, sent to ``recipient_id``."""
    from comptoir.tax.basis import today

    recipient = _recipient(company, recipient_id)
    quote = Quote(number=_next_number(), company_id=company.id, status=SENT, version=1,
                  valid_until=_validity(valid_until, today(tenant)), currency=tenant.currency,
                  recipient_id=recipient.id)
    quote.lines = _lines(tenant, company, parse_lines(lines_text), 1)
    quote.events.append(QuoteEvent(actor=author.email, action="sent", version=1,
                                   note=note.strip()[:2000]))
    db.session.add(quote)
    db.session.flush()
    return quote


def request_from_cart(tenant: Any, user: User, note: str = "") -> Quote:
    """The customer's cart as a request for a quote, at today's prices; the cart stays."""
    from comptoir.tax.basis import today

    if user.company_id is None:
        raise QuoteError("cart", "quotes are for company customers")
    cart = orders.current_cart(user)
    if cart is None or not cart.lines:
        raise QuoteError("cart", "your cart is empty")
    company = user.company
    lines = []
    for line in cart.lines:
        price = orders.line_price(tenant, line, company).net
        item = line.variant if line.variant_id is not None else line.configuration
        lines.append(QuoteLine(
            version=1, variant_id=line.variant_id, configuration_id=line.configuration_id,
            sku=item.sku if line.variant_id is not None else item.code,
            name=item.product.name if line.variant_id is not None else item.name,
            quantity=line.quantity, unit_net=price))
    quote = Quote(number=_next_number(), company_id=company.id, status=REQUESTED, version=1,
                  valid_until=today(tenant) + timedelta(days=VALIDITY_DAYS),
                  currency=tenant.currency, recipient_id=user.id, lines=lines)
    quote.events.append(QuoteEvent(actor=user.email, action="requested", version=1,
                                   note=note.strip()[:2000]))
    db.session.add(quote)
    db.session.flush()
    return quote


def revise(tenant: Any, quote: Quote, author: User, lines_text: str, valid_until: Any = "",
           note: str = "", recipient_id: Any = None) -> Quote:
    """The reseller's new version: new lines or prices, sent again."""
    from comptoir.tax.basis import today

    if quote.status in (ACCEPTED, DECLINED):
        raise QuoteError("status", f"this quote is {quote.status}")
    company = db.session.get(Company, quote.company_id)
    recipient = _recipient(company, recipient_id if recipient_id else quote.recipient_id)
    version = quote.version + 1
    new_lines = _lines(tenant, company, parse_lines(lines_text), version)
    quote.valid_until = _validity(valid_until, today(tenant))
    quote.version, quote.status, quote.recipient_id = version, SENT, recipient.id
    quote.lines.extend(new_lines)
    quote.events.append(QuoteEvent(actor=author.email, action="sent", version=version,
                                   note=note.strip()[:2000]))
    db.session.flush()
    return quote


def ask_changes(quote: Quote, user: User, note: str) -> None:
    _customer_step(quote, user)
    if not note.strip():
        raise QuoteError("note", "say what should change")
    quote.status = CHANGES_REQUESTED
    quote.events.append(QuoteEvent(actor=user.email, action="changes_requested",
                                   version=quote.version, note=note.strip()[:2000]))


def decline(quote: Quote, user: User, note: str = "") -> None:
    _customer_step(quote, user)
    quote.status = DECLINED
    quote.events.append(QuoteEvent(actor=user.email, action="declined", version=quote.version,
                                   note=note.strip()[:2000]))


def _customer_step(quote: Quote, user: User) -> None:
    if user.company_id != quote.company_id:
        raise QuoteError("quote", "this quote is not your company's")
    if quote.status != SENT:
        raise QuoteError("status", "this quote waits for no answer from you")


def expired(tenant: Any, quote: Quote) -> bool:
    from comptoir.tax.basis import today

    return quote.valid_until < today(tenant)


# -- signed links ---------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def link_token(quote: Quote) -> str:
    """What the e-mail's link carries: the quote, its version, the person it speaks for."""
    return _serializer().dumps({"q": quote.id, "v": quote.version, "u": quote.recipient_id})


def read_token(tenant: Any, token: str) -> tuple[Quote, User]:
    """The quote and person a link speaks for; :class:`QuoteError` if tampered, expired
    (past the quote's validity) or superseded by a newer version."""
    max_age = int(timedelta(days=MAX_VALIDITY_DAYS + 1).total_seconds())
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise QuoteError("link", "this link has expired") from None
    except BadSignature:
        raise QuoteError("link", "this link is not valid: it was changed or cut") from None
    quote = db.session.get(Quote, data.get("q")) if isinstance(data, dict) else None
    user = db.session.get(User, data.get("u")) if quote is not None else None
    if quote is None or user is None or user.company_id != quote.company_id:
        raise QuoteError("link", "this link is not valid: it was changed or cut")
    if data.get("v") != quote.version:
        raise QuoteError("link", "this offer was replaced by a newer version: see your "
                                 "account or the latest e-mail")
    return quote, user


# -- acceptance -----------------------------------------------------------------------------


def accept(tenant: Any, quote: Quote, user: User) -> Any:
    """Place the order of ``quote`` as ``user``, at the quoted prices, exactly once.

    The order is delivered to the company's default address and paid on invoice; VAT, stock
    and the approval chain apply as at checkout (a held order waits for approval).
    """
    from comptoir.customers.service import addresses

    _customer_step(quote, user)
    if expired(tenant, quote):
        raise QuoteError("valid_until", f"this quote expired on {quote.valid_until.isoformat()}")
    company = db.session.get(Company, quote.company_id)
    book = addresses(company)
    if not book:
        raise QuoteError("address", "your company has no address yet: add one in your account")
    home = next((a for a in book if a.is_default), book[0])
    address = orders.Address(name=home.name, street=home.street, postcode=home.postcode,
                             city=home.city, country=home.country, company=company.name)
    lines = quote.current_lines
    priced = orders.Priced(lines=[
        (line, pricing.Price(_public(tenant, line), line.unit_net), None) for line in lines])
    version = quote.version

    def consume(order: Any) -> None:
        claimed = db.session.execute(
            update(Quote).where(Quote.id == quote.id, Quote.status == SENT,
                                Quote.version == version)
            .values(status=ACCEPTED, order_id=order.id)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            raise QuoteError("status", "this quote was answered meanwhile")
        db.session.add(QuoteEvent(quote_id=quote.id, actor=user.email, action="accepted",
                                  version=version, note=f"order {order.number}"))

    try:
        order = orders.book(
            tenant, user, company, email=user.email, billing=address, shipping=address,
            method=orders.SHIPPING_METHODS["standard"], payment_method="invoice",
            priced=priced, units=orders.wanted_units(lines), consume=consume)
    except orders.CheckoutError as refused:
        raise QuoteError(refused.field, refused.problem) from None
    db.session.refresh(quote)
    return order


def _public(tenant: Any, line: QuoteLine) -> Decimal:
    """The public price today, shown struck through beside the agreed one."""
    if line.variant is not None:
        return max(line.variant.public_price, line.unit_net)
    return max(pricing.configuration_price(tenant, line.configuration).public, line.unit_net)


def valid_through(quote: Quote) -> datetime:
    """The last moment a quote may be accepted (end of its validity day)."""
    return datetime.combine(quote.valid_until, time.max)
