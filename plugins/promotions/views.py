"""The cart page's promotion code form: apply a code, take it off, read why an offer is or
is not given.

The codes are kept in the Flask session per shop (see :mod:`.discounts` for why there); a
code that is refused for any reason leaves the session, and so the cart, exactly as it was,
and the buyer reads what is wrong. The notes the pricing found (an offer left out because
it does not combine, a code that stopped applying) are shown under the form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_login import current_user

from comptoir.toolkit import Markup, TenantInfo, current_tenant, plugin_translations
from comptoir.toolkit import render_translated as _render
from plugins.promotions import coupons, discounts, rules

translations = plugin_translations("plugins.promotions")
_ = translations.gettext

bp = Blueprint("promotions", __name__, url_prefix="/cart/codes", template_folder="templates")


@bp.before_request
def _shop_only() -> Any:
    if current_tenant() is None:
        abort(404)
    return None


def _buyer_and_lines() -> tuple[rules.Buyer, list[Any]]:
    """The buyer and the lines of their cart, priced as the cart page prices them (without
    discounts), for checking a code against what is in the cart."""
    # core modules the toolkit does not export yet
    from comptoir.customers.service import current_company
    from comptoir.orders import service

    user = current_user if current_user.is_authenticated else None
    company = current_company()
    buyer = rules.buyer_of(user, company)
    basket = service.current_cart(user)
    if basket is None or not basket.lines:
        return buyer, []
    priced = service.price_cart(g.tenant, basket, company)
    try:
        return buyer, service.preview(g.tenant, priced, "standard").lines
    except service.CheckoutError:
        return buyer, []


@bp.route("", methods=["POST"])
def apply() -> Any:
    """Apply the code typed; a refused code changes nothing and says why."""
    applied = discounts.applied_codes(g.tenant)
    buyer, lines = _buyer_and_lines()
    try:
        coupon = coupons.check_code(g.tenant, buyer, request.form.get("code", ""), applied,
                                    lines)
    except coupons.CodeError as refused:
        flash(str(refused), "error")
        return redirect(url_for("orders.cart"), 303)
    discounts.set_codes(g.tenant, [*applied, coupon.code])
    flash(_("The code %(code)s is applied.", code=coupon.code), "success")
    return redirect(url_for("orders.cart"), 303)


@bp.route("/remove", methods=["POST"])
def remove() -> Any:
    """Take a code off the cart."""
    code = rules.normalise(request.form.get("code", ""))
    applied = discounts.applied_codes(g.tenant)
    if code not in applied:
        flash(_("That code is not applied to your cart."), "error")
        return redirect(url_for("orders.cart"), 303)
    discounts.set_codes(g.tenant, [c for c in applied if c != code])
    flash(_("The code %(code)s was removed from your cart.", code=code), "success")
    return redirect(url_for("orders.cart"), 303)


def page_block(tenant: TenantInfo, slot: str, context: dict[str, Any]) -> Any:
    """The cart page's code form, with the codes applied and the pricing's notes."""
    if slot != "cart":
        return None
    return Markup(_render(translations, "promotions/_cart_codes.html",
                          codes=discounts.applied_codes(tenant),
                          notes=g.get(discounts.NOTES) or []))
