"""The rule language that picks a campaign's readers: ``bought_in:imprimantes and not
inactive_weeks:26``.

Why a language of its own rather than a form with a field per criterion: an office combines
criteria freely ("bought a printer, or spent more than 1000 €, but not a company"), and a rule
is one line of text that is stored with the campaign, shown back to the staff and read by
anyone. It is parsed by a small hand-written recursive-descent parser (never ``eval``), so a
rule that does not parse is refused with the position and the problem, before anything is
sent. The grammar::

    rule := expr | (nothing: every subscriber)
    expr := conj ("or" conj)*
    conj := unary ("and" unary)*           -- "and" binds tighter than "or"
    unary := "not" unary | "(" expr ")" | term
    term := name [":" value]

Terms (each evaluated as ONE SQL query in the current tenant, see :func:`matching`):

``bought_in:<category>``       a paid, shipped or delivered order with a line in that category
``viewed_not_bought:<days>``   viewed a product in the last days, not ordered since
``spent_over:<amount>``        more than this spent (total incl. VAT, cancelled orders apart)
``inactive_weeks:<n>``         no order in the last n weeks (never ordered included)
``birthday_this_week``         a birthday between this Monday and Sunday (the shop's today)
``company`` / ``individual``   the subscriber's account belongs to a company, or not
``country:<CC>``               the subscriber's country, else their last order's
``language:<code>``            the language the subscriber reads (``fr`` matches ``fr_FR``)
``theme:<name>``               the subscriber chose that theme, or no theme at all (= all)

A subscriber is the person behind an address; their orders are those of their account and,
for purchases without an account, those placed with their address. Orders live in the
subscriber's own shop (a reseller's customers order at the reseller), which is the current
tenant when the rule is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, extract, func, not_, or_, select

from comptoir.toolkit import (
    Order,
    current_tenant_id,
    db,
    plugin_translations,
    shop_today,
    tenant_by_id,
)
from plugins.newsletters.models import ProductView, Subscriber

_ = plugin_translations("plugins.newsletters").gettext

#: A rule longer than this is refused: nobody writes one, and it bounds the parser's work.
MAX_LENGTH = 2000
#: Parentheses and "not" nested deeper than this are refused (Python's recursion limit).
MAX_DEPTH = 50
#: Orders that count as a purchase for ``bought_in``.
BOUGHT = ("paid", "shipped", "delivered")
#: Order statuses whose amount counts in ``spent_over``.
SPENT = ("placed", *BOUGHT)
CANCELLED = "cancelled"

_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<word>[^\s()]+))")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}")
_THEME = re.compile(r"[a-z0-9_]{1,40}")
_AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
_WHOLE = re.compile(r"[0-9]{1,6}")


class SegmentError(ValueError):
    """A rule that does not parse; the message names the position (1 = first character)
    and the problem, e.g. ``unknown term 'boughtin' at 1``."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


# --- the rule's tree ---------------------------------------------------------------------


class Rule:
    """A parsed rule; :func:`matching` evaluates it."""


@dataclass(frozen=True)
class Everyone(Rule):
    """The empty rule: every subscriber."""

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True)
class Term(Rule):
    name: str
    value: Any = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True)
class Not(Rule):
    rule: Rule

    def __str__(self) -> str:
        return f"not {_grouped(self.rule)}"


@dataclass(frozen=True)
class And(Rule):
    rules: tuple[Rule, ...]

    def __str__(self) -> str:
        return " and ".join(_grouped(r) for r in self.rules)


@dataclass(frozen=True)
class Or(Rule):
    rules: tuple[Rule, ...]

    def __str__(self) -> str:
        return " or ".join(str(r) if not isinstance(r, Or) else f"({r})" for r in self.rules)


def _grouped(rule: Rule) -> str:
    return f"({rule})" if isinstance(rule, (And, Or)) else str(rule)


# --- terms and their values --------------------------------------------------------------


def _whole(name: str, text: str, position: int, low: int, high: int) -> int:
    if not _WHOLE.fullmatch(text):
        raise SegmentError(_("expected a whole number after %(term)s: at %(position)s",
                             term=name, position=position), position)
    number = int(text)
    if not low <= number <= high:
        raise SegmentError(_("%(term)s: takes a number from %(low)s to %(high)s, not "
                             "%(value)s, at %(position)s", term=name, low=low, high=high,
                             value=text, position=position), position)
    return number


