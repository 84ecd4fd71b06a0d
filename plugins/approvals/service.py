"""Holding an order above the buyer's ceiling, and deciding on it.

At checkout the core asks ``comptoir_checkout_veto`` (can this order be approved by anyone?)
and then ``comptoir_checkout_hold`` (must it wait?). A held order keeps its stock reserved
and a :class:`~plugins.approvals.models.Request` names the lowest person up the buyer's chain
whose ceiling covers the amount; that person (or their deputy) is e-mailed a link to the
decision page. A decision is claimed with one conditional UPDATE on the request, in the same
transaction as the order's own step: two approvers clicking at once yield one decision, and
an approved order is placed exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from comptoir.toolkit import change_order_status, db, money, plugin_translations
from plugins.approvals import chain as chains
from plugins.approvals.models import APPROVED, PENDING, REJECTED, SENT_BACK, Event, Request

_ = plugin_translations("plugins.approvals").gettext

DECISIONS = {"approve": APPROVED, "reject": REJECTED, "send_back": SENT_BACK}


class DecisionError(ValueError):
    """A decision refused; the message says why, and nothing changed."""


def _company_chain(user: Any) -> dict[int, Any]:
    if user is None or getattr(user, "company_id", None) is None:
        return {}
    return chains.members(user.company_id)


def veto(user: Any, amount: Decimal, currency: str) -> str | None:
    """Why nobody could approve this order, or ``None``."""
    chain = _company_chain(user)
    if not chain:
        return None  # this company does not use approvals
    mine = chain.get(user.id)
    if mine is None:
        return _("You are not in your company's approval chain: ask your company admin to "
                 "add you before ordering.")
    if amount <= mine.ceiling:
        return None
    approver, highest = chains.approver_for(chain, user.id, amount)
    if approver is None:
        return _("Nobody in your company's approval chain may approve %(amount)s (the highest "
                 "ceiling is %(highest)s): ask your company admin to raise it.",
                 amount=money(amount, currency), highest=money(highest, currency))
    return None


def hold(order: Any, user: Any) -> str | None:
    """Turn ``order`` into a request for approval if it exceeds the buyer's ceiling."""
    chain = _company_chain(user)
    mine = chain.get(user.id) if user is not None else None
    if mine is None or order.total_net <= mine.ceiling:
        return None
    approver, _highest = chains.first_approver(chain, user.id, order.total_net,
                                               chains.is_sequential(user.company_id))
    if approver is None:  # the veto said so already; never place it unapproved
        return _("No approver found.")
    request = Request(order_id=order.id, company_id=user.company_id, requester_id=user.id,
                      approver_id=approver.user_id, amount=order.total_net,
                      currency=order.currency)
    db.session.add(request)
    db.session.flush()
    db.session.add(Event(company_id=user.company_id, request_id=request.id, actor=user.email,
                         action="submitted", note=str(order.total_net)))
    return _("Waiting for approval: %(amount)s is above your ceiling of %(ceiling)s.",
             amount=money(order.total_net, order.currency),
             ceiling=money(mine.ceiling, order.currency))


def request_for_order(order_id: int) -> Request | None:
    return db.session.scalars(select(Request).where(Request.order_id == order_id)).first()


def may_decide(request: Request, user: Any, today: Any) -> bool:
    """The approver, or their deputy while the delegation runs; never the requester."""
    if user is None or user.id == request.requester_id or user.company_id != request.company_id:
        return False
    chain = chains.members(request.company_id)
    approver = chain.get(request.approver_id)
    if approver is None:
        return False
    return user.id in {approver.user_id, chains.deciding(approver, today, chain).user_id}


def _forward(tenant: Any, request: Request, user: Any, authority: Any, following: Any,
             reason: str) -> str:
    """A sequential chain: this level approves in turn and the next one is asked."""
    from plugins.approvals.notify import ask_approver

    claimed = db.session.execute(
        update(Request).where(Request.id == request.id, Request.status == PENDING,
                              Request.approver_id == authority.user_id)
        .values(approver_id=following.user_id).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise DecisionError(_("This request was decided meanwhile."))
    db.session.add(Event(company_id=request.company_id, request_id=request.id,
                         actor=user.email, action="endorsed", note=reason))
    db.session.commit()
    db.session.refresh(request)
    ask_approver(tenant, request)
    return "endorsed"


def decide(tenant: Any, request: Request, user: Any, decision: str, reason: str = "") -> str:
    """Approve, reject or send back ``request`` as ``user``; raise :class:`DecisionError`.

    Returns what happened: ``approved``, ``rejected``, ``sent_back``, or ``endorsed`` when a
    sequential chain's intermediate level approved in turn and the next level was asked.
    """
    from comptoir.toolkit import Order, shop_today

    status = DECISIONS.get(decision)
    if status is None:
        raise DecisionError(_("Unknown decision '%(decision)s'.", decision=decision[:30]))
    reason = reason.strip()
    if status != APPROVED and not reason:
        raise DecisionError(_("Say why, so that the buyer knows what to change."))
    if len(reason) > 2000:
        raise DecisionError(_("The reason is longer than 2,000 characters."))
    if not may_decide(request, user, shop_today(tenant)):
        raise DecisionError(_("This request is not yours to decide."))
    chain = chains.members(request.company_id)
    authority = chain.get(request.approver_id)
    if status == APPROVED and (authority is None or request.amount > authority.ceiling):
        following = (chains.next_budget_approver(chain, authority.user_id)
                     if authority is not None and chains.is_sequential(request.company_id)
                     else None)
        if following is None:
            raise DecisionError(_("%(amount)s is above the approver's ceiling: the company "
                                  "admin must raise it first.",
                                  amount=money(request.amount, request.currency)))
        return _forward(tenant, request, user, authority, following, reason)
    claimed = db.session.execute(
        update(Request).where(Request.id == request.id, Request.status == PENDING)
        .values(status=status, decided_at=datetime.now(UTC), decided_by=user.id,
                reason=reason).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise DecisionError(_("This request was decided meanwhile."))
    db.session.add(Event(company_id=request.company_id, request_id=request.id,
                         actor=user.email, action=status, note=reason))
    order = db.session.get(Order, request.order_id)
    note = _("Approved by %(name)s.", name=user.name) if status == APPROVED else reason
    try:
        change_order_status(tenant, order, "placed" if status == APPROVED else "cancelled",
                            user.email, note)
    except ValueError as moved:
        db.session.rollback()
        raise DecisionError(str(moved)) from None
    db.session.refresh(request)
    return status
