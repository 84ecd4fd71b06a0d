"""The staff's promotion pages: create and change promotions, their codes and batches of
unique codes (CSV export), and follow what each brought.

- **staff only, one shop only**: ``staff`` and ``tenant_admin`` users; a visitor is sent to
  the login page, a customer gets a 403. Another shop's promotion is a 404, like one that
  does not exist.
- **an office writes, its resellers read**: a reseller's list shows the office's promotions
  it applies (when the office lets it), marked "from <office>", read-only: changing them is
  a 403.
- **usage and revenue** of a promotion: the orders of this shop that used it and were not
  cancelled, how much it took off (excluding VAT) and what those orders came to (their
  totals excluding and including VAT). A reseller's orders are its own: an office sees the
  use of its promotions in its own shop, each reseller in its shop.
- **bad input** re-shows the form with status 400 and a message naming the field; nothing
  is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from comptoir.toolkit import (
    Order,
    TenantInfo,
    current_tenant,
    db,
    login_next,
    plugin_translations,
    render_translated,
    tenant_by_id,
)
from plugins.promotions import coupons, rules
from plugins.promotions.models import (
    AUDIENCES,
    BOOKED,
    BUY_X_GET_Y,
    CART,
    CATEGORY,
    CODE,
    COMPANY,
    EMAILS,
    FIXED,
    FREE_SHIPPING,
    KINDS,
    PERCENT,
    PRODUCT,
    SCOPES,
    SPENT_OVER,
    TRIGGERS,
    Batch,
    Coupon,
    Promotion,
    Redemption,
)

translations = plugin_translations("plugins.promotions")
_ = translations.gettext
_l = translations.lazy_gettext

STAFF_ROLES = ("staff", "tenant_admin")
#: Redemptions listed on a promotion's page (the latest).
RECENT = 100

KIND_LABELS = {PERCENT: _l("Percentage off"), FIXED: _l("Amount off"),
               FREE_SHIPPING: _l("Free delivery"), BUY_X_GET_Y: _l("Buy X, get Y free")}
SCOPE_LABELS = {CART: _l("the whole cart"), CATEGORY: _l("a category"),
                PRODUCT: _l("some products")}
TRIGGER_LABELS = {"automatic": _l("Automatically, without a code"),
                  CODE: _l("With a code")}
AUDIENCE_LABELS = {
    "all": _l("Everyone"), "b2c": _l("Private customers only"),
    "b2b": _l("Business customers only"), COMPANY: _l("One company"),
    "new_customers": _l("Registered customers who never ordered"),
    SPENT_OVER: _l("Customers whose orders reached an amount"),
    EMAILS: _l("A list of e-mail addresses"),
}

bp = Blueprint("promotions_staff", __name__, url_prefix="/staff/promotions",
               template_folder="templates")


def _is_staff() -> bool:
    return bool(current_user.is_authenticated and current_user.role in STAFF_ROLES)


@bp.before_request
def _staff_only() -> Any:
    if current_tenant() is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=login_next()))
    if not _is_staff():
        abort(403)
    return None


def menu_items() -> list[dict[str, str]] | None:
    """The staff's menu entry to the promotions (nothing for customers and visitors)."""
    if _is_staff():
        return [{"label": _("Promotions"), "url": url_for("promotions_staff.index")}]
    return None


def _tenant() -> TenantInfo:
    tenant = current_tenant()
    assert tenant is not None  # _staff_only made sure
    return tenant


def _promotion(promotion_id: int, own: bool = False) -> Promotion:
    """A promotion this shop applies (404 otherwise); with ``own``, one it may change (403
    for its office's)."""
    tenant = _tenant()
    promotion = rules.promotion_of(tenant, promotion_id)
    if promotion is None:
        abort(404)
    if own and promotion.tenant_id != tenant.id:
        abort(403)
    return promotion


def _page(template: str, status: int = 200, **context: Any) -> Any:
    context.setdefault("labels", {"kind": KIND_LABELS, "scope": SCOPE_LABELS,
                                  "trigger": TRIGGER_LABELS, "audience": AUDIENCE_LABELS})
    context.setdefault("day", _day_text)
    context.setdefault("number", _number_text)
    return render_translated(translations, f"promotions/{template}", **context), status


