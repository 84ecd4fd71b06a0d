"""Commission rules: checked when saved, chosen per order line when an order is paid.

The most specific rule wins: a rule for the line's category over a rule for every category;
among those, the highest tier the affiliate's month has reached. Two rules for the same
category and tier would leave the choice to chance, so they are refused, as are percentages
above 100 and negative amounts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from comptoir.toolkit import db, plugin_translations
from plugins.affiliates.models import FLAT, PERCENT, Affiliate, Rule

_ = plugin_translations("plugins.affiliates").gettext

CENT = Decimal("0.01")
CATEGORY = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


class RuleError(ValueError):
    """A rule was refused; ``field`` names what to fix. Nothing was saved."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


#: What the ledger's columns hold (``Numeric(12, 2)``): anything larger is a typing error.
LARGEST = Decimal("9999999999.99")


def _amount(text: Any, field: str) -> Decimal:
    refused = RuleError(field, _("'%(value)s' is not an amount", value=str(text)[:20]))
    try:
        value = Decimal(str(text).strip().replace(",", "."))
        exact = value.is_finite() and value == value.quantize(CENT)
    except InvalidOperation:
        raise refused from None
    if not exact or value < 0 or value > LARGEST:
        raise refused
    return value


def add_rule(affiliate: Affiliate, *, category: str = "", kind: str = PERCENT,
             value: Any, min_monthly_volume: Any = "0") -> Rule:
    """Add a rule to ``affiliate`` after checking it against the others.

    :raises RuleError: naming the field; nothing is added.
    """
    category = (category or "").strip().lower()
    if category and not CATEGORY.fullmatch(category):
        raise RuleError("category", _("'%(value)s' is not a category", value=category[:80]))
    if kind not in (PERCENT, FLAT):
        raise RuleError("kind", _("must be a percentage or a flat amount per unit"))
    amount = _amount(value, "value")
    if kind == PERCENT and amount > 100:
        raise RuleError("value", _("a commission cannot exceed 100 %"))
    tier = _amount(min_monthly_volume or "0", "min_monthly_volume")
    for rule in affiliate.rules:
        if rule.category == category and rule.min_monthly_volume == tier:
            raise RuleError("category", _("a rule for this category and tier exists already; "
                                          "change or remove it first"))
    rule = Rule(category=category, kind=kind, value=amount, min_monthly_volume=tier)
    affiliate.rules.append(rule)
    db.session.flush()
    return rule


def choose(rules: Iterable[Rule], category: str, month_volume: Decimal) -> Rule | None:
    """The rule for a line of ``category`` when the month's volume is ``month_volume``."""
    reached = [r for r in rules if r.min_monthly_volume <= month_volume]
    specific = [r for r in reached if r.category and r.category == category]
    candidates = specific or [r for r in reached if not r.category]
    return max(candidates, key=lambda r: r.min_monthly_volume, default=None)


def commission(rule: Rule | None, net: Decimal, units: int) -> Decimal:
    """What ``rule`` pays on a line of ``units`` worth ``net`` (excluding VAT)."""
    if rule is None:
        return Decimal("0.00")
    amount = rule.value * units if rule.kind == FLAT else net * rule.value / 100
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
