"""Prices as shown: net from the catalogue, gross from the VAT rate a locale plugin gives.

The core knows no tax law; it asks the ``comptoir_vat_rate`` hook (firstresult) and, with no
answer, says so rather than guess. Amounts are ``Decimal`` rounded half-up to the cent.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from comptoir.core.plugins import hooks

log = logging.getLogger("comptoir.pricing")

CENT = Decimal("0.01")


def vat_rate(tenant: Any, tax_class: str, on_date: date | None = None) -> Decimal | None:
    """The rate in percent for ``tax_class`` in the tenant's country, or ``None``."""
    rate = hooks(tenant).comptoir_vat_rate(
        tenant=tenant, country=tenant.country, tax_class=tax_class,
        on_date=on_date or date.today(),
    )
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, (Decimal, int)) or not 0 <= rate < 100:
        # Money is never computed from a float or a guess: show the price without VAT.
        log.error("comptoir_vat_rate gave %r for %s; a Decimal percent is expected",
                  rate, tax_class)
        return None
    return Decimal(rate)


def gross(net: Decimal, rate: Decimal) -> Decimal:
    """``net`` plus VAT at ``rate`` percent, to the cent."""
    return (net * (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
