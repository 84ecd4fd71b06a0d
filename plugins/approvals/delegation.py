"""Absence: a member of the chain names a deputy who decides in their place until a date.

The decision logic already honours ``Member.deputy`` / ``deputy_until``
(:func:`plugins.approvals.chain.deciding`): the deputy is e-mailed, reminded and may decide
with the absent member's authority. Here only the choice is checked and recorded: the deputy
must be someone else in the same company's chain who approves budgets (a deputy who could
not approve anything would leave requests stranded), and the delegation ends between today
and 90 days from now (an open-ended one would outlive the absence it was meant for).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from comptoir.toolkit import db, plugin_translations
from plugins.approvals import chain as chains
from plugins.approvals.models import Event, Member

_ = plugin_translations("plugins.approvals").gettext

MAX_DAYS = 90


class DelegationError(ValueError):
    """A delegation refused; the message says why, and nothing changed."""


def candidates(user: Any) -> list[Member]:
    """Who ``user`` may name: the other budget approvers of their company's chain."""
    chain = chains.members(user.company_id)
    return [m for uid, m in chain.items() if m.budget and uid != user.id]


def parse_until(raw: str, today: date) -> date:
    """The delegation's last day, from the form's ISO date, within today..today + 90 days."""
    try:
        until = date.fromisoformat((raw or "").strip())
    except ValueError:
        raise DelegationError(_("Give the last day of the delegation as a date "
                                "(YYYY-MM-DD).")) from None
    if until < today:
        raise DelegationError(_("The last day of the delegation is in the past."))
    if until > today + timedelta(days=MAX_DAYS):
        raise DelegationError(_("A delegation lasts at most %(days)s days: choose a last day "
                                "before %(limit)s.", days=MAX_DAYS,
                                limit=(today + timedelta(days=MAX_DAYS + 1)).isoformat()))
    return until


def delegate(user: Any, deputy_raw: str, until_raw: str, today: date) -> Member:
    """Name the deputy of ``user`` until the given day; the caller commits."""
    chain = chains.members(user.company_id)
    mine = chain.get(user.id)
    if mine is None:
        raise DelegationError(_("You are not in your company's approval chain: ask your "
                                "company admin to add you."))
    deputy_raw = (deputy_raw or "").strip()
    allowed = {m.user_id: m for m in candidates(user)}
    deputy = allowed.get(int(deputy_raw)) if deputy_raw.isdigit() else None
    if deputy is None:
        raise DelegationError(_("Choose as deputy someone else in your company's chain who "
                                "approves budgets."))
    until = parse_until(until_raw, today)
    mine.deputy, mine.deputy_until = deputy.user_id, until
    db.session.add(Event(company_id=user.company_id, actor=user.email, action="delegated",
                         note=f"deputy {_email(deputy.user_id)} until {until.isoformat()}"))
    return mine


def end(user: Any) -> bool:
    """End the delegation of ``user`` now; ``False`` when there was none. The caller commits."""
    mine = chains.members(user.company_id).get(user.id)
    if mine is None or mine.deputy is None:
        return False
    previous = _email(mine.deputy)
    mine.deputy, mine.deputy_until = None, None
    db.session.add(Event(company_id=user.company_id, actor=user.email, action="delegated",
                         note=f"ended (deputy was {previous})"))
    return True


def _email(user_id: int) -> str:
    from comptoir.customers.models import User

    found = db.session.get(User, user_id)
    return found.email if found is not None else str(user_id)
