"""Which promotions a buyer gets on which lines, and how they combine.

Everything here reads and nothing writes: the same code answers the cart page, the checkout
summary and the booking (:mod:`.discounts`), so the price shown is the price charged. What
is used up is claimed at booking by :mod:`.coupons`.

- **Which promotions a shop applies**: its own, and its office's when the office lets its
  resellers inherit them (``resellers_inherit``, read from the office's own settings: a
  reseller cannot turn it on for itself).
- **Eligibility** (:func:`refusal`): active, inside its dates (days in the shop's time zone,
  both included), not used up in this shop nor by this customer, for this audience, and a
  welcome offer (``first_order_only``) only for an address or account with no earlier order
  that was not cancelled. A reason is a sentence the buyer can act on.
- **Amounts** (:func:`compute`): a percentage or a fixed amount off the cart, a category
  (and its sub-categories) or some products; free delivery; buy X get Y (the cheapest unit
  of each group of X+Y free, or Y units of a gift product per X bought). Amounts exclude
  VAT, like the lines; the core takes them off before VAT and never below zero.
- **Combining** (:func:`combine`): promotions that combine add up; one that does not is
  given alone, and only when it gives the buyer more than all the others together; the
  buyer is told which offer was left out and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import has_request_context, request
from sqlalchemy import func, or_, select

from comptoir.toolkit import (
    Discount,
    Order,
    TenantInfo,
    db,
    money,
    plugin_settings,
    plugin_translations,
    shop_today,
    tenant_by_id,
)
from plugins.promotions.models import (
    AUTOMATIC,
    B2B,
    B2C,
    BUY_X_GET_Y,
    CATEGORY,
    CODE,
    COMPANY,
    EMAILS,
    FIXED,
    FREE_SHIPPING,
    NEW_CUSTOMERS,
    PERCENT,
    PRODUCT,
    SPENT_OVER,
    CodeClaim,
    Coupon,
    Promotion,
    Usage,
)

translations = plugin_translations("plugins.promotions")
_ = translations.gettext

PLUGIN = "promotions"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: What a code may look like once cleaned up (upper case).
CODE_SHAPE = re.compile(r"[A-Z0-9][A-Z0-9-]{2,39}")
#: Orders that count as a purchase for "spent over": money that stayed with the shop.
SPENDING = ("placed", "paid", "shipped", "delivered")
#: The prefix of this plugin's discount references (``promotions:promo:12``,
#: ``promotions:promo:12:c40``, ``promotions:promo:12:c40:l3``).
REF = "promotions:promo:"


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def normalise(code: Any) -> str:
    """A typed code as it is stored: trimmed, upper case, inner spaces removed; ``""`` if
    it cannot be one (so that a 4 kB paste is never looked up)."""
    if not isinstance(code, str) or len(code) > 80:
        return ""
    cleaned = re.sub(r"\s+", "", code).upper()
    return cleaned if CODE_SHAPE.fullmatch(cleaned) else ""


# -- who is buying --------------------------------------------------------------------------


@dataclass(frozen=True)
class Buyer:
    """Who the discounts are for. ``email`` (lower case) is ``""`` for a guest until the
    checkout form gives it: welcome offers are then shown and checked when it is known."""

    user: Any
    company: Any
    email: str

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "id", None)


def buyer_of(user: Any, company: Any, email: str | None = None) -> Buyer:
    """The buyer of a cart or an order: the account's address, or the guest's from
    ``email`` or, in the checkout's request, from its form."""
    if email is None:
        email = getattr(user, "email", None)
    if not email and has_request_context() and request.method == "POST":
        email = request.form.get("email", "")
    email = (email or "").strip().lower()[:254]
    return Buyer(user, company, email if "@" in email else "")


