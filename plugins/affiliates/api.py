"""The affiliates plugin in the REST API: ``/api/v1/affiliates`` and ``/api/v1/commissions``,
read-only, under the scope ``commissions:read``.

A commission is one line of the plugin's append-only ledger: what an affiliate earns on one
order line (``kind`` ``commission``) or gives back when goods are returned (``reversal``,
negative). Its status is read as the plugin's statements read it (pending until the order
can no longer come back, then payable, then in a payout and paid), so an accounting system
reconciles against the same figures the reseller sees. Amounts are decimal strings. Served on
shops that enabled the plugin (a 404 elsewhere), with the core's pagination and ETags.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import Select, exists, or_, select

from comptoir.toolkit import N_, Order, api, current_tenant, db
from plugins.affiliates.ledger import IN_PAYOUT, PAID, PAYABLE, PENDING, statuses
from plugins.affiliates.models import (
    COMMISSION,
    KINDS,
    REVERSAL,
    Affiliate,
    Entry,
    Payout,
    PayoutEntry,
)

MAX_ID = 2**31 - 1
HUNDRED = Decimal("100")
CENT = Decimal("0.01")


#: The scope the routes below require, with its description (translated on the shop's API
#: clients page with this plugin's catalogue).
SCOPES = {"commissions:read": N_("Read affiliates and their commissions")}


# --- schemas ------------------------------------------------------------------------------

class AffiliateSchema(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True, metadata={
        "description": "What its referral links carry (`/r/<code>`)."})
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": ", ".join(KINDS)})
    email = fields.String(required=True, metadata={
        "description": "Orders placed with this address earn it no commission; may be empty."})
    user_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "Its customer account in this shop, if it has one."})
    active = fields.Boolean(required=True)
    created_at = api.Utc(required=True)


class CommissionSchema(ma.Schema):
    id = fields.Integer(required=True)
    affiliate_id = fields.Integer(required=True)
    affiliate_code = fields.String(required=True)
    order_id = fields.Integer(required=True)
    order_reference = fields.String(required=True)
    order_line_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={
        "description": "`commission` when the order is paid (or shipped on invoice terms), "
                       "`reversal` (negative) for units returned or an order cancelled."})
    base = api.Money(required=True, metadata={
        "description": "The line's net amount the commission is computed on (VAT and "
                       "shipping never count); negative for a reversal."})
    rate = api.Money(allow_none=True, required=True, metadata={
        "description": "The effective rate in percent: amount / base x 100 (also for a flat "
                       "rule per unit); null when the base is zero."})
    amount = api.Money(required=True, metadata={"description": "Negative for a reversal."})
    currency = fields.String(required=True)
    units = fields.Integer(required=True)
    category = fields.String(required=True)
    note = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": f"{PENDING} (the order may still come back), {PAYABLE}, {IN_PAYOUT} "
                       f"(in a statement not paid yet) or {PAID}; computed when read."})
    payout_reference = fields.String(allow_none=True, required=True, metadata={
        "description": "The statement paying it, if any."})
    paid_at = api.Utc(allow_none=True, required=True)
    created_at = api.Utc(required=True, attribute="at", metadata={
        "description": "When it was booked."})
    updated_at = api.Utc(required=True, metadata={
        "description": "Its booking, or the last change of the statement paying it."})


class AffiliateListArgs(api.ListArgs):
    kind = fields.String(validate=validate.OneOf(KINDS),
                         metadata={"description": "Only affiliates of this kind."})
    active = fields.Boolean(metadata={"description": "Only active (or inactive) affiliates."})


class CommissionListArgs(api.SyncListArgs):
    affiliate_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                                  metadata={"description": "Only this affiliate's."})
    order_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                              metadata={"description": "Only this order's."})
    kind = fields.String(validate=validate.OneOf((COMMISSION, REVERSAL)),
                         metadata={"description": "Only commissions, or only reversals."})


# --- affiliates ---------------------------------------------------------------------------

affiliates = api.blueprint("affiliates", "Affiliates and resellers earning commission on the "
                           "orders they bring (affiliates plugin).", plugin=True)


@affiliates.route("")
class Affiliates(MethodView):
    @api.documented(affiliates, "commissions:read")
    @affiliates.etag
    @affiliates.arguments(AffiliateListArgs, location="query")
    @affiliates.response(200, api.page_of(AffiliateSchema, "AffiliatePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List affiliates."""
        statement = select(Affiliate)
        for name in ("kind", "active"):
            if args.get(name) is not None:
                statement = statement.where(getattr(Affiliate, name) == args[name])
        return api.page(statement, Affiliate, args)