def _days(text: str, position: int) -> int:
    return _whole("viewed_not_bought", text, position, 1, 365)


def _weeks(text: str, position: int) -> int:
    return _whole("inactive_weeks", text, position, 1, 520)


def _amount(text: str, position: int) -> Decimal:
    if not _AMOUNT.fullmatch(text):
        raise SegmentError(_("expected a number after spent_over: at %(position)s (e.g. "
                             "spent_over:500 or spent_over:99.90)", position=position),
                           position)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise SegmentError(_("expected a number after spent_over: at %(position)s",
                             position=position), position) from None


def _pattern(name: str, what: str, pattern: re.Pattern[str]) -> Any:
    def read(text: str, position: int) -> str:
        if not pattern.fullmatch(text):
            raise SegmentError(_("expected %(what)s after %(term)s: at %(position)s, not "
                                 "'%(value)s'", what=what, term=name, position=position,
                                 value=text), position)
        return text

    return read


#: name -> how to read its value (``None``: the term takes no value).
TERMS: dict[str, Any] = {
    "bought_in": _pattern("bought_in", "a category slug", _SLUG),
    "viewed_not_bought": _days,
    "spent_over": _amount,
    "inactive_weeks": _weeks,
    "birthday_this_week": None,
    "company": None,
    "individual": None,
    "country": _pattern("country", "a two-letter country code", _COUNTRY),
    "language": _pattern("language", "a language code", _LANGUAGE),
    "theme": _pattern("theme", "a theme name", _THEME),
}
KEYWORDS = ("and", "or", "not")


# --- the parser --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    text: str
    position: int  # 1-based


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None:  # only trailing spaces are left
            break
        kind = "paren" if found.group("paren") else "word"
        tokens.append(_Token(found.group(kind), found.start(kind) + 1))
        at = found.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def end_position(self) -> int:
        return len(self.text.rstrip()) + 1

    def parse(self) -> Rule:
        rule = self.expr(0)
        token = self.peek()
        if token is not None:
            if token.text == ")":
                raise SegmentError(_("unbalanced parenthesis at %(position)s: nothing to "
                                     "close", position=token.position), token.position)
            raise SegmentError(_("expected 'and' or 'or' at %(position)s, found '%(found)s'",
                                 position=token.position, found=token.text), token.position)
        return rule

    def expr(self, depth: int) -> Rule:
        rules = [self.conj(depth)]
        while self.keyword("or"):
            rules.append(self.conj(depth))
        return rules[0] if len(rules) == 1 else Or(tuple(rules))

    def conj(self, depth: int) -> Rule:
        rules = [self.unary(depth)]
        while self.keyword("and"):
            rules.append(self.unary(depth))
        return rules[0] if len(rules) == 1 else And(tuple(rules))

    def unary(self, depth: int) -> Rule:
        token = self.peek()
        if token is None:
            position = self.end_position()
            raise SegmentError(_("expected a term at %(position)s, the rule ends there",
                                 position=position), position)
        if depth > MAX_DEPTH:
            raise SegmentError(_("the rule is nested too deeply at %(position)s",
                                 position=token.position), token.position)
        if token.text.lower() == "not":
            self.index += 1
            return Not(self.unary(depth + 1))
        if token.text == "(":
            self.index += 1
            rule = self.expr(depth + 1)
            if not self.keyword(")"):
                raise SegmentError(_("unbalanced parenthesis at %(position)s: it is never "
                                     "closed", position=token.position), token.position)
            return rule
        if token.text == ")":
            raise SegmentError(_("expected a term at %(position)s, found ')'",
                               position=token.position), token.position)
        self.index += 1
        return self.term(token)

    def term(self, token: _Token) -> Term:
        name, colon, value = token.text.partition(":")
        key = name.lower()
        if key in KEYWORDS:
            raise SegmentError(_("expected a term at %(position)s, found '%(found)s'",
                                 position=token.position, found=token.text), token.position)
        if key not in TERMS:
            raise SegmentError(_("unknown term '%(term)s' at %(position)s (known: "
                                 "%(known)s)", term=name, position=token.position,
                                 known=", ".join(TERMS)), token.position)
        reader = TERMS[key]
        value_position = token.position + len(name) + 1
        if reader is None:
            if colon:
                raise SegmentError(_("%(term)s takes no value, at %(position)s",
                                     term=key, position=token.position), token.position)
            return Term(key)
        if not value:
            raise SegmentError(_("expected a value after %(term)s: at %(position)s",
                                 term=key, position=value_position), value_position)
        return Term(key, reader(value, value_position))


