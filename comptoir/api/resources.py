"""The read-only resources of ``/api/v1/``: list and detail of each, tenant-scoped.

Every query goes through the scoped session, so a route can only ever see the current
tenant's rows (and, for the catalogue and stock, its office's, as its shop does); an id of
another tenant is simply not found (404). Each route declares its scope with
:func:`comptoir.api.oauth.requires`; ``tests/api/test_probe.py`` fails if a route does not.
"""

from __future__ import annotations

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
from comptoir.api.errors import api_abort
from comptoir.api.oauth import requires
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
    ARGUMENTS_PARSER = StrictParser(unknown=RAISE)


def _blueprint(name: str, description: str) -> Blueprint:
    return Blueprint(f"{PREFIX}{name}", __name__, url_prefix=f"/api/v1/{name}",
                     description=description)


def _documented(blp: Blueprint, scope: str, *, detail: bool = False) -> Any:
    """Security and error responses every route shares, and the scope check itself."""

    def decorate(view: Any) -> Any:
        view = requires(scope)(view)
        view = blp.doc(security=[{"oauth2": [scope]}])(view)
        view = blp.alt_response(400, response="BAD_REQUEST")(view)
        view = blp.alt_response(401, response="UNAUTHORIZED")(view)
        view = blp.alt_response(403, response="FORBIDDEN")(view)
        if detail:
            view = blp.alt_response(404, response="NOT_FOUND")(view)
        return view

    return decorate


def _since(args: dict[str, Any]) -> datetime | None:
    since = args.get("updated_since")
    if since is None:
        return None
    try:
        return since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        api_abort(400, "invalid_parameters", "Invalid or unknown parameters: updated_since.",
                  {"updated_since": ["Out of range."]})


def _page(statement: Select, model: Any, args: dict[str, Any]) -> dict[str, Any]:
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


def _one(statement: Select, item_id: int) -> Any:
    found = db.session.scalars(statement).unique().first()
    if found is None:
        abort(404, f"No such item: {item_id}.")
    return found


# --- catalogue ----------------------------------------------------------------------------

products = _blueprint("products", "Products with their variants and public prices.")


def _products() -> Select:
    statement = select(Product).options(selectinload(Product.variants))
    if g.tenant.kind == "reseller":
        statement = statement.where(~exists().where(HiddenProduct.product_id == Product.id))
    return statement