def _day_text(day: date | None) -> str:
    """A date the shop's way (``31 déc. 2026``)."""
    from flask_babel import format_date

    return format_date(day) if day is not None else ""


def _number_text(value: Decimal) -> str:
    """A percentage's number the shop's way (``12,5``), without trailing zeros."""
    from flask_babel import format_decimal

    return format_decimal(value, format="#,##0.##")


# -- usage and revenue ---------------------------------------------------------------------


@dataclass
class Figures:
    """What a promotion brought in this shop: orders not cancelled that used it."""

    orders: int = 0
    discount: Decimal = Decimal("0.00")
    net: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")


def usage(promotion_ids: list[int]) -> dict[int, Figures]:
    """:class:`Figures` per promotion id, in one query."""
    if not promotion_ids:
        return {}
    rows = db.session.execute(
        select(Redemption.promotion_id, func.count(Redemption.id),
               func.coalesce(func.sum(Redemption.amount), 0),
               func.coalesce(func.sum(Order.total_net), 0),
               func.coalesce(func.sum(Order.total_gross), 0))
        .join(Order, Order.id == Redemption.order_id)
        .where(Redemption.promotion_id.in_(promotion_ids), Redemption.status == BOOKED,
               Order.status != "cancelled")
        .group_by(Redemption.promotion_id)).all()
    return {row[0]: Figures(row[1], Decimal(str(row[2])), Decimal(str(row[3])),
                          Decimal(str(row[4]))) for row in rows}


# -- the list ------------------------------------------------------------------------------


@bp.route("")
def index() -> Any:
    tenant = _tenant()
    found = list(db.session.scalars(select(Promotion).where(
        Promotion.tenant_id.in_(rules.owners(tenant))).order_by(
        Promotion.active.desc(), Promotion.id.desc())))
    own = [p for p in found if p.tenant_id == tenant.id]
    inherited = [p for p in found if p.tenant_id != tenant.id]
    office = tenant_by_id(tenant.office_id) if tenant.is_reseller else None
    return _page("staff_promotions.html", own=own, inherited=inherited,
                 usage=usage([p.id for p in found]), office=office,
                 inherits=rules.inherits(tenant), today=rules.shop_today(tenant))


# -- the form ------------------------------------------------------------------------------


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


FIELDS = ("name", "note", "kind", "value", "scope", "scope_value", "buy_quantity",
          "get_quantity", "gift_sku", "min_amount", "trigger", "code", "audience",
          "audience_company_id", "audience_value", "starts_on", "ends_on", "max_uses",
          "max_uses_per_customer")
CHECKS = ("first_order_only", "combinable", "active")


def _values_of(promotion: Promotion | None) -> dict[str, str]:
    """What the form shows: the promotion's values as text, or a new one's defaults."""
    if promotion is None:
        return {"kind": PERCENT, "scope": CART, "trigger": "automatic", "audience": "all",
                "value": "", "min_amount": "", "buy_quantity": "", "get_quantity": "",
                "combinable": "yes", "active": "yes"}
    values = {name: "" if getattr(promotion, name, None) is None
              else str(getattr(promotion, name)) for name in FIELDS if name != "code"}
    for name in ("buy_quantity", "get_quantity"):
        values[name] = values[name] if values[name] != "0" else ""
    values["min_amount"] = "" if not promotion.min_amount else str(promotion.min_amount)
    for name in CHECKS:
        values[name] = "yes" if getattr(promotion, name) else ""
    return values


def _decimal(form: dict[str, str], name: str, label: str, *, blank_zero: bool = True
             ) -> Decimal:
    text = (form.get(name) or "").strip().replace(",", ".").replace(" ", "")
    if not text and blank_zero:
        return Decimal("0.00")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FormError(name, _("%(field)s: type a number, e.g. 10 or 12.50.",
                                field=label)) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1000000000"):
        raise FormError(name, _("%(field)s: type a positive number below a billion.",
                                field=label))
    return rules.cents(value)


def _count(form: dict[str, str], name: str, label: str, minimum: int = 1) -> int | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or not minimum <= int(text) <= 1000000:
        raise FormError(name, _("%(field)s: type a whole number from %(min)s, or leave it "
                                "blank.", field=label, min=minimum))
    return int(text)