def parse(text: str | None) -> Rule:
    """The rule ``text`` says; empty text is :class:`Everyone`.

    :raises SegmentError: naming the position and the problem.
    """
    text = text or ""
    if len(text) > MAX_LENGTH:
        raise SegmentError(_("the rule is longer than %(limit)s characters",
                             limit=MAX_LENGTH), MAX_LENGTH + 1)
    if not text.strip():
        return Everyone()
    return _Parser(text).parse()


def terms_of(rule: Rule) -> list[Term]:
    """The terms a rule uses, in order (for a summary on the staff's pages)."""
    if isinstance(rule, Term):
        return [rule]
    if isinstance(rule, Not):
        return terms_of(rule.rule)
    if isinstance(rule, (And, Or)):
        return [term for part in rule.rules for term in terms_of(part)]
    return []


# --- evaluation --------------------------------------------------------------------------


def matching(rule: Rule, subscribers: Iterable[Any], *, today: date | None = None,
             now: datetime | None = None) -> set[int]:
    """The ids among ``subscribers`` (rows or ids, of the current tenant) that ``rule``
    selects.

    Each term is one SQL query over the current tenant's subscribers (run once however
    often it appears); ``and``, ``or`` and ``not`` are set operations on their answers,
    within the universe given.

    :param today: the shop's today for ``birthday_this_week`` (default: the current
        tenant's, in its time zone).
    :param now: the moment the day counts start from (default: now).
    """
    universe = {s if isinstance(s, int) else s.id for s in subscribers}
    if not universe or isinstance(rule, Everyone):
        return universe
    return _Evaluation(universe, today, now or datetime.now(UTC)).run(rule)


class _Evaluation:
    def __init__(self, universe: set[int], today: date | None, now: datetime) -> None:
        self.universe = universe
        self.today = today
        self.now = now
        self.answers: dict[Term, set[int]] = {}

    def run(self, rule: Rule) -> set[int]:
        if isinstance(rule, Everyone):
            return set(self.universe)
        if isinstance(rule, Not):
            return self.universe - self.run(rule.rule)
        if isinstance(rule, And):
            found = self.run(rule.rules[0])
            for part in rule.rules[1:]:
                if not found:
                    break
                found &= self.run(part)
            return found
        if isinstance(rule, Or):
            found = set()
            for part in rule.rules:
                found |= self.run(part)
            return found
        assert isinstance(rule, Term)
        if rule not in self.answers:
            self.answers[rule] = _select(rule, self.today, self.now) & self.universe
        return set(self.answers[rule])


def _select(term: Term, today: date | None, now: datetime) -> set[int]:
    """The current tenant's subscriber ids ``term`` selects: one query."""
    if term.name == "theme":
        # JSON lists are searched differently by each database; the list is short, so the
        # one query reads it and Python looks inside.
        rows = db.session.execute(select(Subscriber.id, Subscriber.themes)).all()
        return {row.id for row in rows if not row.themes or term.value in row.themes}
    condition = _CONDITIONS[term.name](term.value, today, now)
    return set(db.session.scalars(select(Subscriber.id).where(condition)).all())


def _own_orders() -> ColumnElement[bool]:
    """An order is the subscriber's: placed from their account, or with their address."""
    return or_(and_(Subscriber.user_id.is_not(None), Order.user_id == Subscriber.user_id),
               func.lower(Order.email) == Subscriber.email)


def _core_models() -> Any:
    # Core models the toolkit does not export yet: order lines, the catalogue and accounts are
    # joined in SQL so that each term stays one query whatever the number of subscribers.
    from comptoir.catalog.models import Category, Product, Variant
    from comptoir.customers.models import User
    from comptoir.orders.models import OrderLine

    return OrderLine, Variant, Product, Category, User


