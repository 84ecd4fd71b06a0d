"""Who brought a customer: referral links, the signed cookie they leave, lifetime bindings.

A referral link (``/r/<CODE>``) leaves a first-party cookie signed with the app's secret
(itsdangerous, salted per tenant, timestamped): a forged cookie, another shop's, or one older
than the shop's window (``cookie_days``, 30 by default) is ignored and logged. With the
``first_click`` model a second link does not replace a live cookie; with ``last_click`` (the
default) it does. A customer is bound to whoever brought them when their account is made, or
when their first order is placed, and stays theirs: only staff move a binding, with an audit
line. Orders on a reseller's own storefront that no link brought are the reseller's (its
``house`` affiliate). An order that used a coupon bound to an affiliate (the promotions
plugin says so through the core's ``comptoir_order_referral`` hook) is that affiliate's,
whatever the cookie or the binding say, and binds a customer who was not bound yet. Nobody
earns on their own orders.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from comptoir.toolkit import TenantInfo, db, plugin_settings
from plugins.affiliates.models import (
    HOUSE,
    PERCENT,
    Affiliate,
    Attribution,
    Binding,
    BindingChange,
    Rule,
)

log = logging.getLogger("comptoir.plugins.affiliates")

COOKIE = "comptoir_ref"
CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")


def settings(tenant: TenantInfo) -> dict[str, Any]:
    return plugin_settings("affiliates", tenant)


def _signer(tenant: TenantInfo) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"affiliates-ref-{tenant.id}")


def find(code: str) -> Affiliate | None:
    """The active affiliate of this shop with ``code`` (any case)."""
    code = (code or "").strip().upper()
    if not CODE.fullmatch(code):
        return None
    return db.session.scalars(select(Affiliate).where(
        Affiliate.code == code, Affiliate.active.is_(True))).first()


def cookie_value(tenant: TenantInfo, affiliate: Affiliate) -> str:
    return _signer(tenant).dumps({"a": affiliate.id, "c": affiliate.code})


def max_age(tenant: TenantInfo) -> int:
    return int(settings(tenant)["cookie_days"]) * 86400


def from_cookie(tenant: TenantInfo) -> Affiliate | None:
    """The affiliate named by the visitor's referral cookie, if it is genuine and fresh."""
    if not has_request_context():
        return None
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _signer(tenant).loads(raw, max_age=max_age(tenant))
    except SignatureExpired:
        log.info("referral cookie older than %s days ignored", settings(tenant)["cookie_days"])
        return None
    except BadSignature:
        log.warning("forged or foreign referral cookie ignored")
        return None
    affiliate = db.session.get(Affiliate, data.get("a")) if isinstance(data, dict) else None
    if affiliate is None or not affiliate.active or affiliate.code != data.get("c"):
        return None
    return affiliate


def keeps_existing(tenant: TenantInfo) -> bool:
    """Whether a live referral cookie wins over a new link (the first-click model)."""
    return settings(tenant)["attribution_model"] == "first_click" and (
        from_cookie(tenant) is not None)


def house_code(tenant: TenantInfo) -> str:
    """The code of the reseller's own account: its slug in capitals (``ACME-INFORMATIQUE``),
    kept for it when staff create partners."""
    return re.sub(r"[^A-Z0-9-]", "-", tenant.slug.upper())[:32]


def house(tenant: TenantInfo) -> Affiliate | None:
    """The reseller's own account, made on first need with the shop's default rate; offices
    have none (their storefront's orders are their own sales)."""
    if not tenant.is_reseller:
        return None
    found = db.session.scalars(select(Affiliate).where(Affiliate.kind == HOUSE)).first()
    if found is None:
        code, n = house_code(tenant), 1
        while db.session.scalars(select(Affiliate.id).where(Affiliate.code == code)).first():
            n += 1  # a partner took the shop's name as its code before the house was made
            code = f"{house_code(tenant)[:28]}-{n}"
        found = Affiliate(code=code, name=tenant.name, kind=HOUSE)
        found.rules.append(Rule(category="", kind=PERCENT,
                                value=Decimal(settings(tenant)["commission_rate"])))
        db.session.add(found)
        db.session.flush()
    return found