def _orders_of(buyer: Buyer) -> Any:
    """A condition matching the buyer's orders (their account's or their address's), or
    ``None`` when nothing identifies them yet."""
    conditions = []
    if buyer.email:
        conditions.append(func.lower(Order.email) == buyer.email)
    if buyer.user_id is not None:
        conditions.append(Order.user_id == buyer.user_id)
    return or_(*conditions) if conditions else None


def has_ordered(buyer: Buyer, except_order: int | None = None) -> bool:
    """Whether the buyer placed an order in this shop that was not cancelled (``except_order``
    aside: the order being booked)."""
    match = _orders_of(buyer)
    if match is None:
        return False
    query = select(Order.id).where(match, Order.status != "cancelled")
    if except_order is not None:
        query = query.where(Order.id != except_order)
    return db.session.scalars(query.limit(1)).first() is not None


def spent(buyer: Buyer) -> Decimal:
    """What the buyer's orders in this shop came to, excluding VAT (cancelled, returned and
    unpaid online orders left out)."""
    match = _orders_of(buyer)
    if match is None:
        return ZERO
    total = db.session.scalar(select(func.coalesce(func.sum(Order.total_net), 0)).where(
        match, Order.status.in_(SPENDING)))
    return Decimal(str(total or 0))


# -- which promotions ------------------------------------------------------------------------


def inherits(tenant: TenantInfo) -> bool:
    """Whether ``tenant`` (a reseller) applies its office's promotions: the office's own
    setting decides, not the reseller's."""
    if not tenant.is_reseller:
        return False
    office = tenant_by_id(tenant.office_id)
    if office is None or PLUGIN not in office.plugins:
        return False
    return bool(plugin_settings(PLUGIN, office)["resellers_inherit"])


def owners(tenant: TenantInfo) -> list[int]:
    """The tenants whose promotions apply in ``tenant``'s shop: its own, its office's."""
    return [tenant.id, tenant.office_id] if inherits(tenant) else [tenant.id]


def automatic(tenant: TenantInfo) -> list[Promotion]:
    """The active promotions given without a code in this shop, oldest first."""
    return list(db.session.scalars(select(Promotion).where(
        Promotion.tenant_id.in_(owners(tenant)), Promotion.active.is_(True),
        Promotion.trigger == AUTOMATIC).order_by(Promotion.id)))


def find_coupon(tenant: TenantInfo, code: str) -> Coupon | None:
    """The coupon ``code`` names in this shop (its own first, then its office's when
    inherited); another shop's code is unknown here, exactly like a code that never was."""
    code = normalise(code)
    if not code:
        return None
    ids = owners(tenant)
    found = db.session.scalars(select(Coupon).where(
        Coupon.code == code, Coupon.tenant_id.in_(ids))).all()
    found.sort(key=lambda coupon: ids.index(coupon.tenant_id))
    for coupon in found:
        promotion = db.session.get(Promotion, coupon.promotion_id)
        if promotion is not None and promotion.tenant_id in ids and promotion.trigger == CODE:
            return coupon
    return None


def promotion_of(tenant: TenantInfo, promotion_id: int) -> Promotion | None:
    """A promotion that applies in this shop, by id; ``None`` for another shop's."""
    promotion = db.session.get(Promotion, promotion_id)
    return promotion if promotion is not None and promotion.tenant_id in owners(tenant) else None


def used(promotion_id: int, customer: str = "") -> int:
    """How many booked orders of this shop used the promotion (``customer``: by them)."""
    return db.session.scalar(select(Usage.used).where(
        Usage.promotion_id == promotion_id, Usage.customer == customer)) or 0


def customer_limit(promotion: Promotion) -> int | None:
    """Uses per customer: the promotion's, and one for a welcome offer."""
    limits = [n for n in (promotion.max_uses_per_customer,
                          1 if promotion.first_order_only else None) if n]
    return min(limits) if limits else None


# -- eligibility ---------------------------------------------------------------------------


def _date(day: date) -> str:
    if has_request_context():
        from flask_babel import format_date

        return format_date(day)
    return day.isoformat()


