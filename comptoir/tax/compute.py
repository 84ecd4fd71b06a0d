"""VAT on a set of lines, per rate, rounded the way the country says.

Two methods give different cents on the same lines, and both are legal somewhere: three
lines of 0.33 at 20 % make 0.21 of VAT when each line is rounded (0.07 × 3), and 0.20 when
the rate's base is rounded once (0.99 × 20 % = 0.198). Which one applies is part of the
country's :class:`~comptoir.tax.tables.VatTable`; amounts are ``Decimal``, rounded half-up
to the cent, and the invoice prints the base and the VAT of each rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from comptoir.tax.tables import PER_LINE, ROUNDINGS

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_key(rate: Decimal) -> str:
    """How a rate is written in stored breakdowns: ``"20"``, ``"5.5"``, ``"0"``."""
    return format(rate.normalize(), "f")


@dataclass(frozen=True)
class RateTotal:
    rate: Decimal
    base: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Taxes:
    """VAT of a set of lines: one :class:`RateTotal` per rate, lowest rate first."""

    per_rate: tuple[RateTotal, ...]

    @property
    def net(self) -> Decimal:
        return sum((r.base for r in self.per_rate), ZERO)

    @property
    def vat(self) -> Decimal:
        return sum((r.vat for r in self.per_rate), ZERO)

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    def breakdown(self) -> dict[str, str]:
        """``{"20": "200.00"}``: what an order stores and its invoice prints."""
        return {rate_key(r.rate): str(r.vat) for r in self.per_rate}


def compute(lines: Iterable[tuple[Decimal, Decimal]], rounding: str) -> Taxes:
    """VAT of ``(net amount, rate in percent)`` lines with the given rounding method."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"unknown rounding {rounding!r}")
    bases: dict[Decimal, Decimal] = {}
    vats: dict[Decimal, Decimal] = {}
    for net, rate in lines:
        if isinstance(net, float) or isinstance(rate, float):
            raise TypeError("VAT is computed on Decimal, never float")
        bases[rate] = bases.get(rate, ZERO) + net
        if rounding == PER_LINE:
            vats[rate] = vats.get(rate, ZERO) + to_cents(net * rate / 100)
    per_rate = tuple(
        RateTotal(rate, to_cents(base),
                  vats[rate] if rounding == PER_LINE else to_cents(base * rate / 100))
        for rate, base in sorted(bases.items())
    )
    return Taxes(per_rate)