def _is_self(affiliate: Affiliate, user_id: int | None, email: str) -> bool:
    """Whether the buyer is the affiliate itself (its login or its e-mail): nobody earns on
    their own purchases. The house is the shop, never a buyer."""
    if affiliate.kind == HOUSE:
        return False
    same_user = affiliate.user_id is not None and affiliate.user_id == user_id
    same_email = bool(affiliate.email) and affiliate.email.lower() == email.lower()
    return same_user or same_email


def from_order(tenant: TenantInfo, order: Any) -> Affiliate | None:
    """The active affiliate the order itself names (``comptoir_order_referral``: a coupon
    bound to an affiliate, from the promotions plugin), or ``None``."""
    from comptoir.toolkit import hooks

    code = hooks(tenant).comptoir_order_referral(tenant=tenant, order=order)
    affiliate = find(code) if isinstance(code, str) else None
    if code and affiliate is None:
        log.warning("order %s names the referral code %r, which is no active affiliate "
                    "here; ignored", order.number, code)
    return affiliate


def attribute(tenant: TenantInfo, order: Any) -> Attribution | None:
    """Credit ``order`` to the affiliate the order names (a coupon bound to an affiliate:
    it wins for that order over the customer's binding and the cookie), else the customer's
    affiliate, the referral cookie's, or the house; bind the customer if they were not yet.
    Called once the order is placed."""
    found = db.session.scalars(select(Attribution).where(
        Attribution.order_id == order.id)).first()
    if found is not None:
        return found
    affiliate, source = from_order(tenant, order), "coupon"
    binding = None
    if order.user_id is not None:
        binding = db.session.scalars(select(Binding).where(
            Binding.user_id == order.user_id)).first()
        if binding is not None and affiliate is None:
            affiliate, source = db.session.get(Affiliate, binding.affiliate_id), "customer"
    if affiliate is None:
        affiliate, source = from_cookie(tenant), "link"
    if affiliate is None:
        affiliate, source = house(tenant), "storefront"
    if affiliate is None:
        return None
    if _is_self(affiliate, order.user_id, order.email):
        log.warning("order %s: affiliate %s referred itself; no commission", order.number,
                    affiliate.code)
        return None
    found = Attribution(order_id=order.id, affiliate_id=affiliate.id, source=source)
    db.session.add(found)
    if order.user_id is not None and binding is None:
        db.session.add(Binding(user_id=order.user_id, affiliate_id=affiliate.id,
                               source=source))
    db.session.commit()
    return found


def bind_new_customer(tenant: TenantInfo, user: Any) -> Binding | None:
    """A new account: the affiliate of the order it was made from, else the cookie's."""
    if db.session.scalars(select(Binding).where(Binding.user_id == user.id)).first():
        return None
    from comptoir.toolkit import Order

    orders = db.session.scalars(select(Order.id).where(Order.user_id == user.id)).all()
    attributed = db.session.scalars(select(Attribution).where(
        Attribution.order_id.in_(orders))).first() if orders else None
    affiliate_id = attributed.affiliate_id if attributed else None
    source = attributed.source if attributed else "link"
    if affiliate_id is None:
        affiliate = from_cookie(tenant) or house(tenant)
        if affiliate is None or _is_self(affiliate, user.id, user.email):
            return None
        affiliate_id = affiliate.id
        source = "link" if affiliate.kind != HOUSE else "storefront"
    binding = Binding(user_id=user.id, affiliate_id=affiliate_id, source=source)
    db.session.add(binding)
    db.session.commit()
    return binding


def move(user_id: int, affiliate: Affiliate, actor: str, reason: str) -> BindingChange:
    """Staff move a customer to another affiliate; the reason is required and kept."""
    from comptoir.toolkit import plugin_translations

    _ = plugin_translations("plugins.affiliates").gettext
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(_("Say why the customer changes affiliate; nothing was changed."))
    binding = db.session.scalars(select(Binding).where(Binding.user_id == user_id)).first()
    before = binding.affiliate_id if binding else None
    if before == affiliate.id:
        raise ValueError(_("The customer is already %(code)s's.", code=affiliate.code))
    if binding is None:
        db.session.add(Binding(user_id=user_id, affiliate_id=affiliate.id, source="staff"))
    else:
        binding.affiliate_id, binding.source = affiliate.id, "staff"
    change = BindingChange(user_id=user_id, from_affiliate_id=before,
                           to_affiliate_id=affiliate.id, actor=actor, reason=reason[:2000])
    db.session.add(change)
    db.session.commit()
    return change