def _emails(text: str) -> set[str]:
    return {part.strip().lower() for part in re.split(r"[,;\s]+", text or "") if part.strip()}


def refusal(tenant: TenantInfo, promotion: Promotion, buyer: Buyer,
            coupon: Coupon | None = None, today: date | None = None) -> str | None:
    """Why ``buyer`` may not have ``promotion`` now (a sentence), or ``None``.

    Things that depend on the cart (its amount, its products) are :func:`compute`'s. A
    guest whose address is not known yet passes the checks that only restrict (a welcome
    offer, per-customer limits); the checkout asks again once the form gives it, and the
    booking claims per address. Targets that grant by who the buyer is (earlier spending,
    a list of addresses) need a logged-in account: a typed address proves nothing.
    """
    today = today or shop_today(tenant)
    if not promotion.active or (coupon is not None and not coupon.active):
        return _("this offer has ended")
    if promotion.starts_on is not None and today < promotion.starts_on:
        return _("this offer starts on %(day)s", day=_date(promotion.starts_on))
    if promotion.ends_on is not None and today > promotion.ends_on:
        return _("this offer ended on %(day)s", day=_date(promotion.ends_on))
    if promotion.max_uses is not None and used(promotion.id) >= promotion.max_uses:
        return _("this offer has been used as many times as planned")
    if coupon is not None and coupon.single_use and db.session.scalars(
            select(CodeClaim.id).where(CodeClaim.coupon_id == coupon.id)).first():
        return _("this code has already been used")
    limit = customer_limit(promotion)
    if buyer.email and limit is not None and used(promotion.id, buyer.email) >= limit:
        return _("you have already used this offer")
    audience = _audience_refusal(promotion, buyer)
    if audience:
        return audience
    if promotion.first_order_only and has_ordered(buyer):
        return _("this welcome offer is for a first order only")
    return None


def _audience_refusal(promotion: Promotion, buyer: Buyer) -> str | None:
    audience = promotion.audience
    if audience == B2C and buyer.company is not None:
        return _("this offer is for private customers only")
    if audience == B2B and buyer.company is None:
        return _("this offer is for business customers only")
    if audience == COMPANY and (buyer.company is None
                                or buyer.company.id != promotion.audience_company_id):
        return _("this offer is reserved for another customer")
    if audience == NEW_CUSTOMERS and (buyer.user is None or has_ordered(buyer)):
        return _("this offer is for registered customers who have not ordered yet")
    # Offers granted by who the buyer is need an account: the address a guest types at
    # checkout proves nothing, and would give anyone a listed customer's or a big
    # spender's price for typing their address.
    if audience in (SPENT_OVER, EMAILS) and buyer.user is None:
        return _("log in to use this offer")
    if audience == SPENT_OVER:
        floor = _amount(promotion.audience_value)
        if spent(buyer) < floor:
            return _("this offer is for customers whose orders reached %(amount)s",
                     amount=money(floor))
    if audience == EMAILS and buyer.email not in _emails(promotion.audience_value):
        return _("this offer is reserved for other customers")
    return None


def _amount(text: str) -> Decimal:
    try:
        return cents(Decimal((text or "0").strip().replace(",", ".")))
    except ArithmeticError:
        return ZERO


# -- the lines a promotion covers ----------------------------------------------------------


