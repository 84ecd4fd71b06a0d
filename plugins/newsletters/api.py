"""The newsletters plugin in the REST API: ``/api/v1/subscribers``, read-only, under the
scope ``subscribers:read``.

What a CRM needs to honour each reader's choice and no more: the address, name, language,
the consent state and since when, the consent wording's version, the themes (the lists the
reader chose), channels and frequency, and whether the address is suppressed (a hard bounce
or a complaint). Phone, birthday, country, tracking choice and the consent ledger's IP
addresses and browsers stay in the shop: they are personal data no sync needs. Served on
shops that enabled the plugin (a 404 elsewhere), with the core's pagination and ETags.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import Select, exists, func, or_, select

from comptoir.toolkit import N_, api, db
from plugins.newsletters.models import (
    CONFIRMED,
    PENDING,
    SUBSCRIBED,
    UNSUBSCRIBED,
    ConsentEvent,
    Subscriber,
    Suppression,
)

STATUSES = (PENDING, SUBSCRIBED, UNSUBSCRIBED)


#: The scope the routes below require, with its description (translated on the shop's API
#: clients page with this plugin's catalogue).
SCOPES = {"subscribers:read": N_("Read newsletter subscribers and their consent")}


# --- schemas ------------------------------------------------------------------------------

class SubscriberSchema(ma.Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    locale = fields.String(required=True, metadata={
        "description": "The language the reader reads (one of the shop's)."})
    user_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "The customer account with this address in this shop, if any."})
    status = fields.String(required=True, metadata={
        "description": "The consent state: `pending` (asked, not confirmed: send nothing), "
                       "`subscribed` (double opt-in confirmed) or `unsubscribed`."})
    consent_at = api.Utc(required=True, metadata={
        "description": "Since when the state holds: the confirmation, the withdrawal, or "
                       "the request while pending."})
    consent_version = fields.String(required=True, metadata={
        "description": "The version of the wording the reader confirmed (empty if never)."})
    confirmed_at = api.Utc(allow_none=True, required=True)
    unsubscribed_at = api.Utc(allow_none=True, required=True)
    themes = fields.List(fields.String(), required=True, metadata={
        "description": "The lists (themes) the reader chose; empty means all of them."})
    channels = fields.List(fields.String(), required=True)
    frequency = fields.String(required=True, metadata={
        "description": "`any`, `weekly` or `monthly` at most."})
    suppressed = fields.Boolean(required=True, metadata={
        "description": "The address bounced hard or complained: never mail it."})
    created_at = api.Utc(required=True)
    updated_at = api.Utc(required=True, metadata={
        "description": "The last entry of the reader's consent history (or the creation)."})


class SubscriberListArgs(api.SyncListArgs):
    status = fields.String(validate=validate.OneOf(STATUSES),
                           metadata={"description": "Only subscribers in this state."})
    email = fields.String(validate=validate.Length(1, 254), metadata={
        "description": "Only this address (compared without case)."})


# --- routes -------------------------------------------------------------------------------

subscribers = api.blueprint("subscribers", "Newsletter subscribers: address, language, "
                            "consent and chosen lists (newsletters plugin).", plugin=True)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _described(found: list[Subscriber]) -> list[Subscriber]:
    """Each subscriber with its consent date and version, suppression and last change."""
    if not found:
        return found
    ids = [s.id for s in found]
    last = dict(db.session.execute(select(ConsentEvent.subscriber_id, func.max(ConsentEvent.at))
                                   .where(ConsentEvent.subscriber_id.in_(ids))
                                   .group_by(ConsentEvent.subscriber_id)).all())
    versions: dict[int, str] = {}
    for subscriber_id, version in db.session.execute(
            select(ConsentEvent.subscriber_id, ConsentEvent.wording_version)
            .where(ConsentEvent.subscriber_id.in_(ids), ConsentEvent.action == CONFIRMED)
            .order_by(ConsentEvent.at, ConsentEvent.id)).all():
        versions[subscriber_id] = version  # the last confirmation wins
    suppressed = set(db.session.scalars(select(Suppression.email).where(
        Suppression.email.in_({s.email for s in found}))))
    for subscriber in found:
        since = {SUBSCRIBED: subscriber.confirmed_at,
                 UNSUBSCRIBED: subscriber.unsubscribed_at}.get(subscriber.status)
        subscriber.consent_at = _aware(since or subscriber.created_at)  # type: ignore[attr-defined]
        subscriber.consent_version = versions.get(subscriber.id, "")  # type: ignore[attr-defined]
        subscriber.suppressed = subscriber.email in suppressed  # type: ignore[attr-defined]
        moments = [_aware(subscriber.created_at), _aware(last.get(subscriber.id))]
        subscriber.updated_at = max(m for m in moments if m)  # type: ignore[attr-defined]
    return found


@subscribers.route("")
class Subscribers(MethodView):
    @api.documented(subscribers, "subscribers:read")
    @subscribers.etag
    @subscribers.arguments(SubscriberListArgs, location="query")
    @subscribers.response(200, api.page_of(SubscriberSchema, "SubscriberPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List subscribers; `updated_since` also finds those whose consent or choices
        changed since."""
        statement: Select = select(Subscriber)
        if args.get("status"):
            statement = statement.where(Subscriber.status == args["status"])
        if args.get("email"):
            statement = statement.where(Subscriber.email == args["email"].strip().lower())
        since = api.updated_since(args)
        if since is not None:
            statement = statement.where(or_(
                Subscriber.created_at >= since,
                exists().where(ConsentEvent.subscriber_id == Subscriber.id,
                               ConsentEvent.at >= since)))
        found = api.page(statement, Subscriber, args)
        _described(found["data"])
        return found


@subscribers.route(f"/{api.ID}")
class SubscriberDetail(MethodView):
    @api.documented(subscribers, "subscribers:read", detail=True)
    @subscribers.etag
    @subscribers.arguments(api.NoArgs, location="query")
    @subscribers.response(200, SubscriberSchema)
    def get(self, args: dict[str, Any], item_id: int) -> Subscriber:
        """One subscriber."""
        found = api.one(select(Subscriber).where(Subscriber.id == item_id), item_id)
        return _described([found])[0]


RESOURCES = api.ApiResources(blueprints=[subscribers], scopes=SCOPES)
