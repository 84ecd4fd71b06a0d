"""The approvals plugin in the REST API: ``/api/v1/approvals``, the approval requests of
held orders, read-only, under the scope ``approvals:read``.

An integrator's ERP follows here which orders wait for whom, and how each was decided: the
order's reference, the amount (a decimal string, excluding VAT), the status, the chain's
level now asked, the approver and the deputy deciding in their place today, the decision's
date, decider and reason, and the audit trail. Served on shops that enabled the plugin (a
404 elsewhere), with the core's pagination, filters and ETags.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import Select, exists, or_, select

from comptoir.toolkit import N_, Order, api, current_tenant, db, shop_today
from plugins.approvals import chain as chains
from plugins.approvals.models import PENDING, STATUSES, Event, Member, Request

MAX_ID = 2**31 - 1


#: The scope the routes below require, with its description (translated on the shop's API
#: clients page with this plugin's catalogue).
SCOPES = {"approvals:read": N_("Read approval requests of held orders")}


# --- schemas ------------------------------------------------------------------------------

class ApprovalEventSchema(ma.Schema):
    at = api.Utc(required=True)
    action = fields.String(required=True, metadata={
        "description": "submitted, endorsed (a level of a sequential chain approved in "
                       "turn), approved, rejected, sent_back, reminded..."})
    actor = fields.String(required=True, metadata={
        "description": "The e-mail address of who acted, or `system`."})
    note = fields.String(required=True)


class ApprovalRequestSchema(ma.Schema):
    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    order_reference = fields.String(required=True)
    company_id = fields.Integer(required=True)
    requester_id = fields.Integer(required=True, metadata={
        "description": "The buyer (a customer account's id)."})
    status = fields.String(required=True, metadata={"description": ", ".join(STATUSES)})
    amount = api.Money(required=True, metadata={
        "description": "The order's total excluding VAT: what must be approved."})
    currency = fields.String(required=True)
    level = fields.Integer(allow_none=True, required=True, metadata={
        "description": "The chain level of the approver now asked (of the last one asked, "
                       "once decided); null if that person has left the chain."})
    approver_id = fields.Integer(required=True, metadata={
        "description": "The customer account asked to decide (the last one, once decided)."})
    deputy_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "Who decides in the approver's place today (a running delegation), "
                       "while the request is pending; else null."})
    decided_at = api.Utc(allow_none=True, required=True)
    decided_by = fields.Integer(allow_none=True, required=True)
    reason = fields.String(required=True, metadata={
        "description": "Why it was rejected or sent back (may be empty on approval)."})
    created_at = api.Utc(required=True)
    updated_at = api.Utc(required=True, metadata={
        "description": "The last event of its audit trail (or the creation)."})
    events = fields.List(fields.Nested(ApprovalEventSchema), required=True, metadata={
        "description": "The audit trail, oldest first."})


class ApprovalListArgs(api.SyncListArgs):
    status = fields.String(validate=validate.OneOf(STATUSES),
                           metadata={"description": "Only requests in this status."})
    company_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                                metadata={"description": "Only this company's requests."})
    order_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                              metadata={"description": "Only the request of this order."})


# --- routes -------------------------------------------------------------------------------

approvals = api.blueprint("approvals", "Approval requests of orders held above the buyer's "
                          "signing ceiling (approvals plugin).", plugin=True)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _described(requests: list[Request]) -> list[Request]:
    """Each request with its order's reference, level, deputy and audit trail: one query
    each for all the page's requests."""
    if not requests:
        return requests
    ids = [r.id for r in requests]
    references = dict(db.session.execute(select(Order.id, Order.reference).where(
        Order.id.in_({r.order_id for r in requests}))).all())
    members: dict[int, dict[int, Member]] = {}
    for member in db.session.scalars(select(Member).where(
            Member.company_id.in_({r.company_id for r in requests}))):
        members.setdefault(member.company_id, {})[member.user_id] = member
    trail: dict[int, list[Event]] = {}
    for event in db.session.scalars(select(Event).where(Event.request_id.in_(ids))
                                    .order_by(Event.at, Event.id)):
        trail.setdefault(event.request_id or 0, []).append(event)
    today = shop_today(current_tenant())
    for item in requests:
        chain = members.get(item.company_id, {})
        approver = chain.get(item.approver_id)
        deciding = chains.deciding(approver, today, chain) if approver is not None else None
        item.order_reference = references.get(item.order_id, "")  # type: ignore[attr-defined]
        item.level = approver.level if approver is not None else None  # type: ignore[attr-defined]
        item.deputy_id = (  # type: ignore[attr-defined]
            deciding.user_id if item.status == PENDING and deciding is not None
            and deciding is not approver else None)
        item.events = trail.get(item.id, [])  # type: ignore[attr-defined]
        item.updated_at = max([_aware(e.at) for e in item.events]  # type: ignore[attr-defined]
                                 + [_aware(item.created_at)])
    return requests


def _requests() -> Select:
    return select(Request)


@approvals.route("")
class ApprovalRequests(MethodView):
    @api.documented(approvals, "approvals:read")
    @approvals.etag
    @approvals.arguments(ApprovalListArgs, location="query")
    @approvals.response(200, api.page_of(ApprovalRequestSchema, "ApprovalRequestPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List approval requests; `updated_since` also finds those decided or moved on
        since (any event of their audit trail)."""
        statement = _requests()
        for name in ("status", "company_id", "order_id"):
            if args.get(name) is not None:
                statement = statement.where(getattr(Request, name) == args[name])
        since = api.updated_since(args)
        if since is not None:
            statement = statement.where(or_(
                Request.created_at >= since,
                exists().where(Event.request_id == Request.id, Event.at >= since)))
        found = api.page(statement, Request, args)
        _described(found["data"])
        return found


@approvals.route(f"/{api.ID}")
class ApprovalRequestDetail(MethodView):
    @api.documented(approvals, "approvals:read", detail=True)
    @approvals.etag
    @approvals.arguments(api.NoArgs, location="query")
    @approvals.response(200, ApprovalRequestSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Request:
        """One approval request."""
        return _described([api.one(_requests().where(Request.id == item_id), item_id)])[0]


RESOURCES = api.ApiResources(blueprints=[approvals], scopes=SCOPES)
