"""The bodies of the core's hooks: the discounts a cart gets, the claims of a booked order,
what an order's life changes.

**Order of the discounts** (the core applies them in the order given, each capped at what
is left of its lines): the promotions first (:mod:`.rules`, combined there), then a friend's
welcome offer (:mod:`.sponsorship`), then loyalty points (:mod:`.loyalty`) last, computed on
what the others left: points pay for what remains, so they are never capped by the core and
the points debited are the points shown.

**Where the buyer's choices live**: the codes applied to the cart and the points chosen are
kept in the Flask session under ``promotions:<tenant id>`` (``{"codes": [...], "points":
500, "points_user": 7}``), not in the database. They belong to one checkout in one browser
(a guest has no account to keep them on), vanish with it and need no clean-up job; the
session cookie is signed, so they cannot be forged, and nothing in it is trusted: every
summary and the booking check the codes and the points again. The key names the shop, so a
code applied in one shop is not carried into another on the same host.

**Booking** claims the promotions' uses (:func:`.coupons.claim`), the friend offer and the
points, in the order's transaction; the first refusal stops the order and the buyer reads
it. A code that can no longer be used is taken off the cart at once (the session is saved
with the refusal's response even though the order's transaction is rolled back), so the next
summary shows the right total instead of refusing again.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, session

from comptoir.toolkit import Discount, TenantInfo
from plugins.promotions import coupons, loyalty, rules, sponsorship

#: The notes for the buyer found while pricing the cart, shown by the cart page's block.
NOTES = "promotions_notes"
#: The id of the order this request booked, so that its "placed" event clears the codes.
BOOKED = "promotions_booked"


def state_key(tenant: TenantInfo) -> str:
    return f"promotions:{tenant.id}"


def applied_codes(tenant: TenantInfo) -> list[str]:
    """The codes the buyer applied to this shop's cart (none outside a request)."""
    if not has_request_context():
        return []
    state = session.get(state_key(tenant))
    codes = state.get("codes") if isinstance(state, dict) else None
    if not isinstance(codes, list):
        return []
    return [code for code in (rules.normalise(c) for c in codes[:10]) if code]


def set_codes(tenant: TenantInfo, codes: list[str]) -> None:
    """Keep ``codes`` for this shop's cart; the other keys of the shared dict (the points)
    are left as they are."""
    key = state_key(tenant)
    state = dict(session.get(key) or {})
    if codes:
        state["codes"] = list(codes)
    else:
        state.pop("codes", None)
    session[key] = state


def order_discounts(tenant: TenantInfo, user: Any, company: Any,
                    lines: list[Any]) -> list[Discount]:
    """``comptoir_order_discounts``: the promotions, then the friend offer, then points."""
    buyer = rules.buyer_of(user, company)
    outcome = rules.evaluate(tenant, buyer, lines, applied_codes(tenant))
    if has_request_context():
        setattr(g, NOTES, outcome.notes)
    found = list(outcome.discounts)
    friend = sponsorship.discount(tenant, user, lines, before=found)
    if friend is not None:
        found.append(friend)
    points = loyalty.discount(tenant, user, lines, before=found)
    if points is not None:
        found.append(points)
    return found


def booking(tenant: TenantInfo, order: Any, user: Any) -> str | None:
    """``comptoir_order_booking``: claim everything the order was given, or refuse it."""
    refused = coupons.claim(tenant, order, user)
    if refused is not None:
        if refused.code is not None and has_request_context():
            set_codes(tenant, [c for c in applied_codes(tenant) if c != refused.code])
        return refused.message
    message = sponsorship.claim(tenant, order, user) or loyalty.claim(tenant, order, user)
    if message is None and has_request_context():
        setattr(g, BOOKED, order.id)
    return message


def order_event(tenant: TenantInfo, order: Any, event: str) -> None:
    """``comptoir_order_event``: a booked order clears the cart's codes; a cancelled one
    gives its uses back; then loyalty and sponsorship follow the order."""
    from comptoir.toolkit import db

    if event in ("placed", "held") and has_request_context() and g.get(BOOKED) == order.id:
        set_codes(tenant, [])
    if event == "cancelled" and coupons.release(order):
        db.session.commit()
    loyalty.order_event(tenant, order, event)
    sponsorship.order_event(tenant, order, event)


def customer_registered(tenant: TenantInfo, user: Any) -> None:
    sponsorship.customer_registered(tenant, user)
    loyalty.customer_registered(tenant, user)
