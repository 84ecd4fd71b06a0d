"""Technical validation: a buyer submits a cart or a standard configuration to the nearest
person up their chain who validates configurations, who approves it, rejects it or proposes
changes.

From the seed: "supervisors to whom a configuration is submitted for technical validation",
before any budget step. What is reviewed is a snapshot of the lines (sku, name, quantity)
taken at submission, so the verdict is about what the buyer sent, whatever the cart becomes.
A verdict is claimed with one conditional UPDATE (``status = 'pending'``), as budget
decisions are, so two clicks or two reviewers yield one verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from comptoir.toolkit import db, plugin_translations
from plugins.approvals import chain as chains
from plugins.approvals.models import (
    APPROVED,
    CART,
    CHANGES_PROPOSED,
    CONFIGURATION,
    PENDING,
    REJECTED,
    Event,
    Member,
    Review,
)

_ = plugin_translations("plugins.approvals").gettext

#: What the reviewer's buttons send, and the status and audit action each one records.
VERDICTS: dict[str, tuple[str, str]] = {
    "approve": (APPROVED, "review_approved"),
    "reject": (REJECTED, "review_rejected"),
    "propose": (CHANGES_PROPOSED, "changes_proposed"),
}
MAX_NOTE = 2000


class ReviewError(ValueError):
    """A submission or verdict refused; the message says why, and nothing changed."""


def reviewer_for(chain: Mapping[int, Member], requester_id: int) -> Member | None:
    """The nearest person strictly above ``requester_id`` who validates configurations.

    Strictly above: a technical buyer still needs someone else's eyes on their own choice.
    """
    current, seen = chain.get(requester_id), {requester_id}
    while current is not None and current.reports_to is not None \
            and current.reports_to not in seen:
        boss = chain.get(current.reports_to)
        if boss is None:
            return None
        if boss.technical:
            return boss
        seen.add(boss.user_id)
        current = boss
    return None


def cart_lines(user: Any) -> list[dict[str, Any]]:
    """The user's cart as review lines; an empty list for no cart or an empty one."""
    from comptoir.orders.service import current_cart  # not exported by the toolkit yet

    cart = current_cart(user)
    lines = []
    for line in cart.lines if cart is not None else ():
        if line.variant is not None:
            sku, name = line.variant.sku, line.variant.product.name
        else:
            sku, name = line.configuration.code, line.configuration.name
        lines.append({"sku": sku, "name": name, "quantity": line.quantity})
    return lines


def visible_configurations(user: Any) -> list[Any]:
    """The standard configurations the user's company may see (active, and entitled if the
    company's catalogue is restricted): the only codes it may submit."""
    from comptoir.catalog import service as catalog  # not exported by the toolkit yet

    return catalog.configurations_for(catalog.Entitlement.of(user.company))


def _reviewer(user: Any) -> Member:
    chain = chains.members(user.company_id)
    if user.id not in chain:
        raise ReviewError(_("You are not in your company's approval chain: ask your company "
                            "admin to add you."))
    reviewer = reviewer_for(chain, user.id)
    if reviewer is None:
        raise ReviewError(_("Nobody above you in your company's chain validates "
                            "configurations: ask your company admin to name someone."))
    return reviewer


def _submit(user: Any, kind: str, lines: list[dict[str, Any]], code: str | None = None,
            title: str = "") -> Review:
    reviewer = _reviewer(user)
    review = Review(company_id=user.company_id, requester_id=user.id,
                    reviewer_id=reviewer.user_id, kind=kind, configuration_code=code,
                    title=title, lines=lines)
    db.session.add(review)
    db.session.flush()
    db.session.add(Event(company_id=user.company_id, review_id=review.id, actor=user.email,
                         action="review_submitted",
                         note=f"{kind} {code}" if code else kind))
    return review


def submit_cart(user: Any) -> Review:
    """Submit the user's current cart; the caller commits, then e-mails the reviewer."""
    lines = cart_lines(user)
    if not lines:
        raise ReviewError(_("Your cart is empty: add what you want validated first."))
    return _submit(user, CART, lines)


def submit_configuration(user: Any, code: str) -> Review:
    """Submit the standard configuration ``code``, which the company must be able to see."""
    code = (code or "").strip()
    if not code:
        raise ReviewError(_("Choose a standard configuration."))
    found = next((c for c in visible_configurations(user) if c.code == code), None)
    if found is None:  # unknown, inactive or not offered to this company: the same answer
        raise ReviewError(_("There is no standard configuration '%(code)s' in your "
                            "catalogue.", code=code[:64]))
    lines = [{"sku": item.variant.sku, "name": item.variant.product.name,
              "quantity": item.quantity} for item in found.items]
    return _submit(user, CONFIGURATION, lines, found.code, found.name)


def may_see(review: Review, user: Any) -> bool:
    """The requester, the reviewer and the company admin; nobody from another company."""
    if user is None or user.company_id != review.company_id:
        return False
    return user.id in (review.requester_id, review.reviewer_id) \
        or user.role == "company_admin"


def may_review(review: Review, user: Any) -> bool:
    """Only the named reviewer, and never on their own submission."""
    return (user is not None and user.company_id == review.company_id
            and user.id == review.reviewer_id and user.id != review.requester_id)


def decide(review: Review, user: Any, verdict: str, note: str = "") -> str:
    """Record ``user``'s verdict on ``review``; raise :class:`ReviewError`, changing nothing.

    A rejection needs its reason and a proposal its changes: the buyer must know what to do.
    Returns the new status; the caller commits, then tells the buyer.
    """
    found = VERDICTS.get(verdict)
    if found is None:
        raise ReviewError(_("Unknown decision '%(decision)s'.", decision=verdict[:30]))
    status, action = found
    note = (note or "").strip()
    if status == REJECTED and not note:
        raise ReviewError(_("Say why, so that the buyer knows what to change."))
    if status == CHANGES_PROPOSED and not note:
        raise ReviewError(_("Describe the changes you propose."))
    if len(note) > MAX_NOTE:
        raise ReviewError(_("The reason is longer than 2,000 characters."))
    if not may_review(review, user):
        raise ReviewError(_("This configuration is not yours to validate."))
    claimed = db.session.execute(
        update(Review).where(Review.id == review.id, Review.status == PENDING)
        .values(status=status, decided_at=datetime.now(UTC), decided_by=user.id, note=note)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise ReviewError(_("This configuration was validated meanwhile."))
    db.session.add(Event(company_id=review.company_id, review_id=review.id, actor=user.email,
                         action=action, note=note))
    return status


def company_reviews(company_id: int) -> list[Review]:
    return list(db.session.scalars(
        select(Review).where(Review.company_id == company_id).order_by(Review.id.desc())))
