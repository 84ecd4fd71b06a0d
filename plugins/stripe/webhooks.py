"""Stripe's webhook: verify, store once, acknowledge, and process in a background job.

Stripe waits a few seconds for an answer and retries what it did not get a 2xx for, so the
request does the least it can: check the signature (the tenant's own endpoint secret, the
library's 300-second tolerance against replays of an old delivery), record the event under
its unique id, queue the job and answer. A delivery seen before is acknowledged and
dropped; an event type the shop does not act on is acknowledged, logged and not stored.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from comptoir.toolkit import TenantInfo, as_tenant, db, enqueue, job, tenant_by_id
from plugins.stripe import gateway, payments
from plugins.stripe.models import StripeEvent, StripePayment

log = logging.getLogger("comptoir.plugins.stripe")

TOLERANCE_SECONDS = 300
#: The events the shop acts on; each is re-read from Stripe before anything changes.
HANDLED = frozenset({
    "payment_intent.succeeded", "payment_intent.payment_failed",
    "payment_intent.canceled", "payment_intent.processing",
    "payment_intent.requires_action",
})


def receive(tenant: TenantInfo, payload: bytes, signature: str) -> tuple[int, str]:
    """Take one delivery; returns the HTTP status and a short word for Stripe's dashboard."""
    secret = gateway.settings(tenant).get("webhook_secret")
    if not secret:
        log.warning("webhook for %s refused: no webhook_secret configured", tenant.slug)
        return 400, "not configured"
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret,
                                               tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as bad:
        log.warning("webhook for %s refused: %s", tenant.slug, bad.user_message or bad)
        return 400, "bad signature"
    except ValueError:
        log.warning("webhook for %s refused: body is not JSON", tenant.slug)
        return 400, "bad payload"
    if event.type not in HANDLED:
        log.info("webhook %s (%s) ignored: not an event the shop acts on", event.id,
                 event.type)
        return 200, "ignored"
    row = StripeEvent(event_id=event.id, type=event.type, payload=json.loads(payload))
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        seen = db.session.scalars(select(StripeEvent).where(
            StripeEvent.event_id == event.id)).first()
        if seen is not None and seen.processed_at is None:
            # Delivered before but never processed (the job gave up): try it again.
            enqueue("stripe.process_event", tenant_id=tenant.id, event_row=seen.id)
            log.info("webhook %s (%s) seen before, not processed: queued again", event.id,
                     event.type)
            return 200, "queued again"
        log.info("webhook %s (%s) seen before: ignored", event.id, event.type)
        return 200, "duplicate"
    enqueue("stripe.process_event", tenant_id=tenant.id, event_row=row.id)
    return 200, "queued"


@job("stripe.process_event", retries=5, retry_delay=120)
def process_event(tenant_id: int, event_row: int) -> None:
    """Act on one stored event, as its tenant; safe to run twice."""
    tenant = tenant_by_id(tenant_id)
    if tenant is None:
        log.error("event row %s: tenant %s is gone", event_row, tenant_id)
        return
    with as_tenant(tenant):
        row = db.session.get(StripeEvent, event_row)
        if row is None or row.processed_at is not None:
            return
        try:
            outcome = handle(tenant, row)
        except stripe.StripeError as failed:
            # Stripe could not be asked: leave it unprocessed; the worker runs the job again
            # (five times, two minutes apart), and a repeated delivery queues it again.
            log.error("event %s not processed: %s", row.event_id, failed)
            db.session.rollback()
            raise
        row = db.session.get(StripeEvent, event_row)
        row.outcome = outcome[:200]
        row.processed_at = datetime.now(UTC)
        db.session.commit()
        log.info("event %s (%s): %s", row.event_id, row.type, outcome)


def handle(tenant: TenantInfo, row: StripeEvent) -> str:
    """What one event means for its order, read again from Stripe."""
    intent_id = ((row.payload.get("data") or {}).get("object") or {}).get("id")
    payment = db.session.scalars(select(StripePayment).where(
        StripePayment.intent_id == str(intent_id))).first()
    if payment is None:
        log.warning("event %s names intent %s, which no order of %s made", row.event_id,
                    intent_id, tenant.slug)
        return "ignored: unknown payment intent"
    intent = gateway.client(tenant).v1.payment_intents.retrieve(
        payment.intent_id, options=gateway.options(tenant))
    return payments.reconcile(tenant, payment, intent)
