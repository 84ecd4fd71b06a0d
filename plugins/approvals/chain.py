"""A company's decision chain: who reports to whom, who may sign for how much.

The chain is checked as a whole whenever it is saved: every ceiling a non-negative Decimal,
every manager in the same company and higher in level than who reports to them, no cycle,
and at least one person at the top (reporting to nobody) who may approve budgets. A chain
that breaks one of these is refused with what is wrong, and the old chain stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from comptoir.toolkit import db, plugin_translations
from plugins.approvals.models import Member

_ = plugin_translations("plugins.approvals").gettext


class ChainError(ValueError):
    """The chain cannot be saved; ``field`` names what to fix."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


@dataclass(frozen=True)
class Link:
    """One person's place in the chain, as the company admin sets it."""

    user_id: int
    level: int
    ceiling: Decimal
    reports_to: int | None
    budget: bool = False
    technical: bool = False


def members(company_id: int) -> dict[int, Member]:
    """The company's chain, by user id."""
    rows = db.session.scalars(select(Member).where(Member.company_id == company_id))
    return {m.user_id: m for m in rows}


def parse_amount(field: str, raw: Any) -> Decimal:
    if isinstance(raw, float):
        raise ChainError(field, _("an amount is a decimal, never a float"))
    text = str(raw).strip().replace(" ", "").replace("\u202f", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ChainError(field, _("'%(raw)s' is not an amount", raw=raw)) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ChainError(field, _("'%(raw)s' is not an amount of at least 0 with at most 2 "
                                  "decimals", raw=raw))
    if value >= Decimal("1e12"):
        raise ChainError(field, _("'%(raw)s' is too large", raw=raw))
    return value


def check(links: Iterable[Link], company_users: Mapping[int, str]) -> list[Link]:
    """Return ``links`` if they make a sound chain for a company whose users are
    ``company_users`` (id -> e-mail), else raise :class:`ChainError`."""
    chain = list(links)
    seen: set[int] = set()
    for link in chain:
        who = company_users.get(link.user_id)
        if who is None:
            raise ChainError("user", _("user %(id)s is not one of the company's",
                                       id=link.user_id))
        if link.user_id in seen:
            raise ChainError(who, _("appears twice in the chain"))
        seen.add(link.user_id)
        if not 1 <= link.level <= 9:
            raise ChainError(who, _("levels go from 1 to 9"))
    by_user = {link.user_id: link for link in chain}
    for link in chain:
        who = company_users[link.user_id]
        if link.reports_to is None:
            continue
        if link.reports_to == link.user_id:
            raise ChainError(who, _("cannot report to themselves"))
        boss = by_user.get(link.reports_to)
        if boss is None:
            raise ChainError(who, _("reports to someone who is not in the chain"))
        if boss.level <= link.level:
            raise ChainError(who, _("reports to %(boss)s, whose level (%(boss_level)s) is not "
                                    "above theirs (%(level)s)", boss=company_users[boss.user_id],
                                    boss_level=boss.level, level=link.level))
    for link in chain:  # levels strictly rise, so a cycle cannot exist; say it plainly anyway
        path, current = [link.user_id], link
        while current.reports_to is not None:
            if current.reports_to in path:
                raise ChainError(company_users[link.user_id],
                                 _("the chain goes round in a cycle"))
            path.append(current.reports_to)
            current = by_user[current.reports_to]
    if chain and not any(link.reports_to is None and link.budget for link in chain):
        raise ChainError("chain", _("nobody at the top of the chain may approve budgets"))
    return chain


def save(company_id: int, links: Iterable[Link], company_users: Mapping[int, str]) -> None:
    """Replace the company's chain with ``links`` once :func:`check` accepts them."""
    chain = check(links, company_users)
    existing = members(company_id)
    for user_id, row in existing.items():
        if user_id not in {link.user_id for link in chain}:
            db.session.delete(row)
    for link in chain:
        row = existing.get(link.user_id) or Member(company_id=company_id, user_id=link.user_id)
        row.level, row.ceiling, row.reports_to = link.level, link.ceiling, link.reports_to
        row.budget, row.technical = link.budget, link.technical
        db.session.add(row)


def deciding(member: Member, on_date: date, chain: Mapping[int, Member]) -> Member:
    """Who decides for ``member`` today: their deputy while the delegation runs."""
    if member.deputy is not None and member.deputy_until is not None \
            and on_date <= member.deputy_until and member.deputy in chain:
        return chain[member.deputy]
    return member


def approver_for(chain: Mapping[int, Member], requester_id: int,
                 amount: Decimal) -> tuple[Member | None, Decimal]:
    """The lowest person up the requester's chain who may approve ``amount``, and the
    highest ceiling found on the way (to say how far short the chain falls). The approver's
    deputy, while a delegation runs, decides with the approver's authority
    (:func:`deciding`)."""
    highest = Decimal("0")
    current = chain.get(requester_id)
    seen: set[int] = set()
    while current is not None and current.reports_to is not None \
            and current.reports_to not in seen:
        seen.add(current.user_id)
        boss = chain.get(current.reports_to)
        if boss is None:
            break
        if boss.budget:
            highest = max(highest, boss.ceiling)
            if boss.ceiling >= amount:
                return boss, highest
        current = boss
    return None, highest


def next_budget_approver(chain: Mapping[int, Member], user_id: int) -> Member | None:
    """The first person above ``user_id`` who may approve budgets."""
    current, seen = chain.get(user_id), {user_id}
    while current is not None and current.reports_to is not None \
            and current.reports_to not in seen:
        boss = chain.get(current.reports_to)
        if boss is None:
            return None
        if boss.budget:
            return boss
        seen.add(boss.user_id)
        current = boss
    return None


def first_approver(chain: Mapping[int, Member], requester_id: int, amount: Decimal,
                   sequential: bool) -> tuple[Member | None, Decimal]:
    """Who is asked first: the lowest covering approver, or, when the company's rule is
    sequential, the first budget approver up the chain (each level then approves in turn);
    ``None`` when nobody up the chain may approve ``amount``."""
    covering, highest = approver_for(chain, requester_id, amount)
    if covering is None or not sequential:
        return covering, highest
    return next_budget_approver(chain, requester_id), highest


def is_sequential(company_id: int) -> bool:
    from plugins.approvals.models import CompanyRule

    rule = db.session.scalars(
        select(CompanyRule).where(CompanyRule.company_id == company_id)).first()
    return bool(rule and rule.sequential)


def set_sequential(company_id: int, sequential: bool) -> None:
    from plugins.approvals.models import CompanyRule

    rule = db.session.scalars(
        select(CompanyRule).where(CompanyRule.company_id == company_id)).first()
    if rule is None:
        rule = CompanyRule(company_id=company_id)
        db.session.add(rule)
    rule.sequential = sequential
