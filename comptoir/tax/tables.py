"""VAT tables: a country's rates per tax class, each with the date it came into force.

A table is data a locale plugin hands to the core through ``comptoir_vat_table``; it is
checked when it is built, so a rate without an effective date, an unknown tax class or two
rates in force on the same day is an error at start-up (or when an office saves a scheduled
change), never a wrong invoice. A rate change is a new :class:`Rate` with a later
``valid_from``: orders placed from that day get it, older orders keep what they were charged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

#: Every tax class a product may carry. Which of them a country knows is up to its table.
TAX_CLASSES = ("standard", "intermediate", "reduced", "super_reduced", "accommodation", "zero")

#: VAT computed on each line and the lines added up, or added up per rate and computed once.
PER_LINE, PER_INVOICE = "line", "invoice"
ROUNDINGS = (PER_LINE, PER_INVOICE)


class VatTableError(ValueError):
    """A table, or a change to one, that cannot be right; ``field`` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class UnknownTaxClass(LookupError):
    """The country's table has no rate for this class (on this date)."""

    def __init__(self, country: str, tax_class: str, on_date: date) -> None:
        super().__init__(f"no VAT rate for tax class '{tax_class}' in {country} "
                         f"on {on_date.isoformat()}")
        self.country, self.tax_class, self.on_date = country, tax_class, on_date


@dataclass(frozen=True)
class Rate:
    """``percent`` for ``tax_class`` from ``valid_from`` until the day before ``valid_until``."""

    tax_class: str
    percent: Decimal
    valid_from: date
    valid_until: date | None = None

    def in_force(self, on_date: date) -> bool:
        return self.valid_from <= on_date and (self.valid_until is None
                                               or on_date < self.valid_until)


def _as_rate(index: int, raw: Rate | Mapping[str, Any]) -> Rate:
    where = f"rates[{index}]"
    if isinstance(raw, Rate):
        raw = {"tax_class": raw.tax_class, "rate": raw.percent, "valid_from": raw.valid_from,
               "valid_until": raw.valid_until}
    tax_class = raw.get("tax_class")
    if tax_class not in TAX_CLASSES:
        raise VatTableError(f"{where}.tax_class",
                            f"unknown tax class {tax_class!r}; one of {', '.join(TAX_CLASSES)}")
    value = raw.get("rate", raw.get("percent"))
    if isinstance(value, float | bool):
        raise VatTableError(f"{where}.rate", "a rate is a Decimal or a decimal string, "
                                             "never a float")
    try:
        percent = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise VatTableError(f"{where}.rate", f"{value!r} is not a number") from None
    if not percent.is_finite() or not 0 <= percent < 100:
        raise VatTableError(f"{where}.rate", f"{value} is not a percentage from 0 to 100")
    bounds = []
    for key in ("valid_from", "valid_until"):
        when = raw.get(key)
        if isinstance(when, str):
            try:
                when = date.fromisoformat(when)
            except ValueError:
                raise VatTableError(f"{where}.{key}", f"{when!r} is not a date (YYYY-MM-DD)") \
                    from None
        if when is None and key == "valid_from":
            raise VatTableError(f"{where}.valid_from",
                                "every rate needs the date it comes into force")
        if when is not None and not isinstance(when, date):
            raise VatTableError(f"{where}.{key}", f"{when!r} is not a date")
        bounds.append(when)
    if bounds[1] is not None and bounds[1] <= bounds[0]:
        raise VatTableError(f"{where}.valid_until", "ends before it starts")
    return Rate(tax_class, percent, bounds[0], bounds[1])


@dataclass(frozen=True)
class VatTable:
    """One country's VAT: rates with their dates, how amounts are rounded, invoice wording.

    :param country: ISO 3166 alpha-2 code.
    :param rounding: :data:`PER_LINE` or :data:`PER_INVOICE`, as the country's rules say.
    :param rates: :class:`Rate` objects or mappings with ``tax_class``, ``rate``,
        ``valid_from`` (and optionally ``valid_until``). A rate stays in force until the
        next rate of its class starts, unless ``valid_until`` ends it earlier.
    :param eu: whether the country is in the EU VAT area (reverse charge, OSS).
    :param mentions: invoice wording per regime (``reverse_charge``, ``export``...), in the
        seller's language, as the country's law requires.
    :param source: where the figures come from, for whoever checks them.
    """

    country: str
    rounding: str
    rates: tuple[Rate, ...]
    eu: bool = True
    mentions: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def __init__(self, country: str, rounding: str, rates: Iterable[Rate | Mapping[str, Any]],
                 *, eu: bool = True, mentions: Mapping[str, Any] | None = None,
                 source: str = "") -> None:
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise VatTableError("country", f"{country!r} is not an ISO country code such as FR")
        if rounding not in ROUNDINGS:
            raise VatTableError("rounding", f"{rounding!r}; one of {', '.join(ROUNDINGS)}")
        checked = tuple(_as_rate(i, r) for i, r in enumerate(rates))
        if not checked:
            raise VatTableError("rates", "a table needs at least one rate")
        ordered = tuple(sorted(checked, key=lambda r: (r.tax_class, r.valid_from)))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.tax_class == after.tax_class and before.valid_from == after.valid_from:
                raise VatTableError("rates", f"two '{after.tax_class}' rates start on "
                                             f"{after.valid_from.isoformat()}")
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "rounding", rounding)
        object.__setattr__(self, "rates", ordered)
        object.__setattr__(self, "eu", eu)
        object.__setattr__(self, "mentions", MappingProxyType(dict(mentions or {})))
        object.__setattr__(self, "source", source)

    @property
    def classes(self) -> frozenset[str]:
        return frozenset(r.tax_class for r in self.rates)

    def rate(self, tax_class: str, on_date: date) -> Decimal:
        """The percentage in force for ``tax_class`` on ``on_date``.

        The latest rate of the class that started on or before the date applies, unless
        its ``valid_until`` has passed: a temporary rate (Germany's 16 % in the second half
        of 2020) ends by itself and the one it interrupted carries on.
        """
        started = [r for r in self.rates if r.tax_class == tax_class
                   and r.valid_from <= on_date]
        for candidate in sorted(started, key=lambda r: r.valid_from, reverse=True):
            if candidate.in_force(on_date):
                return candidate.percent
        raise UnknownTaxClass(self.country, tax_class, on_date)

    def amended(self, changes: Iterable[Mapping[str, Any]]) -> VatTable:
        """This table with an office's scheduled changes added (a new rate from a date).

        Raises :class:`VatTableError` naming the change if one is not right, in which case
        nothing should be saved.
        """
        changes = list(changes)
        for index, change in enumerate(changes):
            if change.get("tax_class") not in self.classes:
                raise VatTableError(
                    f"vat_rate_changes[{index}].tax_class",
                    f"{self.country} has no tax class {change.get('tax_class')!r}; one of "
                    f"{', '.join(sorted(self.classes))}")
        try:
            extra = [_as_rate(i, c) for i, c in enumerate(changes)]
        except VatTableError as error:
            raise VatTableError(error.field.replace("rates", "vat_rate_changes", 1),
                                error.problem) from None
        return VatTable(self.country, self.rounding, (*self.rates, *extra), eu=self.eu,
                        mentions=self.mentions, source=self.source)