def _bought_in(slug: str, today: date | None, now: datetime) -> ColumnElement[bool]:
    order_line, variant, product, category, _user = _core_models()
    return exists(
        select(order_line.id)
        .join(Order, Order.id == order_line.order_id)
        .join(variant, variant.sku == order_line.sku)
        .join(product, product.id == variant.product_id)
        .join(category, category.id == product.category_id)
        .where(category.slug == slug, Order.status.in_(BOUGHT), _own_orders()))


def _viewed_not_bought(days: int, today: date | None, now: datetime) -> ColumnElement[bool]:
    order_line, variant, _product, _category, _user = _core_models()
    ordered_since = exists(
        select(order_line.id).join(Order, Order.id == order_line.order_id).where(
            Order.user_id == ProductView.user_id, Order.status != CANCELLED,
            Order.created_at >= ProductView.viewed_at,
            or_(order_line.sku == ProductView.sku, order_line.sku.in_(
                select(variant.sku).where(variant.product_id == ProductView.product_id)))))
    return exists(select(ProductView.id).where(
        ProductView.user_id == Subscriber.user_id,
        ProductView.viewed_at >= now - timedelta(days=days), not_(ordered_since)))


def _spent_over(amount: Decimal, today: date | None, now: datetime) -> ColumnElement[bool]:
    # Orders the customer committed to (an invoice order counts from its placing): not
    # those waiting for a payment or an approval, nor cancelled or returned ones (a shop
    # has one currency: the sum is in it).
    spent = (select(func.coalesce(func.sum(Order.total_gross), 0))
             .where(_own_orders(), Order.status.in_(SPENT)).scalar_subquery())
    return spent > amount


def _inactive_weeks(weeks: int, today: date | None, now: datetime) -> ColumnElement[bool]:
    return not_(exists(select(Order.id).where(
        _own_orders(), Order.status != CANCELLED,
        Order.created_at >= now - timedelta(weeks=weeks))))


def _week_of(today: date) -> list[date]:
    monday = today - timedelta(days=today.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def _birthday_this_week(_value: None, today: date | None, now: datetime) -> ColumnElement[bool]:
    if today is None:
        tenant_id = current_tenant_id()
        tenant = tenant_by_id(tenant_id) if tenant_id is not None else None
        today = shop_today(tenant) if tenant is not None else now.date()
    days = {(day.month, day.day) for day in _week_of(today)}
    if (2, 28) in days and (3, 1) in days:
        days.add((2, 29))  # born on 29 February: celebrated in the week it would fall
    month, day = extract("month", Subscriber.birthday), extract("day", Subscriber.birthday)
    return and_(Subscriber.birthday.is_not(None),
                or_(*(and_(month == m, day == d) for m, d in sorted(days))))


def _companies() -> Any:
    *_rest, user = _core_models()
    return select(user.id).where(user.company_id.is_not(None))


def _company(_value: None, today: date | None, now: datetime) -> ColumnElement[bool]:
    return and_(Subscriber.user_id.is_not(None), Subscriber.user_id.in_(_companies()))


def _individual(_value: None, today: date | None, now: datetime) -> ColumnElement[bool]:
    return or_(Subscriber.user_id.is_(None), Subscriber.user_id.not_in(_companies()))


def _country(code: str, today: date | None, now: datetime) -> ColumnElement[bool]:
    code = code.upper()
    last_order = (select(func.coalesce(Order.billing_address["country"].as_string(),
                                       Order.destination_country))
                  .where(_own_orders())
                  .order_by(Order.created_at.desc(), Order.id.desc())
                  .limit(1).scalar_subquery())
    own = func.upper(func.coalesce(Subscriber.country, ""))
    return or_(own == code, and_(own == "", func.upper(last_order) == code))


def _language(code: str, today: date | None, now: datetime) -> ColumnElement[bool]:
    code = code.lower()
    locale = func.lower(Subscriber.locale)
    return or_(locale == code, locale.like(f"{code}\\_%", escape="\\"),
               locale.like(f"{code}-%"))


_CONDITIONS: dict[str, Any] = {
    "bought_in": _bought_in,
    "viewed_not_bought": _viewed_not_bought,
    "spent_over": _spent_over,
    "inactive_weeks": _inactive_weeks,
    "birthday_this_week": _birthday_this_week,
    "company": _company,
    "individual": _individual,
    "country": _country,
    "language": _language,
}