class Catalogue:
    """What the promotions need to know of a line's product, read once per SKU: its
    product's SKU and its category with that category's parents (a promotion on
    "screens" covers "4K screens")."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def _read(self, sku: str) -> tuple[frozenset[str], frozenset[str]]:
        if sku not in self._seen:
            # core models the toolkit does not export yet
            from comptoir.catalog.models import Category, Product, Variant

            row = db.session.execute(
                select(Product.sku, Product.category_id).join(
                    Variant, Variant.product_id == Product.id).where(Variant.sku == sku)
            ).first()
            skus, slugs = {sku}, set()
            if row is not None:
                skus.add(row[0])
                category_id, hops = row[1], 0
                while category_id is not None and hops < 20:
                    category = db.session.get(Category, category_id)
                    if category is None:
                        break
                    slugs.add(category.slug)
                    category_id, hops = category.parent_id, hops + 1
            self._seen[sku] = (frozenset(skus), frozenset(slugs))
        return self._seen[sku]

    def skus(self, sku: str) -> frozenset[str]:
        return self._read(sku)[0]

    def categories(self, sku: str) -> frozenset[str]:
        return self._read(sku)[1]


def _skus(text: str) -> set[str]:
    return {part.strip().upper() for part in re.split(r"[,;\s]+", text or "") if part.strip()}


def goods(lines: list[Any]) -> list[int]:
    return [i for i, line in enumerate(lines) if not line.is_shipping]


def covered(promotion: Promotion, lines: list[Any], catalogue: Catalogue) -> list[int]:
    """The indexes of the goods lines ``promotion`` applies to."""
    found = goods(lines)
    if promotion.scope == CATEGORY:
        slug = promotion.scope_value.strip()
        return [i for i in found if slug in catalogue.categories(lines[i].sku)]
    if promotion.scope == PRODUCT:
        wanted = _skus(promotion.scope_value)
        return [i for i in found if catalogue.skus(lines[i].sku) & wanted]
    return found


# -- amounts ---------------------------------------------------------------------------------


@dataclass
class Candidate:
    """A promotion that gives something on this cart, with its discounts."""

    promotion: Promotion
    coupon: Coupon | None
    discounts: list[Discount]
    #: What it is worth to the buyer: its amounts, capped at the lines they come off.
    value: Decimal = ZERO


def _ref(promotion: Promotion, coupon: Coupon | None, line: int | None = None) -> str:
    ref = f"{REF}{promotion.id}"
    if coupon is not None:
        ref += f":c{coupon.id}"
    if line is not None:
        ref += f":l{line}"
    return ref


def compute(promotion: Promotion, lines: list[Any], coupon: Coupon | None = None,
            catalogue: Catalogue | None = None) -> tuple[list[Discount], str | None]:
    """The discounts ``promotion`` gives on ``lines``, or ``([], why)``: why it gives
    nothing on this cart, a sentence for the buyer. Free delivery on a cart whose delivery
    costs nothing gives ``([], None)``: nothing yet, nothing wrong."""
    catalogue = catalogue or Catalogue()
    goods_net = sum((lines[i].line_net for i in goods(lines)), ZERO)
    if not goods(lines):
        return [], _("your cart is empty")
    if promotion.min_amount and goods_net < promotion.min_amount:
        return [], _("it needs %(amount)s of goods excluding VAT; %(missing)s more to go",
                     amount=money(promotion.min_amount),
                     missing=money(promotion.min_amount - goods_net))
    label = promotion.name
    if promotion.kind == FREE_SHIPPING:
        delivery = [i for i, line in enumerate(lines) if line.is_shipping and line.line_net > 0]
        if not delivery:  # nothing to take off, and nothing wrong: the buyer may still
            return [], None  # choose a paid delivery at checkout
        amount = sum((lines[i].line_net for i in delivery), ZERO)
        return [Discount(_ref(promotion, coupon), label, amount, tuple(delivery))], None
    scope = covered(promotion, lines, catalogue)
    if not scope:
        return [], _("none of the products it applies to is in your cart")
    scope_net = sum((lines[i].line_net for i in scope), ZERO)
    if promotion.kind == PERCENT:
        rate = min(promotion.value, Decimal("100"))
        amount = cents(scope_net * rate / 100)
        found = [Discount(_ref(promotion, coupon), label, amount, tuple(scope))]
    elif promotion.kind == FIXED:
        amount = min(cents(promotion.value), scope_net)
        found = [Discount(_ref(promotion, coupon), label, amount, tuple(scope))]
    elif promotion.kind == BUY_X_GET_Y:
        free = (_gift_units(promotion, lines, scope, catalogue) if promotion.gift_sku.strip()
                else _cheapest_units(promotion, lines, scope))
        found = [Discount(_ref(promotion, coupon, i), label, amount, (i,))
                 for i, amount in sorted(free.items()) if amount > 0]
        if not found:
            return [], _bxgy_missing(promotion)
    else:
        return [], _("this offer is not set up correctly")
    found = [d for d in found if d.amount > 0]
    if not found:
        return [], _("it gives nothing on this cart")
    return found, None


def _unit_price(line: Any) -> Decimal:
    """What one unit of ``line`` costs before discounts (its net over its quantity)."""
    return line.line_net / line.quantity if line.quantity else ZERO


def _cheapest_units(promotion: Promotion, lines: list[Any],
                    scope: list[int]) -> dict[int, Decimal]:
    """Buy X get Y, the cheapest free: the units in scope, dearest first, in groups of X+Y;
    the last Y of each full group (the cheapest of it) are free. Returns the amount off per
    line index."""
    x, y = promotion.buy_quantity, promotion.get_quantity
    if x < 1 or y < 1:
        return {}
    units = sorted(((i, _unit_price(lines[i])) for i in scope
                    for _unit in range(min(lines[i].quantity, 10000))),
                   key=lambda unit: (-unit[1], unit[0]))
    free: dict[int, Decimal] = {}
    group = x + y
    for start in range(0, len(units) - group + 1, group):
        for i, price in units[start + x:start + group]:
            free[i] = free.get(i, ZERO) + price
    return {i: cents(amount) for i, amount in free.items()}


def _gift_units(promotion: Promotion, lines: list[Any], scope: list[int],
                catalogue: Catalogue) -> dict[int, Decimal]:
    """Buy X (in scope) get Y units of the gift product free, per X bought, as many as are
    in the cart. Gift units in scope count as bought only when they are not the free ones."""
    x, y = promotion.buy_quantity, promotion.get_quantity
    gift = promotion.gift_sku.strip().upper()
    if x < 1 or y < 1:
        return {}
    gift_lines = [i for i in goods(lines) if gift in catalogue.skus(lines[i].sku)]
    gift_units = sum(lines[i].quantity for i in gift_lines)
    other = sum(lines[i].quantity for i in scope if i not in gift_lines)
    gift_in_scope = any(i in scope for i in gift_lines)
    best = 0
    for free in range(min(gift_units, 10000), 0, -1):
        bought = other + (gift_units - free if gift_in_scope else 0)
        if free <= y * (bought // x):
            best = free
            break
    amounts: dict[int, Decimal] = {}
    for i in sorted(gift_lines, key=lambda i: _unit_price(lines[i])):
        if best <= 0:
            break
        units = min(best, lines[i].quantity)
        amounts[i] = cents(_unit_price(lines[i]) * units)
        best -= units
    return amounts


def _bxgy_missing(promotion: Promotion) -> str:
    if promotion.gift_sku.strip():
        return _("buy %(x)s to get %(y)s × %(gift)s free (it must be in your cart)",
                 x=promotion.buy_quantity, y=promotion.get_quantity,
                 gift=promotion.gift_sku.strip().upper())
    return _("buy %(x)s to get %(y)s more free", x=promotion.buy_quantity,
             y=promotion.get_quantity)


def _value(discounts: list[Discount], lines: list[Any]) -> Decimal:
    total = ZERO
    for discount in discounts:
        room = sum((lines[i].line_net for i in set(discount.lines) if 0 <= i < len(lines)),
                   ZERO)
        total += min(discount.amount, room)
    return total


# -- combining --------------------------------------------------------------------------------


def combine(candidates: list[Candidate], lines: list[Any]
            ) -> tuple[list[Candidate], list[tuple[Candidate, Candidate | None]]]:
    """The promotions given, and those left out with what replaced them.

    The combinable ones add up (never beyond the cart); a promotion that does not combine
    is given alone, the best of them, when it is worth more to the buyer than all the
    combinable ones together. Ties go to the combinable ones (more offers, same price).
    """
    for candidate in candidates:
        candidate.value = _value(candidate.discounts, lines)
    together = [c for c in candidates if c.promotion.combinable]
    alone = [c for c in candidates if not c.promotion.combinable]
    cart = sum((line.line_net for line in lines), ZERO)
    together_value = min(sum((c.value for c in together), ZERO), cart)
    best = max(alone, key=lambda c: (c.value, -c.promotion.id), default=None)
    chosen = [best] if best is not None and best.value > together_value else together
    left_out = [(c, chosen[0] if chosen else None) for c in candidates if c not in chosen]
    return chosen, left_out


@dataclass
class Outcome:
    """What a cart gets: the discounts to give, the promotions they come from, and notes
    for the buyer (an offer left out, a code that no longer applies)."""

    discounts: list[Discount] = field(default_factory=list)
    chosen: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _name(candidate: Candidate) -> str:
    if candidate.coupon is not None:
        return _("the code %(code)s", code=candidate.coupon.code)
    return "“" + candidate.promotion.name + "”"


def evaluate(tenant: TenantInfo, buyer: Buyer, lines: list[Any],
             codes: list[str]) -> Outcome:
    """The promotions ``buyer`` gets on ``lines`` with the ``codes`` they applied."""
    today = shop_today(tenant)
    catalogue = Catalogue()
    outcome = Outcome()
    candidates: list[Candidate] = []
    seen: set[int] = set()
    for promotion in automatic(tenant):
        if refusal(tenant, promotion, buyer, today=today) is None:
            found, _why = compute(promotion, lines, None, catalogue)
            if found:
                candidates.append(Candidate(promotion, None, found))
                seen.add(promotion.id)
    for code in codes:
        coupon = find_coupon(tenant, code)
        if coupon is None:
            outcome.notes.append(_("The code %(code)s is no longer valid.", code=code))
            continue
        promotion = db.session.get(Promotion, coupon.promotion_id)
        if promotion.id in seen:
            continue
        why = refusal(tenant, promotion, buyer, coupon, today)
        found: list[Discount] = []
        if why is None:
            found, why = compute(promotion, lines, coupon, catalogue)
        if why is None and not found:
            continue  # free delivery, and the delivery chosen is free anyway
        if why is not None:
            outcome.notes.append(_("The code %(code)s does not apply: %(reason)s.",
                                   code=coupon.code, reason=why))
            continue
        candidates.append(Candidate(promotion, coupon, found))
        seen.add(promotion.id)
    chosen, left_out = combine(candidates, lines)
    for candidate, instead in left_out:
        if instead is None:
            continue
        if not instead.promotion.combinable:
            outcome.notes.append(_(
                "%(left)s was not applied: %(chosen)s does not combine with other offers "
                "and gives you more.", left=_name(candidate), chosen=_name(instead)))
        else:
            outcome.notes.append(_(
                "%(left)s was not applied: it does not combine with other offers, and "
                "those you have give you more.", left=_name(candidate)))
    outcome.chosen = chosen
    outcome.discounts = [d for c in chosen for d in c.discounts]
    return outcome


def parse_ref(ref: str) -> tuple[int, int | None] | None:
    """``(promotion id, coupon id)`` of one of this plugin's discount references."""
    if not isinstance(ref, str) or not ref.startswith(REF):
        return None
    parts = ref[len(REF):].split(":")
    try:
        promotion_id = int(parts[0])
        coupon_id = next((int(p[1:]) for p in parts[1:] if p.startswith("c")), None)
    except ValueError:
        return None
    return promotion_id, coupon_id
