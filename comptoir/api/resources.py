"""The read-only resources of ``/api/v1/``: list and detail of each, tenant-scoped.

Every query goes through the scoped session, so a route can only ever see the current
tenant's rows (and, for the catalogue and stock, its office's, as its shop does); an id of
another tenant is simply not found (404). Each route declares its scope with
:func:`documented`; the probe in ``tests/api/test_resources.py`` fails if a route does not.

The helpers (:class:`Blueprint`, :func:`blueprint`, :func:`documented`, :func:`page`,
:func:`one`, :func:`updated_since`, :class:`ApiResources`) are public: plugins build their
own resources with them, through ``comptoir.toolkit.api`` (:mod:`comptoir.api.kit`), and
return them from ``comptoir_api_resources`` (:mod:`comptoir.api.plugin_resources`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import abort, g, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import selectinload
from webargs.flaskparser import FlaskParser

from comptoir.api import schemas as s
from comptoir.api.errors import ErrorSchema, api_abort
from comptoir.api.oauth import authenticate, requires
from comptoir.api.service import SCOPES
from comptoir.catalog.models import HiddenProduct, Product, Variant
from comptoir.core.db import db
from comptoir.customers.models import Company, User
from comptoir.orders.models import Order, OrderEvent, ReturnRequest
from comptoir.quotes.models import Quote, QuoteEvent
from comptoir.stock.models import StockLevel

#: Blueprint names are prefixed (the app has an ``orders`` blueprint of its own); the
#: OpenAPI tags drop the prefix (:func:`comptoir.api.openapi_json`).
PREFIX = "api_v1_"
ID = "<int(max=2147483647):item_id>"


class StrictParser(FlaskParser):
    """Bad query parameters are a 400 naming them (webargs' default is a 422)."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with the API's strict query parser (unknown parameter: 400).

    ``plugin_resource`` is true for the blueprints a plugin serves through
    ``comptoir_api_resources``: their routes also document the 404 a shop answers when it
    has not enabled the plugin.
    """

    ARGUMENTS_PARSER = StrictParser(unknown=RAISE)
    plugin_resource = False


@dataclass(frozen=True)
class ApiResources:
    """What a plugin's ``comptoir_api_resources`` hook returns: its resources and scopes.

    ``scopes`` maps each scope the plugin's routes require (``approvals:read``) to an English
    description, shown in the OpenAPI document and, translated with the plugin's own
    catalogue, on the shop's API clients page. A scope may be granted to a client only in a
    shop that enabled the plugin.
    """

    blueprints: tuple[Blueprint, ...] | list[Blueprint]
    scopes: dict[str, str] = field(default_factory=dict)


def blueprint(name: str, description: str, *, plugin: bool = False) -> Blueprint:
    """A resource's blueprint, served at ``/api/v1/<name>`` and tagged ``name`` in the
    OpenAPI document; ``plugin=True`` for a plugin's (see :class:`Blueprint`)."""
    blp = Blueprint(f"{PREFIX}{name}", __name__, url_prefix=f"/api/v1/{name}",
                    description=description)
    blp.plugin_resource = plugin
    return blp


def _scoped(scope: str) -> Any:
    """The scope check: the core's scopes are checked when declared; a plugin's once the
    app knows every plugin's scopes (:func:`comptoir.api.register_plugin_resources`)."""
    if scope in SCOPES:
        return requires(scope)

    def decorate(view: Any) -> Any:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate(scope)
            return view(*args, **kwargs)

        wrapper._api_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate


def documented(blp: Blueprint, scope: str, *, detail: bool = False) -> Any:
    """Security and error responses every route shares, and the scope check itself.

    Decorate each view with it first (outermost), then ``etag``, ``arguments`` and
    ``response``, as the core's resources below do.
    """

    def decorate(view: Any) -> Any:
        view = _scoped(scope)(view)
        view = blp.doc(security=[{"oauth2": [scope]}])(view)
        view = blp.alt_response(400, response="BAD_REQUEST")(view)
        view = blp.alt_response(401, response="UNAUTHORIZED")(view)
        view = blp.alt_response(403, response="FORBIDDEN")(view)
        if blp.plugin_resource:
            why = ("No such item in this shop, or this shop has not enabled the plugin "
                   "serving it." if detail else
                   "This shop has not enabled the plugin serving this resource.")
            view = blp.alt_response(404, schema=ErrorSchema, description=why)(view)
        elif detail:
            view = blp.alt_response(404, response="NOT_FOUND")(view)
        return view

    return decorate


def updated_since(args: dict[str, Any]) -> datetime | None:
    """The ``updated_since`` parameter as an aware UTC date-time (naive means UTC), or
    ``None``; a date-time out of range is a 400 naming the parameter."""
    since = args.get("updated_since")
    if since is None:
        return None
    try:
        return since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        api_abort(400, "invalid_parameters", "Invalid or unknown parameters: updated_since.",
                  {"updated_since": ["Out of range."]})


def page(statement: Select, model: Any, args: dict[str, Any]) -> dict[str, Any]:
    """One page ordered by id, and the link to the next one (keyset: stable while syncing)."""
    limit = args["limit"]
    if args.get("cursor") is not None:
        statement = statement.where(model.id > args["cursor"])
    rows = list(db.session.scalars(statement.order_by(model.id).limit(limit + 1)).unique())
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        query = {**request.args.to_dict(), "limit": limit, "cursor": rows[-1].id}
        following = url_for(request.endpoint, _external=True, **query)
    return {"data": rows, "next": following}


def one(statement: Select, item_id: int) -> Any:
    """The one row ``statement`` finds, else a 404 (another tenant's id is simply absent)."""
    found = db.session.scalars(statement).unique().first()
    if found is None:
        abort(404, f"No such item: {item_id}.")
    return found


# --- catalogue ----------------------------------------------------------------------------

products = blueprint("products", "Products with their variants and public prices.")


def _products() -> Select:
    statement = select(Product).options(selectinload(Product.variants))
    if g.tenant.kind == "reseller":
        statement = statement.where(~exists().where(HiddenProduct.product_id == Product.id))
    return statement


@products.route("")
class Products(MethodView):
    @documented(products, "catalog:read")
    @products.etag
    @products.arguments(s.ListArgs, location="query")
    @products.response(200, s.page_of(s.ProductSchema, "ProductPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List products (the office's catalogue and the shop's own)."""
        return page(_products(), Product, args)


@products.route(f"/{ID}")
class ProductDetail(MethodView):
    @documented(products, "catalog:read", detail=True)
    @products.etag
    @products.arguments(s.NoArgs, location="query")
    @products.response(200, s.ProductSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Product:
        """One product."""
        return one(_products().where(Product.id == item_id), item_id)


# --- stock --------------------------------------------------------------------------------

stock = blueprint("stock", "Stock levels per location (kept by the country office).")


def _levels() -> Select:
    return select(StockLevel).options(selectinload(StockLevel.location))


def _with_sku(levels: list[StockLevel]) -> list[StockLevel]:
    ids = {level.variant_id for level in levels}
    skus = dict(db.session.execute(select(Variant.id, Variant.sku).where(Variant.id.in_(ids))
                                   ).all()) if ids else {}
    for level in levels:
        level.sku = skus.get(level.variant_id, "")  # type: ignore[attr-defined]
    return levels


@stock.route("")
class StockLevels(MethodView):
    @documented(stock, "stock:read")
    @stock.etag
    @stock.arguments(s.ListArgs, location="query")
    @stock.response(200, s.page_of(s.StockLevelSchema, "StockLevelPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List stock levels."""
        found = page(_levels(), StockLevel, args)
        _with_sku(found["data"])
        return found


@stock.route(f"/{ID}")
class StockLevelDetail(MethodView):
    @documented(stock, "stock:read", detail=True)
    @stock.etag
    @stock.arguments(s.NoArgs, location="query")
    @stock.response(200, s.StockLevelSchema)
    def get(self, args: dict[str, Any], item_id: int) -> StockLevel:
        """One stock level."""
        return _with_sku([one(_levels().where(StockLevel.id == item_id), item_id)])[0]


# --- customers and companies --------------------------------------------------------------

customers = blueprint("customers", "The shop's user accounts (never their passwords).")


@customers.route("")
class Customers(MethodView):
    @documented(customers, "customers:read")
    @customers.etag
    @customers.arguments(s.ListArgs, location="query")
    @customers.response(200, s.page_of(s.CustomerSchema, "CustomerPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List user accounts."""
        return page(select(User), User, args)


@customers.route(f"/{ID}")
class CustomerDetail(MethodView):
    @documented(customers, "customers:read", detail=True)
    @customers.etag
    @customers.arguments(s.NoArgs, location="query")
    @customers.response(200, s.CustomerSchema)
    def get(self, args: dict[str, Any], item_id: int) -> User:
        """One user account."""
        return one(select(User).where(User.id == item_id), item_id)


companies = blueprint("companies", "Business customers.")


@companies.route("")
class Companies(MethodView):
    @documented(companies, "companies:read")
    @companies.etag
    @companies.arguments(s.ListArgs, location="query")
    @companies.response(200, s.page_of(s.CompanySchema, "CompanyPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List companies."""
        return page(select(Company), Company, args)


@companies.route(f"/{ID}")
class CompanyDetail(MethodView):
    @documented(companies, "companies:read", detail=True)
    @companies.etag
    @companies.arguments(s.NoArgs, location="query")
    @companies.response(200, s.CompanySchema)
    def get(self, args: dict[str, Any], item_id: int) -> Company:
        """One company."""
        return one(select(Company).where(Company.id == item_id), item_id)


# --- orders, quotes, returns --------------------------------------------------------------

orders = blueprint("orders", "Orders with their lines, totals, discounts and status.")


def _orders() -> Select:
    return select(Order).options(selectinload(Order.lines), selectinload(Order.events))


@orders.route("")
class Orders(MethodView):
    @documented(orders, "orders:read")
    @orders.etag
    @orders.arguments(s.OrderListArgs, location="query")
    @orders.response(200, s.page_of(s.OrderSchema, "OrderPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List orders; `updated_since` also finds orders whose status changed since."""
        statement = _orders()
        if args.get("status"):
            statement = statement.where(Order.status == args["status"])
        since = updated_since(args)
        if since is not None:
            statement = statement.where(or_(
                Order.created_at >= since,
                exists().where(OrderEvent.order_id == Order.id, OrderEvent.at >= since)))
        return page(statement, Order, args)


@orders.route(f"/{ID}")
class OrderDetail(MethodView):
    @documented(orders, "orders:read", detail=True)
    @orders.etag
    @orders.arguments(s.NoArgs, location="query")
    @orders.response(200, s.OrderSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Order:
        """One order."""
        return one(_orders().where(Order.id == item_id), item_id)


quotes = blueprint("quotes", "Quotes (offers to companies), current version's lines.")


def _quotes() -> Select:
    return select(Quote).options(selectinload(Quote.lines), selectinload(Quote.events))


@quotes.route("")
class Quotes(MethodView):
    @documented(quotes, "quotes:read")
    @quotes.etag
    @quotes.arguments(s.QuoteListArgs, location="query")
    @quotes.response(200, s.page_of(s.QuoteSchema, "QuotePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List quotes; `updated_since` also finds quotes changed since."""
        statement = _quotes()
        if args.get("status"):
            statement = statement.where(Quote.status == args["status"])
        since = updated_since(args)
        if since is not None:
            statement = statement.where(or_(
                Quote.created_at >= since,
                exists().where(QuoteEvent.quote_id == Quote.id, QuoteEvent.at >= since)))
        return page(statement, Quote, args)


@quotes.route(f"/{ID}")
class QuoteDetail(MethodView):
    @documented(quotes, "quotes:read", detail=True)
    @quotes.etag
    @quotes.arguments(s.NoArgs, location="query")
    @quotes.response(200, s.QuoteSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Quote:
        """One quote."""
        return one(_quotes().where(Quote.id == item_id), item_id)


returns = blueprint("returns", "Return requests (withdrawals) and the lines sent back.")


def _returns() -> Select:
    return select(ReturnRequest).options(selectinload(ReturnRequest.lines))


@returns.route("")
class Returns(MethodView):
    @documented(returns, "returns:read")
    @returns.etag
    @returns.arguments(s.ReturnListArgs, location="query")
    @returns.response(200, s.page_of(s.ReturnSchema, "ReturnPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List return requests; `updated_since` compares their creation date."""
        statement = _returns()
        if args.get("status"):
            statement = statement.where(ReturnRequest.status == args["status"])
        since = updated_since(args)
        if since is not None:
            statement = statement.where(ReturnRequest.created_at >= since)
        return page(statement, ReturnRequest, args)


@returns.route(f"/{ID}")
class ReturnDetail(MethodView):
    @documented(returns, "returns:read", detail=True)
    @returns.etag
    @returns.arguments(s.NoArgs, location="query")
    @returns.response(200, s.ReturnSchema)
    def get(self, args: dict[str, Any], item_id: int) -> ReturnRequest:
        """One return request."""
        return one(_returns().where(ReturnRequest.id == item_id), item_id)


BLUEPRINTS = (products, stock, customers, companies, orders, quotes, returns)
