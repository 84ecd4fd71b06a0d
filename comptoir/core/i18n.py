"""Language and formats follow the tenant: Flask-Babel with the tenant's locale and timezone.

Money is a :class:`~decimal.Decimal` with a currency; it is formatted by Babel for the
tenant's locale (``1 234,56 €`` in a French shop), never by hand.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.numbers import format_percent
from flask import Flask, current_app, g
from flask_babel import Babel, format_currency, get_locale

babel = Babel()

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def select_locale() -> str:
    tenant = g.get("tenant")
    return tenant.locale if tenant is not None else current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str | None:
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else None


def money(amount: Decimal, currency: str | None = None) -> str:
    """Format ``amount`` in the tenant's currency and locale."""
    if isinstance(amount, float):
        raise TypeError("money is Decimal, never float")
    if currency is None:
        tenant = g.get("tenant")
        currency = tenant.currency if tenant is not None else "EUR"
    return format_currency(amount, currency)


def percent(ratio: Decimal) -> str:
    """``Decimal("0.055")`` as ``5,5 %`` in French: the locale's pattern, decimals kept."""
    return format_percent(ratio, locale=get_locale(), decimal_quantization=False)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["decimal"] = Decimal
