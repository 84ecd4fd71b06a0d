"""E-mails of the approval chain: to the approver when an order waits, to the buyer when it
is decided. Sent after the order's transaction committed (``comptoir_order_event``), in the
shop's language, with a link that leads through the login to the decision page."""

from __future__ import annotations

import logging
from typing import Any

from flask import url_for

from comptoir.toolkit import db, money, plugin_translations, send_mail, shop_today
from plugins.approvals import chain as chains
from plugins.approvals.service import request_for_order

_ = plugin_translations("plugins.approvals").gettext
log = logging.getLogger("comptoir.approvals")


def _user(user_id: int) -> Any:
    from comptoir.customers.models import User

    return db.session.get(User, user_id)


def _about(request: Any) -> tuple[Any, str, str]:
    """The requester, the amount as the shop writes it, and the decision page's link."""
    return (_user(request.requester_id), money(request.amount, request.currency),
            url_for("approvals.show", request_id=request.id, _external=True))


def _decider(tenant: Any, request: Any) -> Any:
    """Who decides ``request`` today: the approver, or their deputy while a delegation runs."""
    chain = chains.members(request.company_id)
    approver = chain.get(request.approver_id)
    if approver is None:
        return _user(request.approver_id)
    return _user(chains.deciding(approver, shop_today(tenant), chain).user_id)


def ask_approver(tenant: Any, request: Any, order: Any = None) -> None:
    """Tell whoever decides now (the approver, or their deputy) that a request waits."""
    from comptoir.toolkit import Order

    order = order or db.session.get(Order, request.order_id)
    decider = _decider(tenant, request)
    requester, amount, link = _about(request)
    try:
        send_mail(decider.email,
                  _("Order %(number)s waits for your approval (%(amount)s)",
                    number=order.number, amount=amount),
                  _("%(requester)s ordered %(amount)s excluding VAT, above their ceiling.\n"
                    "Approve it, reject it or send it back for change:\n%(link)s\n",
                    requester=requester.name, amount=amount, link=link))
    except Exception:  # the request stands; a lost e-mail must not undo it
        log.exception("approval e-mail for order %s not sent", order.number)


def order_moved(tenant: Any, order: Any, event: str) -> None:
    request = request_for_order(order.id)
    if request is None:
        return
    if event == "held":
        ask_approver(tenant, request, order)
        return
    requester, amount, link = _about(request)
    try:
        # "awaiting_payment": approved, and the buyer now pays online (a card order).
        if event in ("placed", "awaiting_payment", "cancelled"):
            verdict = (_("approved") if request.status == "approved"
                       else _("sent back for change") if request.status == "sent_back"
                       else _("rejected"))
            body = _("Your order %(number)s of %(amount)s was %(verdict)s.\n",
                     number=order.number, amount=amount, verdict=verdict)
            if request.reason:
                body += _("Reason: %(reason)s\n", reason=request.reason)
            if event == "awaiting_payment":
                body += _("Pay it online to confirm it, from the order's page in your "
                          "account.\n")
            send_mail(requester.email,
                      _("Order %(number)s %(verdict)s", number=order.number, verdict=verdict),
                      body + link + "\n")
    except Exception:  # the decision stands; a lost e-mail must not undo it
        log.exception("approval e-mail for order %s not sent", order.number)


def remind_decider(tenant: Any, request: Any) -> str:
    """Remind whoever decides ``request`` today (the approver, or their deputy) that it still
    waits; returns the address written to. Needs a request context for the link (the
    ``remind`` command makes one per tenant). Raises if the mail cannot be sent: the caller
    logs it, and the request stays as it is."""
    from comptoir.toolkit import Order

    order = db.session.get(Order, request.order_id)
    decider = _decider(tenant, request)
    requester, amount, link = _about(request)
    send_mail(decider.email,
              _("Reminder: order %(number)s still waits for your approval (%(amount)s)",
                number=order.number, amount=amount),
              _("%(requester)s ordered %(amount)s excluding VAT, above their ceiling, and is "
                "still waiting for a decision.\nApprove it, reject it or send it back for "
                "change:\n%(link)s\n", requester=requester.name, amount=amount, link=link))
    return decider.email


def ask_reviewer(review: Any) -> None:
    """Tell the technical reviewer that a cart or configuration waits for their eyes."""
    requester, reviewer = _user(review.requester_id), _user(review.reviewer_id)
    link = url_for("approvals.review", review_id=review.id, _external=True)
    what = (_("the standard configuration %(code)s (%(name)s)", code=review.configuration_code,
              name=review.title) if review.kind == "configuration" else _("their cart"))
    try:
        send_mail(reviewer.email,
                  _("Technical validation requested by %(requester)s", requester=requester.name),
                  _("%(requester)s submits %(what)s for technical validation.\n"
                    "Approve it, reject it or propose changes:\n%(link)s\n",
                    requester=requester.name, what=what, link=link))
    except Exception:  # the submission stands; a lost e-mail must not undo it
        log.exception("technical validation e-mail for review %s not sent", review.id)


def tell_review_outcome(review: Any) -> None:
    """Tell the buyer what the technical reviewer answered, with the reason or the changes."""
    requester, reviewer = _user(review.requester_id), _user(review.reviewer_id)
    link = url_for("approvals.review", review_id=review.id, _external=True)
    verdict = {"approved": _("approved"), "rejected": _("rejected"),
               "changes_proposed": _("changes proposed")}.get(review.status, review.status)
    body = _("%(reviewer)s answered your technical validation #%(id)s: %(verdict)s.\n",
             reviewer=reviewer.name, id=review.id, verdict=verdict)
    if review.note and review.status == "changes_proposed":
        body += _("Proposed changes: %(changes)s\n", changes=review.note)
    elif review.note:
        body += _("Reason: %(reason)s\n", reason=review.note)
    try:
        send_mail(requester.email,
                  _("Technical validation #%(id)s: %(verdict)s", id=review.id, verdict=verdict),
                  body + link + "\n")
    except Exception:  # the verdict stands; a lost e-mail must not undo it
        log.exception("technical validation e-mail for review %s not sent", review.id)
