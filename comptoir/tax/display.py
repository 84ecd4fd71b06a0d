"""Prices as the shopper expects to read them: excluding VAT for companies, including it for
consumers (DESIGN: "B2B storefronts show HT/net, B2C show TTC/gross"), switchable.

The shop's ``prices`` setting says ``auto`` (by customer), ``net`` or ``gross``; a shopper
may switch for their session. What is shown is only a view: the price charged is still the
net price of :mod:`comptoir.catalog.pricing` with VAT added by the order's tax basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, abort, g, redirect, request, session, url_for

from comptoir.catalog import pricing

SESSION_KEY = "price_display"
MODES = ("net", "gross")

bp = Blueprint("price_display", __name__)


def shows_gross(company: Any) -> bool:
    """Whether this shopper sees prices including VAT."""
    chosen = session.get(SESSION_KEY)
    if chosen in MODES:
        return chosen == "gross"
    mode = g.tenant.settings.get("prices", "auto") if g.get("tenant") is not None else "auto"
    if mode in MODES:
        return mode == "gross"
    return company is None


@dataclass(frozen=True)
class Shown:
    """A :class:`~comptoir.catalog.pricing.Price` with both figures; ``gross`` says which
    one this shopper reads first."""

    price: pricing.Price
    #: The price and the public reference including VAT; ``None`` when the shop's country
    #: has no rate for the class (the page then says VAT is unknown).
    net_gross: Decimal | None
    public_gross: Decimal | None
    rate: Decimal | None
    gross: bool

    @property
    def amount(self) -> Decimal:
        return self.net_gross if self.gross and self.net_gross is not None else self.price.net

    @property
    def public(self) -> Decimal:
        return (self.public_gross if self.gross and self.public_gross is not None
                else self.price.public)


def shown(price: pricing.Price, tax_class: str = "standard") -> Shown:
    """How the current shopper reads ``price`` for an item of ``tax_class``."""
    from comptoir.customers.service import current_company

    rate = pricing.vat_rate(g.tenant, tax_class)
    if rate is None:
        return Shown(price, None, None, None, False)
    return Shown(price, pricing.gross(price.net, rate), pricing.gross(price.public, rate), rate,
                 shows_gross(current_company()))


def prices_include_vat() -> bool:
    """Whether the current shopper reads prices including VAT (for templates)."""
    from comptoir.customers.service import current_company

    return shows_gross(current_company())


def here() -> str:
    """This page's path with its query, under the shop's prefix: where a switch returns."""
    return request.script_root + request.full_path.rstrip("?")


@bp.route("/prices", methods=["POST"])
def switch() -> Any:
    """Show prices with or without VAT for the rest of the visit."""
    from flask_babel import gettext

    mode = request.form.get("mode", "")
    if mode not in MODES:
        abort(400, gettext("Prices are shown 'net' (excluding VAT) or 'gross' (including "
                           "VAT), not '%(mode)s'.", mode=mode[:20]))
    session[SESSION_KEY] = mode
    from comptoir.customers.auth import safe_next

    return redirect(safe_next(request.form.get("next", "")) or url_for("index"), 303)


def country_name(code: str | None) -> str:
    """``"DE"`` as "Allemagne" in a French shop."""
    from flask_babel import get_locale

    if not code:
        return ""
    return get_locale().territories.get(code.upper(), code.upper())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["country_name"] = country_name
    app.jinja_env.globals["shown_price"] = shown
    app.jinja_env.globals["prices_include_vat"] = prices_include_vat
    app.jinja_env.globals["here"] = here