@products.route("")
class Products(MethodView):
    @_documented(products, "catalog:read")
    @products.etag
    @products.arguments(s.ListArgs, location="query")
    @products.response(200, s.page_of(s.ProductSchema, "ProductPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List products (the office's catalogue and the shop's own)."""
        return _page(_products(), Product, args)


@products.route(f"/{ID}")
class ProductDetail(MethodView):
    @_documented(products, "catalog:read", detail=True)
    @products.etag
    @products.arguments(s.NoArgs, location="query")
    @products.response(200, s.ProductSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Product:
        """One product."""
        return _one(_products().where(Product.id == item_id), item_id)


# --- stock --------------------------------------------------------------------------------

stock = _blueprint("stock", "Stock levels per location (kept by the country office).")


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
    @_documented(stock, "stock:read")
    @stock.etag
    @stock.arguments(s.ListArgs, location="query")
    @stock.response(200, s.page_of(s.StockLevelSchema, "StockLevelPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List stock levels."""
        found = _page(_levels(), StockLevel, args)
        _with_sku(found["data"])
        return found


@stock.route(f"/{ID}")
class StockLevelDetail(MethodView):
    @_documented(stock, "stock:read", detail=True)
    @stock.etag
    @stock.arguments(s.NoArgs, location="query")
    @stock.response(200, s.StockLevelSchema)
    def get(self, args: dict[str, Any], item_id: int) -> StockLevel:
        """One stock level."""
        return _with_sku([_one(_levels().where(StockLevel.id == item_id), item_id)])[0]


# --- customers and companies --------------------------------------------------------------

customers = _blueprint("customers", "The shop's user accounts (never their passwords).")


@customers.route("")
class Customers(MethodView):
    @_documented(customers, "customers:read")
    @customers.etag
    @customers.arguments(s.ListArgs, location="query")
    @customers.response(200, s.page_of(s.CustomerSchema, "CustomerPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List user accounts."""
        return _page(select(User), User, args)


@customers.route(f"/{ID}")
class CustomerDetail(MethodView):
    @_documented(customers, "customers:read", detail=True)
    @customers.etag
    @customers.arguments(s.NoArgs, location="query")
    @customers.response(200, s.CustomerSchema)
    def get(self, args: dict[str, Any], item_id: int) -> User:
        """One user account."""
        return _one(select(User).where(User.id == item_id), item_id)


companies = _blueprint("companies", "Business customers.")


@companies.route("")
class Companies(MethodView):
    @_documented(companies, "companies:read")
    @companies.etag
    @companies.arguments(s.ListArgs, location="query")
    @companies.response(200, s.page_of(s.CompanySchema, "CompanyPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List companies."""
        return _page(select(Company), Company, args)


@companies.route(f"/{ID}")
class CompanyDetail(MethodView):
    @_documented(companies, "companies:read", detail=True)
    @companies.etag
    @companies.arguments(s.NoArgs, location="query")
    @companies.response(200, s.CompanySchema)
    def get(self, args: dict[str, Any], item_id: int) -> Company:
        """One company."""
        return _one(select(Company).where(Company.id == item_id), item_id)


# --- orders, quotes, returns --------------------------------------------------------------

orders = _blueprint("orders", "Orders with their lines, totals, discounts and status.")


def _orders() -> Select:
    return select(Order).options(selectinload(Order.lines), selectinload(Order.events))


@orders.route("")
class Orders(MethodView):
    @_documented(orders, "orders:read")
    @orders.etag
    @orders.arguments(s.OrderListArgs, location="query")
    @orders.response(200, s.page_of(s.OrderSchema, "OrderPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List orders; `updated_since` also finds orders whose status changed since."""
        statement = _orders()
        if args.get("status"):
            statement = statement.where(Order.status == args["status"])
        since = _since(args)
        if since is not None:
            statement = statement.where(or_(
                Order.created_at >= since,
                exists().where(OrderEvent.order_id == Order.id, OrderEvent.at >= since)))
        return _page(statement, Order, args)


@orders.route(f"/{ID}")
class OrderDetail(MethodView):
    @_documented(orders, "orders:read", detail=True)
    @orders.etag
    @orders.arguments(s.NoArgs, location="query")
    @orders.response(200, s.OrderSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Order:
        """One order."""
        return _one(_orders().where(Order.id == item_id), item_id)


quotes = _blueprint("quotes", "Quotes (offers to companies), current version's lines.")


def _quotes() -> Select:
    return select(Quote).options(selectinload(Quote.lines), selectinload(Quote.events))


@quotes.route("")
class Quotes(MethodView):
    @_documented(quotes, "quotes:read")
    @quotes.etag
    @quotes.arguments(s.QuoteListArgs, location="query")
    @quotes.response(200, s.page_of(s.QuoteSchema, "QuotePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List quotes; `updated_since` also finds quotes changed since."""
        statement = _quotes()
        if args.get("status"):
            statement = statement.where(Quote.status == args["status"])
        since = _since(args)
        if since is not None:
            statement = statement.where(or_(
                Quote.created_at >= since,
                exists().where(QuoteEvent.quote_id == Quote.id, QuoteEvent.at >= since)))
        return _page(statement, Quote, args)


@quotes.route(f"/{ID}")
class QuoteDetail(MethodView):
    @_documented(quotes, "quotes:read", detail=True)
    @quotes.etag
    @quotes.arguments(s.NoArgs, location="query")
    @quotes.response(200, s.QuoteSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Quote:
        """One quote."""
        return _one(_quotes().where(Quote.id == item_id), item_id)


returns = _blueprint("returns", "Return requests (withdrawals) and the lines sent back.")


def _returns() -> Select:
    return select(ReturnRequest).options(selectinload(ReturnRequest.lines))


@returns.route("")
class Returns(MethodView):
    @_documented(returns, "returns:read")
    @returns.etag
    @returns.arguments(s.ReturnListArgs, location="query")
    @returns.response(200, s.page_of(s.ReturnSchema, "ReturnPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List return requests; `updated_since` compares their creation date."""
        statement = _returns()
        if args.get("status"):
            statement = statement.where(ReturnRequest.status == args["status"])
        since = _since(args)
        if since is not None:
            statement = statement.where(ReturnRequest.created_at >= since)
        return _page(statement, ReturnRequest, args)


@returns.route(f"/{ID}")
class ReturnDetail(MethodView):
    @_documented(returns, "returns:read", detail=True)
    @returns.etag
    @returns.arguments(s.NoArgs, location="query")
    @returns.response(200, s.ReturnSchema)
    def get(self, args: dict[str, Any], item_id: int) -> ReturnRequest:
        """One return request."""
        return _one(_returns().where(ReturnRequest.id == item_id), item_id)


BLUEPRINTS = (products, stock, customers, companies, orders, quotes, returns)
