"""Storefront pages. Every route needs a tenant; on the platform's own host they are a 404.

What a page lists and the prices it shows depend on who is looking: a visitor sees the
public catalogue at public prices; a company buyer sees its company's world (its restricted
catalogue if it has one, its negotiated prices beside the public reference).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, g, request, url_for
from flask_login import current_user

from comptoir.catalog import pricing
from comptoir.catalog import service as catalog
from comptoir.core.db import db
from comptoir.core.plugins import hooks
from comptoir.core.themes import render
from comptoir.customers.service import current_company
from comptoir.orders.service import SHIPPING_METHODS, expected_delivery
from comptoir.staff.views import STAFF_ROLES
from comptoir.stock import service as stock
from comptoir.tenants.models import Tenant

bp = Blueprint("storefront", __name__)

RESERVED_PARAMS = {"q", "page"}


@bp.before_request
def _needs_tenant() -> None:
    if g.get("tenant") is None:
        abort(404)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 else 1


def _filters() -> dict[str, str]:
    return {k: v for k, v in request.args.items()
            if k not in RESERVED_PARAMS and catalog.ATTRIBUTE.match(k) and 0 < len(v) <= 40}


def _url_with(**changes: str | int | None) -> str:
    """This page's URL with some query arguments changed (``None`` removes one)."""
    args = dict(request.args)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def page_window(current: int, pages: int, around: int = 2) -> list[int | None]:
    """The page numbers a pager shows: the first, the last, and ``around`` either side of
    the current one, with ``None`` where pages are skipped. A category of 10,000 products
    has 209 pages; a link to each would be unreadable, and 209 URLs to build per request
    cost a fifth of the page's time."""
    shown = sorted({1, pages, *range(max(1, current - around), min(pages, current + around) + 1)})
    window: list[int | None] = []
    for number in shown:
        if window and number - (window[-1] or 0) > 1:
            window.append(None)
        window.append(number)
    return window


def _facet_links(page: catalog.Page, filters: dict[str, str]) -> list[tuple[str, list]]:
    links = []
    for name, values in page.facets.items():
        entries = []
        for value, count in values:
            active = filters.get(name) == value
            url = _url_with(**{name: None if active else value, "page": None})
            entries.append((value, count, active, url))
        links.append((name, entries))
    return links


def _listing(title: str, category: catalog.Category | None = None, text: str = "") -> str:
    company = current_company()
    entitlement = catalog.Entitlement.of(company)
    filters = _filters()
    page = catalog.browse(entitlement, category=category, text=text, filters=filters,
                          page=_page_number(),
                          per_page=current_app.config["CATALOGUE_PAGE_SIZE"])
    offers = []
    for product in page.products:
        variant = pricing.default_variant(g.tenant, product)
        if variant is not None:
            offers.append((product, variant, pricing.variant_price(g.tenant, variant, company)))
    return render(
        "storefront/listing.html", title=title, page=page, offers=offers, category=category,
        query=text, filters=filters, categories=catalog.top_categories(),
        facets=_facet_links(page, filters),
        page_links=[(n, _url_with(page=n) if n else None)
                    for n in page_window(page.page, page.pages)],
        configurations=catalog.configurations_for(entitlement) if company else [],
    )


def home() -> str:
    """The storefront's home; served at ``/`` by :func:`comptoir.create_app`'s ``index``."""
    from flask_babel import gettext

    return _listing(gettext("Catalogue"))


@bp.route("/c/<slug>")
def category(slug: str) -> str:
    found = catalog.find_category(slug)
    if found is None:
        abort(404)
    return _listing(found.name, category=found)


@bp.route("/search")
def search() -> str:
    from flask_babel import gettext

    text = request.args.get("q", "")[: catalog.MAX_QUERY]
    return _listing(gettext("Search: %(text)s", text=text), text=text)


@bp.route("/products/<sku>")
def product(sku: str) -> str:
    company = current_company()
    entitlement = catalog.Entitlement.of(company)
    item = catalog.find_product(sku, entitlement)
    if item is None:
        abort(404)
    variants = [v for v in item.variants if v.active]
    chosen = next((v for v in variants if v.sku == request.args.get("variant", sku)), None)
    chosen = chosen or pricing.default_variant(g.tenant, item)
    if chosen is None:
        abort(404)
    price = pricing.variant_price(g.tenant, chosen, company)
    available = stock.availability([chosen.id])[chosen.id] if item.stocked else None
    delivery = expected_delivery(available is None or available > 0,
                                 SHIPPING_METHODS["standard"])
    if current_user.is_authenticated and current_user.role not in STAFF_ROLES:
        # Marketing and help-desk plugins follow up on what a customer looked at.
        hooks(g.tenant).comptoir_customer_event(
            tenant=g.tenant, user=current_user, event="product_viewed",
            details={"sku": chosen.sku, "name": item.name, "product_id": item.id})
    return render(
        "storefront/product.html", product=item, variants=variants, chosen=chosen,
        price=price, related=catalog.related(item, entitlement),
        available=available, delivery=delivery,
    )


@bp.route("/images/<int(max=2147483647):image_id>")
def image(image_id: int) -> Response:
    """A product picture; SVG is served so that no script in it can run."""
    from comptoir.catalog.models import ProductImage

    found = db.session.get(ProductImage, image_id)
    if found is None or not catalog.is_visible(found.product_id,
                                               catalog.Entitlement.of(current_company())):
        abort(404)
    response = Response(found.data, mimetype=found.content_type)
    # Private: a key account's pictures are not for shared caches.
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/configurations")
def configurations() -> str:
    company = current_company()
    if company is None:
        abort(404)
    offers = [(c, pricing.configuration_price(g.tenant, c, company))
              for c in catalog.configurations_for(catalog.Entitlement.of(company))]
    return render("storefront/configurations.html", offers=offers, company=company)


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
