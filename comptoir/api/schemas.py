"""Marshmallow schemas of the API: what each resource looks like, and its query parameters.

They are the single source of both the JSON sent and the OpenAPI document, so the spec
cannot drift from the responses (schemathesis checks it does not). Money is a decimal
*string* with two places ("1234.50"): a JSON number would be read as a float by most clients.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from comptoir.orders.models import STATUSES as ORDER_STATUSES
from comptoir.quotes.models import STATUSES as QUOTE_STATUSES

RETURN_STATUSES = ("requested", "accepted", "rejected", "received", "refunded")

#: Largest id the database's integer columns hold; a larger one names nothing (404/400).
MAX_ID = 2**31 - 1


class Money(fields.Decimal):
    """A Decimal as a string with two places; documented as ``type: string, format: decimal``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(places=2, as_string=True, **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return f"{Decimal(value).quantize(Decimal('0.01'))}"


class Utc(fields.DateTime):
    """A date-time always written with its offset (SQLite hands back naive UTC values)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class LastChange(Utc):
    """When an order or quote last changed: its newest event, else its creation."""

    def get_value(self, obj: Any, attr: Any, accessor: Any = None, default: Any = ma.missing
                  ) -> Any:
        moments = [_aware(e.at) for e in obj.events] + [_aware(obj.created_at)]
        return max(moments)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TenantCurrency(fields.String):
    """The shop's currency (its office's): catalogue prices are in it."""

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        return g.tenant.currency


class Strict(ma.Schema):
    """Query parameters: an unknown one is an error naming it, never silently ignored."""

    class Meta:
        unknown = ma.RAISE


class ListArgs(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100),
                           metadata={"description": "Items per page (1 to 100)."})
    cursor = fields.Integer(validate=validate.Range(0, MAX_ID), metadata={
        "description": "Where the next page starts: copy it from the previous page's `next` "
                       "link (opaque; pages are ordered by id)."})


class SyncListArgs(ListArgs):
    updated_since = fields.DateTime(metadata={
        "description": "Only items created or changed at or after this ISO 8601 date-time "
                       "(UTC when no offset is given)."})


class OrderListArgs(SyncListArgs):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES),
                           metadata={"description": "Only orders in this status."})


class QuoteListArgs(SyncListArgs):
    status = fields.String(validate=validate.OneOf(QUOTE_STATUSES),
                           metadata={"description": "Only quotes in this status."})


class ReturnListArgs(SyncListArgs):
    status = fields.String(validate=validate.OneOf(RETURN_STATUSES),
        metadata={"description": "Only return requests in this status."})


class NoArgs(Strict):
    """A detail route takes no query parameter."""


# --- resources ----------------------------------------------------------------------------

class VariantSchema(ma.Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    country = fields.String(allow_none=True, required=True)
    attributes = fields.Dict(keys=fields.String(), required=True)
    price = Money(required=True, attribute="public_price",
                  metadata={"description": "Public price excluding VAT."})
    active = fields.Boolean(required=True)


class ProductSchema(ma.Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    category_id = fields.Integer(allow_none=True, required=True)
    price = Money(required=True, metadata={"description": "Public price excluding VAT."})
    currency = TenantCurrency(required=True)
    tax_class = fields.String(required=True)
    active = fields.Boolean(required=True)
    stocked = fields.Boolean(required=True)
    variants = fields.List(fields.Nested(VariantSchema), required=True)


class LocationSchema(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    sells_online = fields.Boolean(required=True)


class StockLevelSchema(ma.Schema):
    id = fields.Integer(required=True)
    variant_id = fields.Integer(required=True)
    sku = fields.String(required=True)
    location = fields.Nested(LocationSchema, required=True)
    on_hand = fields.Integer(required=True)
    reserved = fields.Integer(required=True)
    available = fields.Integer(required=True)
    low_threshold = fields.Integer(required=True)


class CustomerSchema(ma.Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    company_id = fields.Integer(allow_none=True, required=True)
    active = fields.Boolean(required=True)


class CompanySchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    vat_number = fields.String(allow_none=True, required=True)
    restricted = fields.Boolean(required=True)
    payment_terms_days = fields.Integer(required=True)


class OrderLineSchema(ma.Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_public = Money(required=True)
    unit_net = Money(required=True)
    discount = Money(required=True)
    discount_label = fields.String(required=True)
    line_net = Money(required=True)
    tax_class = fields.String(required=True)
    vat_rate = Money(allow_none=True, required=True)


class DiscountSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    ref = fields.String()
    label = fields.String()
    amount = fields.String()


class OrderSchema(ma.Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)
    email = fields.String(required=True)
    user_id = fields.Integer(allow_none=True, required=True)
    company_id = fields.Integer(allow_none=True, required=True)
    currency = fields.String(required=True)
    total_net = Money(required=True)
    total_vat = Money(required=True)
    total_gross = Money(required=True)
    vat_breakdown = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    discounts = fields.List(fields.Nested(DiscountSchema), required=True)
    shipping_method = fields.String(required=True)
    payment_method = fields.String(required=True)
    billing_address = fields.Dict(required=True)
    shipping_address = fields.Dict(required=True)
    expected_delivery = fields.Date(required=True)
    due_date = fields.Date(allow_none=True, required=True)
    paid_at = Utc(allow_none=True, required=True)
    created_at = Utc(required=True)
    updated_at = LastChange(required=True, metadata={
        "description": "The last status change (or the creation)."})
    lines = fields.List(fields.Nested(OrderLineSchema), required=True)


class QuoteLineSchema(ma.Schema):
    id = fields.Integer(required=True)
    sku = fields.String(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_net = Money(required=True)
    variant_id = fields.Integer(allow_none=True, required=True)
    configuration_id = fields.Integer(allow_none=True, required=True)


class QuoteSchema(ma.Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    company_id = fields.Integer(required=True)
    status = fields.String(required=True)
    version = fields.Integer(required=True)
    valid_until = fields.Date(required=True)
    currency = fields.String(required=True)
    recipient_id = fields.Integer(allow_none=True, required=True)
    order_id = fields.Integer(allow_none=True, required=True)
    created_at = Utc(required=True)
    updated_at = LastChange(required=True)
    total_net = Money(required=True)
    lines = fields.List(fields.Nested(QuoteLineSchema), required=True,
                        attribute="current_lines",
                        metadata={"description": "The lines of the current version."})


class ReturnLineSchema(ma.Schema):
    id = fields.Integer(required=True)
    order_line_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True)


class ReturnSchema(ma.Schema):
    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    status = fields.String(required=True)
    reason = fields.String(required=True)
    created_at = Utc(required=True)
    refund_reference = fields.String(allow_none=True, required=True)
    lines = fields.List(fields.Nested(ReturnLineSchema), required=True)


def page_of(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{"data": [...], "next": url-or-null}`` for one resource."""
    return ma.Schema.from_dict({
        "data": fields.List(fields.Nested(item), required=True),
        "next": fields.String(allow_none=True, required=True, metadata={
            "description": "The next page's URL; null on the last page."}),
    }, name=name)
