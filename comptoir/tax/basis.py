"""Whose VAT an order pays, and why: the seller's, the destination's, or none.

- A sale inside the seller's country pays the seller's VAT (*domestic*).
- Goods sent from one EU country to a company of another that gives a valid VAT number
  pay no VAT: the buyer accounts for it (*reverse charge*, "Autoliquidation" in France).
- Goods sent to a consumer in another EU country pay the seller's VAT until the seller's
  cross-border consumer sales pass the One-Stop-Shop threshold (10,000 EUR a year, a shop
  setting), or the shop opted in; then the destination's (*oss*).
- Goods leaving the seller's VAT area (France to Switzerland, Switzerland to anywhere) are
  exempt exports (*export*).
- A shop whose country has no VAT table installed charges none and says so (*untaxed*).

The tables come from the locale plugins through ``comptoir_vat_table``: first from the
tenant's own plugins, and for a destination country from every installed one, since a French
shop selling to German consumers under OSS charges German VAT whether or not it enabled the
German office's plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from comptoir.core.plugins import hooks, plugin_host
from comptoir.tax.tables import UnknownTaxClass, VatTable

DOMESTIC, REVERSE_CHARGE, OSS, EXPORT, UNTAXED = (
    "domestic", "reverse_charge", "oss", "export", "untaxed")
REGIMES = (DOMESTIC, REVERSE_CHARGE, OSS, EXPORT, UNTAXED)

#: Member states of the EU VAT area (Greece's VAT numbers say EL).
EU_COUNTRIES = frozenset((
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
))


class NoVatTable(LookupError):
    """No installed locale knows the VAT of this country: an OSS sale cannot be taxed."""

    def __init__(self, country: str) -> None:
        super().__init__(f"no VAT table is installed for {country}")
        self.country = country


def country_of_vat_number(number: str) -> str:
    """``"BE0403170701"`` is Belgian; Greek numbers start with EL, the country is GR."""
    prefix = number[:2].upper()
    return "GR" if prefix == "EL" else prefix


def _checked(answer: Any) -> VatTable | None:
    return answer if isinstance(answer, VatTable) else None


def table_for_country(country: str) -> VatTable | None:
    """The table any installed plugin gives for ``country``, whoever enabled it."""
    return _checked(plugin_host().every_hook.comptoir_vat_table(tenant=None, country=country))


def table_for(tenant: Any, country: str) -> VatTable | None:
    """``country``'s table as ``tenant`` applies it, with its office's scheduled changes."""
    table = _checked(hooks(tenant).comptoir_vat_table(tenant=tenant, country=country))
    if table is None and country != tenant.country:
        table = table_for_country(country)
    changes = tenant.settings.get("vat_rate_changes") if country == tenant.country else None
    if table is not None and changes:
        table = table.amended(changes)
    return table


@dataclass(frozen=True)
class Basis:
    """The VAT situation of one sale: which regime, which table, on which day."""

    regime: str
    country: str | None
    table: VatTable | None
    on_date: date
    vat_number: str | None = None

    @property
    def rounding(self) -> str:
        return self.table.rounding if self.table is not None else "invoice"

    @property
    def exempt(self) -> bool:
        return self.regime in (REVERSE_CHARGE, EXPORT)

    def rate(self, tax_class: str) -> Decimal | None:
        """The rate for ``tax_class``: 0 when exempt, ``None`` when untaxed.

        Raises :class:`~comptoir.tax.tables.UnknownTaxClass` when the country has no rate
        for the class on that day: an order is refused rather than taxed at a guess.
        """
        if self.table is None:
            return None
        if self.exempt:
            self.table.rate(tax_class, self.on_date)  # the class must still exist
            return Decimal("0")
        return self.table.rate(tax_class, self.on_date)


def today(tenant: Any) -> date:
    """The date in the shop's time zone: a rate change at midnight is midnight there."""
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo(tenant.timezone)).date()


def domestic(tenant: Any, on_date: date | None = None) -> Basis:
    """The basis of a sale inside the shop's country: what the storefront shows."""
    table = table_for(tenant, tenant.country) if tenant.country else None
    on_date = on_date or today(tenant)
    if table is None:
        return Basis(UNTAXED, None, None, on_date)
    return Basis(DOMESTIC, tenant.country, table, on_date)


def cross_border_b2c_sales(tenant: Any, year: int) -> Decimal:
    """Net EU distance sales to consumers in ``year``, for the OSS threshold."""
    from comptoir.core.db import db
    from comptoir.orders.models import CANCELLED, Order

    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    total = db.session.scalar(select(func.coalesce(func.sum(Order.total_net), 0)).where(
        Order.company_id.is_(None), Order.status != CANCELLED,
        Order.destination_country != tenant.country,
        Order.destination_country.in_(sorted(EU_COUNTRIES)),
        Order.created_at >= start, Order.created_at < end,
    ))
    return Decimal(str(total or 0))


def oss_applies(tenant: Any, on_date: date) -> bool:
    """Whether EU distance sales pay the destination's VAT: opted in, or the threshold was
    passed last year or so far this year."""
    settings = tenant.settings
    if settings.get("oss_opted_in"):
        return True
    threshold = Decimal(settings.get("oss_threshold", "10000"))
    return any(cross_border_b2c_sales(tenant, year) > threshold
               for year in (on_date.year - 1, on_date.year))


def determine(tenant: Any, *, destination: str | None, vat_number: str | None = None,
              on_date: date | None = None) -> Basis:
    """The basis of a sale by ``tenant`` delivered to ``destination``.

    :param vat_number: the buying company's VAT number, already checked (see
        :func:`comptoir.tax.vatnumbers.usable_for_reverse_charge`), or ``None``.
    """
    home = domestic(tenant, on_date)
    seller, destination = tenant.country, (destination or tenant.country).upper()
    if home.table is None or destination == seller:
        return home
    in_eu = seller in EU_COUNTRIES and destination in EU_COUNTRIES
    if not in_eu:
        return Basis(EXPORT, None, home.table, home.on_date)
    if vat_number and country_of_vat_number(vat_number) != seller:
        return Basis(REVERSE_CHARGE, None, home.table, home.on_date, vat_number)
    if oss_applies(tenant, home.on_date):
        table = table_for(tenant, destination)
        if table is None:
            raise NoVatTable(destination)
        return Basis(OSS, destination, table, home.on_date)
    return home


__all__ = [
    "DOMESTIC", "EU_COUNTRIES", "EXPORT", "OSS", "REGIMES", "REVERSE_CHARGE", "UNTAXED",
    "Basis", "NoVatTable", "UnknownTaxClass", "country_of_vat_number", "determine",
    "domestic", "oss_applies", "table_for", "table_for_country", "today",
]