def _day(form: dict[str, str], name: str, label: str) -> date | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormError(name, _("%(field)s: give a date as YYYY-MM-DD.",
                                field=label)) from None


def _sku_exists(sku: str) -> bool:
    # core models the toolkit does not export yet
    from comptoir.catalog.models import Product, Variant

    return bool(db.session.scalars(select(Variant.id).where(Variant.sku == sku)).first()
                or db.session.scalars(select(Product.id).where(Product.sku == sku)).first())


def _category_exists(slug: str) -> bool:
    # a core model the toolkit does not export yet
    from comptoir.catalog.models import Category

    return bool(db.session.scalars(select(Category.id).where(Category.slug == slug)).first())


def _companies() -> list[Any]:
    # a core model the toolkit does not export yet
    from comptoir.customers.models import Company

    return list(db.session.scalars(select(Company).order_by(Company.name)))


def read_form(form: dict[str, str]) -> dict[str, Any]:
    """The promotion's fields from the form, checked; a :class:`FormError` names the first
    field that is wrong."""
    values: dict[str, Any] = {}
    name = (form.get("name") or "").strip()
    if not name or len(name) > 120:
        raise FormError("name", _("Name: 1 to 120 characters; buyers read it on their cart "
                                  "and invoice."))
    values["name"] = name
    values["note"] = (form.get("note") or "").strip()[:2000]
    kind = form.get("kind", "")
    if kind not in KINDS:
        raise FormError("kind", _("Choose what the promotion gives."))
    values["kind"] = kind
    value = _decimal(form, "value", _("Value"))
    if kind == PERCENT and not Decimal("0") < value <= Decimal("100"):
        raise FormError("value", _("Value: a percentage above 0 and at most 100."))
    if kind == FIXED and value <= 0:
        raise FormError("value", _("Value: the amount taken off, excluding VAT, above 0."))
    values["value"] = value if kind in (PERCENT, FIXED) else Decimal("0.00")
    scope = form.get("scope", CART)
    if scope not in SCOPES:
        raise FormError("scope", _("Choose which goods the promotion applies to."))
    scope_value = (form.get("scope_value") or "").strip()
    if kind == FREE_SHIPPING:
        scope, scope_value = CART, ""
    if scope == CATEGORY:
        scope_value = scope_value.lower()
        if not _category_exists(scope_value):
            raise FormError("scope_value", _("Category: no category %(slug)s in the "
                                             "catalogue; give its short name (slug).",
                                             slug=scope_value or "—"))
    elif scope == PRODUCT:
        skus = sorted(rules._skus(scope_value))
        missing = [sku for sku in skus if not _sku_exists(sku)]
        if not skus or missing:
            raise FormError("scope_value", _("Products: give their SKUs separated by "
                                             "commas; unknown: %(skus)s.",
                                             skus=", ".join(missing) or "—"))
        scope_value = ", ".join(skus)
    else:
        scope_value = ""
    if len(scope_value) > 500:
        raise FormError("scope_value", _("Products: at most 500 characters of SKUs."))
    values["scope"], values["scope_value"] = scope, scope_value
    values["buy_quantity"] = values["get_quantity"] = 0
    values["gift_sku"] = ""
    if kind == BUY_X_GET_Y:
        buy = _count(form, "buy_quantity", _("Units to buy"))
        get = _count(form, "get_quantity", _("Units free"))
        if buy is None or get is None:
            raise FormError("buy_quantity", _("Buy X, get Y: give both numbers, e.g. buy 2, "
                                              "get 1."))
        gift = (form.get("gift_sku") or "").strip().upper()
        if gift and not _sku_exists(gift):
            raise FormError("gift_sku", _("Free product: no product with the SKU %(sku)s.",
                                          sku=gift))
        values.update(buy_quantity=buy, get_quantity=get, gift_sku=gift)
    values["min_amount"] = _decimal(form, "min_amount", _("Minimum cart"))
    trigger = form.get("trigger", "automatic")
    if trigger not in TRIGGERS:
        raise FormError("trigger", _("Choose how the promotion is given."))
    values["trigger"] = trigger
    audience = form.get("audience", "all")
    if audience not in AUDIENCES:
        raise FormError("audience", _("Choose who may have the promotion."))
    values["audience"], values["audience_company_id"] = audience, None
    audience_value = (form.get("audience_value") or "").strip()
    if audience == COMPANY:
        chosen = (form.get("audience_company_id") or "").strip()
        ids = {str(company.id): company.id for company in _companies()}
        if chosen not in ids:
            raise FormError("audience_company_id", _("Company: choose one of this shop's "
                                                     "companies."))
        values["audience_company_id"] = ids[chosen]
        audience_value = ""
    elif audience == SPENT_OVER:
        floor = _decimal({"audience_value": audience_value}, "audience_value",
                         _("Amount reached"))
        if floor <= 0:
            raise FormError("audience_value", _("Amount reached: the total of earlier "
                                                "orders, excluding VAT, above 0."))
        audience_value = str(floor)
    elif audience == EMAILS:
        addresses = sorted(rules._emails(audience_value))
        bad = [a for a in addresses if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", a)]
        if not addresses or bad or len(audience_value) > 20000:
            raise FormError("audience_value", _("E-mail addresses: one per line or separated "
                                                "by commas; not an address: %(bad)s.",
                                                bad=", ".join(bad[:5]) or "—"))
        audience_value = "\n".join(addresses)
    else:
        audience_value = ""
    values["audience_value"] = audience_value
    values["starts_on"] = _day(form, "starts_on", _("First day"))
    values["ends_on"] = _day(form, "ends_on", _("Last day"))
    if values["starts_on"] and values["ends_on"] and values["ends_on"] < values["starts_on"]:
        raise FormError("ends_on", _("Last day: it comes before the first day."))
    values["max_uses"] = _count(form, "max_uses", _("Uses in all"))
    values["max_uses_per_customer"] = _count(form, "max_uses_per_customer",
                                             _("Uses per customer"))
    for check in CHECKS:
        values[check] = form.get(check) == "yes"
    return values


def _form(promotion: Promotion | None) -> Any:
    tenant = _tenant()
    error = None
    values = _values_of(promotion)
    if request.method == "POST":
        values = {**{name: request.form.get(name, "") for name in FIELDS},
                  **{name: request.form.get(name, "") for name in CHECKS}}
        try:
            fields = read_form(request.form)
            code = (request.form.get("code") or "").strip()
            if promotion is None and code:
                cleaned = rules.normalise(code)
                if fields["trigger"] != CODE:
                    raise FormError("code", _("Code: only for a promotion given with a code."))
                if not cleaned:
                    raise FormError("code", _("Code: 3 to 40 letters, digits and hyphens."))
                if db.session.scalars(select(Coupon.id).where(
                        Coupon.tenant_id == tenant.id, Coupon.code == cleaned)).first():
                    raise FormError("code", _("Code: %(code)s exists already.", code=cleaned))
        except FormError as problem:
            error = problem
        else:
            if promotion is None:
                promotion = Promotion(created_by=current_user.email, **fields)
                db.session.add(promotion)
                db.session.flush()
                if code:
                    db.session.add(Coupon(promotion_id=promotion.id,
                                          code=rules.normalise(code)))
                flash(_("Promotion created."), "success")
            else:
                for name, value in fields.items():
                    setattr(promotion, name, value)
                flash(_("Promotion saved."), "success")
            db.session.commit()
            return redirect(url_for(".show", promotion_id=promotion.id), 303)
    return _page("staff_promotion_form.html", 400 if error else 200, promotion=promotion,
                 values=values, error=error, companies=_companies(), kinds=KINDS,
                 scopes=SCOPES, triggers=TRIGGERS, audiences=AUDIENCES)


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    return _form(None)


@bp.route("/<int(max=2147483647):promotion_id>/edit", methods=["GET", "POST"])
def edit(promotion_id: int) -> Any:
    return _form(_promotion(promotion_id, own=True))


@bp.route("/<int(max=2147483647):promotion_id>/active", methods=["POST"])
def set_active(promotion_id: int) -> Any:
    """End a promotion now, or start it again (its dates still apply)."""
    promotion = _promotion(promotion_id, own=True)
    promotion.active = request.form.get("active") == "yes"
    db.session.commit()
    flash(_("Promotion started again.") if promotion.active else _("Promotion ended."),
          "success")
    return redirect(url_for(".show", promotion_id=promotion.id), 303)


# -- one promotion -------------------------------------------------------------------------


@bp.route("/<int(max=2147483647):promotion_id>")
def show(promotion_id: int, error: coupons.CodeError | None = None,
         form: dict[str, str] | None = None) -> Any:
    tenant = _tenant()
    promotion = _promotion(promotion_id)
    shared = list(db.session.scalars(select(Coupon).where(
        Coupon.promotion_id == promotion.id, Coupon.batch_id.is_(None)).order_by(Coupon.code)))
    batches = list(db.session.scalars(select(Batch).where(
        Batch.promotion_id == promotion.id).order_by(Batch.id.desc())))
    used = dict(db.session.execute(
        select(Coupon.batch_id, func.count(Redemption.id))
        .join(Redemption, Redemption.coupon_id == Coupon.id)
        .where(Coupon.promotion_id == promotion.id, Coupon.batch_id.is_not(None),
               Redemption.status == BOOKED)
        .group_by(Coupon.batch_id)).all()) if batches else {}
    recent = db.session.execute(
        select(Redemption, Order.number, Order.status, Order.total_gross)
        .join(Order, Order.id == Redemption.order_id)
        .where(Redemption.promotion_id == promotion.id)
        .order_by(Redemption.id.desc()).limit(RECENT)).all()
    company = None
    if promotion.audience_company_id is not None:
        company = next((c for c in _companies() if c.id == promotion.audience_company_id),
                       None)
    return _page("staff_promotion.html", 400 if error else 200, promotion=promotion,
                 own=promotion.tenant_id == tenant.id, shared=shared, batches=batches,
                 batch_used=used, recent=recent,
                 usage=usage([promotion.id]).get(promotion.id, Figures()),
                 counted=rules.used(promotion.id), company=company, error=error,
                 form=form or {}, today=rules.shop_today(tenant))


@bp.route("/<int(max=2147483647):promotion_id>/codes", methods=["POST"])
def add_code(promotion_id: int) -> Any:
    promotion = _promotion(promotion_id, own=True)
    try:
        coupon = coupons.add_code(promotion, request.form.get("code", ""),
                                  request.form.get("affiliate_code", ""))
    except coupons.CodeError as problem:
        db.session.rollback()
        return show(promotion_id, error=problem, form=request.form.to_dict())
    flash(_("Code %(code)s added.", code=coupon.code), "success")
    return redirect(url_for(".show", promotion_id=promotion.id), 303)


@bp.route("/<int(max=2147483647):promotion_id>/batches", methods=["POST"])
def add_batch(promotion_id: int) -> Any:
    promotion = _promotion(promotion_id, own=True)
    try:
        batch = coupons.make_batch(promotion, request.form.get("name", ""),
                                   request.form.get("size", ""),
                                   request.form.get("prefix", ""),
                                   request.form.get("affiliate_code", ""),
                                   actor=current_user.email)
    except coupons.CodeError as problem:
        db.session.rollback()
        return show(promotion_id, error=problem, form=request.form.to_dict())
    flash(_("%(n)s unique codes made: download them as CSV.", n=batch.size), "success")
    return redirect(url_for(".show", promotion_id=promotion.id), 303)


@bp.route("/<int(max=2147483647):promotion_id>/batches/"
          "<int(max=2147483647):batch_id>.csv")
def batch_csv(promotion_id: int, batch_id: int) -> Any:
    """The batch's codes as CSV (the office's own only: its codes are its to hand out)."""
    promotion = _promotion(promotion_id, own=True)
    batch = db.session.get(Batch, batch_id)
    if batch is None or (batch.promotion_id, batch.tenant_id) != (promotion.id,
                                                                  promotion.tenant_id):
        abort(404)
    name = re.sub(r"[^A-Za-z0-9-]+", "-", batch.name).strip("-")[:60] or "codes"
    return Response(coupons.batch_csv(batch), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="{_tenant().slug}-{name}-{batch.id}.csv"',
                             "Cache-Control": "no-store"})