@affiliates.route(f"/{api.ID}")
class AffiliateDetail(MethodView):
    @api.documented(affiliates, "commissions:read", detail=True)
    @affiliates.etag
    @affiliates.arguments(api.NoArgs, location="query")
    @affiliates.response(200, AffiliateSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Affiliate:
        """One affiliate."""
        return api.one(select(Affiliate).where(Affiliate.id == item_id), item_id)


# --- commissions --------------------------------------------------------------------------

commissions = api.blueprint("commissions", "The commission ledger: one entry per order line "
                            "earned, and reversals for returns (affiliates plugin).",
                            plugin=True)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _described(entries: list[Entry]) -> list[Entry]:
    """Each entry with its affiliate's code, order reference, status and payout."""
    if not entries:
        return entries
    codes = dict(db.session.execute(select(Affiliate.id, Affiliate.code).where(
        Affiliate.id.in_({e.affiliate_id for e in entries}))).all())
    references = dict(db.session.execute(select(Order.id, Order.reference).where(
        Order.id.in_({e.order_id for e in entries}))).all())
    payouts = {entry_id: (reference, created, paid) for entry_id, reference, created, paid
               in db.session.execute(
                   select(PayoutEntry.entry_id, Payout.reference, Payout.created_at,
                          Payout.paid_at)
                   .join(Payout, Payout.id == PayoutEntry.payout_id)
                   .where(PayoutEntry.entry_id.in_([e.id for e in entries]))).all()}
    status = statuses(current_tenant(), entries)
    for entry in entries:
        reference, created, paid = payouts.get(entry.id, (None, None, None))
        entry.affiliate_code = codes.get(entry.affiliate_id, "")  # type: ignore[attr-defined]
        entry.order_reference = references.get(entry.order_id, "")  # type: ignore[attr-defined]
        entry.rate = (  # type: ignore[attr-defined]
            (entry.amount / entry.base * HUNDRED).quantize(CENT) if entry.base else None)
        entry.status = status[entry.id]  # type: ignore[attr-defined]
        entry.payout_reference = reference  # type: ignore[attr-defined]
        entry.paid_at = paid  # type: ignore[attr-defined]
        moments = [m for m in (_aware(entry.at), _aware(created), _aware(paid)) if m]
        entry.updated_at = max(moments)  # type: ignore[attr-defined]
    return entries


@commissions.route("")
class Commissions(MethodView):
    @api.documented(commissions, "commissions:read")
    @commissions.etag
    @commissions.arguments(CommissionListArgs, location="query")
    @commissions.response(200, api.page_of(CommissionSchema, "CommissionPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List commission entries; `updated_since` also finds entries put in a statement,
        or paid, since."""
        statement: Select = select(Entry)
        for name in ("affiliate_id", "order_id", "kind"):
            if args.get(name) is not None:
                statement = statement.where(getattr(Entry, name) == args[name])
        since = api.updated_since(args)
        if since is not None:
            statement = statement.where(or_(
                Entry.at >= since,
                exists().where(PayoutEntry.entry_id == Entry.id,
                               PayoutEntry.payout_id == Payout.id,
                               or_(Payout.created_at >= since, Payout.paid_at >= since))))
        found = api.page(statement, Entry, args)
        _described(found["data"])
        return found


@commissions.route(f"/{api.ID}")
class CommissionDetail(MethodView):
    @api.documented(commissions, "commissions:read", detail=True)
    @commissions.etag
    @commissions.arguments(api.NoArgs, location="query")
    @commissions.response(200, CommissionSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Entry:
        """One commission entry."""
        return _described([api.one(select(Entry).where(Entry.id == item_id), item_id)])[0]


RESOURCES = api.ApiResources(blueprints=[affiliates, commissions], scopes=SCOPES)
