"""Storefront pages. Every route needs a tenant; on the platform's own host they are a 404."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g
from sqlalchemy import select

from comptoir.catalog import pricing
from comptoir.catalog.models import Product
from comptoir.core.db import db
from comptoir.core.themes import render
from comptoir.tenants.models import Tenant

bp = Blueprint("storefront", __name__)


@bp.before_request
def _needs_tenant() -> None:
    if g.get("tenant") is None:
        abort(404)


def home() -> str:
    """The storefront's home; served at ``/`` by :func:`comptoir.create_app`'s ``index``."""
    products = db.session.scalars(
        select(Product).where(Product.active.is_(True)).order_by(Product.name)
    ).all()
    return render("storefront/home.html", products=products)


@bp.route("/products/<sku>")
def product(sku: str) -> str:
    item = db.session.scalars(select(Product).where(Product.sku == sku)).first()
    if item is None or not item.active:
        abort(404)
    rate = pricing.vat_rate(g.tenant, item.tax_class)
    gross = pricing.gross(item.price, rate) if rate is not None else None
    return render("storefront/product.html", product=item, vat_rate=rate, gross=gross)


@bp.route("/brand/logo")
def logo() -> Response:
    """The tenant's own logo, as uploaded (the platform's logo is a theme file)."""
    tenant = db.session.get(Tenant, g.tenant.id)
    if tenant is None or tenant.logo is None:
        abort(404)
    response = Response(tenant.logo, mimetype=tenant.logo_type or "application/octet-stream")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
