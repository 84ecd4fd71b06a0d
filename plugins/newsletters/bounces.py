"""Bounces and complaints: an address that cannot, or does not want to, receive our mail.

Three ways news comes back:

- **during the SMTP session**: the server answers ``5xx`` to the recipient;
  :func:`mailing._send_one` marks the delivery ``bounced`` and calls :func:`suppress`;
- **later, by mail**: the receiving server sends a delivery status notification (RFC 3464)
  to the envelope sender, a VERP address naming the delivery; the MTA pipes it to
  ``comptoir newsletters inbound``, which calls :func:`process_inbound`. ``Action: failed``
  with a ``5.x.x`` status is a hard bounce (delivery ``bounced``, address suppressed); a
  ``4.x.x`` one is temporary and only logged;
- **a spam complaint**: a mailbox provider's feedback loop sends an ARF report (RFC 5965,
  ``Feedback-Type: abuse``): delivery ``complained``, address suppressed, and the person's
  consent withdrawn in the ledger (they told their provider they do not want our mail).

A suppression belongs to the shop where the person's consent lives: for an office's
campaign reaching a reseller's subscriber, the reseller. It is written once per address
(idempotent), with a ``suppressed`` line in the subscriber's consent ledger. From then on
:func:`mailing.suppressed` stops every marketing message, and after a hard bounce
transactional ones too (a complaint is about newsletters; order mail is still owed).

Trust: a report is matched to a delivery by the signed VERP address (the recipient the
MTA was given, the report's ``To``, ``Delivered-To``... or the ``Return-Path`` of the
returned message), or by the returned message's ``Message-ID``
(``<nl.<shop>.<delivery>.<signature>@...>``), signed the same way and accepted when the
report also names the delivery's own address as the failed recipient: nobody can suppress
somebody else's address by guessing numbers.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from comptoir.toolkit import as_tenant, db, tenant_by_id
from plugins.newsletters import mailing
from plugins.newsletters.models import (
    BOUNCED,
    COMPLAINED,
    SUPPRESSED,
    UNSUBSCRIBED,
    WITHDRAWN,
    ConsentEvent,
    Delivery,
    Subscriber,
    Suppression,
)

log = logging.getLogger("comptoir.newsletters")

HARD_BOUNCE, COMPLAINT = "hard_bounce", "complaint"
#: Headers of a report (or of the message it returns) that may carry our VERP address.
_ENVELOPE_HEADERS = ("X-Original-To", "Delivered-To", "Envelope-To", "To", "Return-Path")
_STATUS = re.compile(r"([245])\.\d{1,3}\.\d{1,3}")


# --- suppressing an address ----------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """What a suppression needs to know of a delivery, read once (the row may be detached
    or in another tenant's scope by the time the suppression is written)."""

    delivery_id: int
    sender_id: int
    owner_id: int
    subscriber_id: int | None
    email: str

    @classmethod
    def of(cls, delivery: Delivery) -> _Target:
        # Reading an expired row must not flush the caller's pending work: on SQLite that
        # would take the write lock our own session then waits for.
        with db.session.no_autoflush:
            owner = delivery.subscriber_tenant_id or delivery.tenant_id
            return cls(delivery.id, delivery.tenant_id, owner, delivery.subscriber_id,
                       delivery.email.lower())


def suppress(delivery: Delivery, reason: str, detail: str) -> bool:
    """Stop all mail to ``delivery``'s address in the shop where the reader's consent lives,
    and note it in their consent ledger; ``True`` if the address was not suppressed yet.

    Called while a batch is being sent: written and committed in a session of its own (a new
    app context), so the caller's session, its transaction and its objects are left exactly
    as they were. A failure to write is logged, not raised: the batch must go on (its other
    readers would otherwise be left unsent); the delivery is marked bounced all the same.
    A ``complaint`` also withdraws the subscriber's consent.
    """
    target = _Target.of(delivery)
    try:
        return _suppress(target, reason, detail)
    except SQLAlchemyError:
        log.exception("could not suppress %s (delivery %s)", target.email, target.delivery_id)
        return False


def _suppress(target: _Target, reason: str, detail: str) -> bool:
    owner = tenant_by_id(target.owner_id)
    if owner is None:
        return False
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context(), as_tenant(owner):
        created = _write(target, reason, detail)
        db.session.commit()
    log.info("%s suppressed in tenant %s (%s, delivery %s)", target.email, owner.slug, reason,
             target.delivery_id)
    return created


def _write(target: _Target, reason: str, detail: str) -> bool:
    """In the owner's scope: the suppression (once) and the ledger lines."""
    created = False
    if not mailing.suppressed(target.email):
        try:
            with db.session.begin_nested():  # another process may suppress it meanwhile
                db.session.add(Suppression(email=target.email, reason=reason[:20],
                                           detail=(detail or "")[:2000]))
            created = True
        except IntegrityError:
            created = False
    subscriber = _subscriber(target)
    if subscriber is None:
        return created
    details = {"detail": (detail or "")[:500], "delivery_id": target.delivery_id,
               "sender_tenant_id": target.sender_id}
    if created:
        db.session.add(ConsentEvent(subscriber_id=subscriber.id, action=SUPPRESSED,
                                    source=reason[:40], details=details))
    if reason == COMPLAINT and subscriber.status != UNSUBSCRIBED:
        subscriber.status, subscriber.unsubscribed_at = UNSUBSCRIBED, datetime.now(UTC)
        db.session.add(ConsentEvent(subscriber_id=subscriber.id, action=WITHDRAWN,
                                    source=COMPLAINT, details=details))
    return created


def _subscriber(target: _Target) -> Subscriber | None:
    query = select(Subscriber).where(Subscriber.email == target.email)
    if target.subscriber_id is not None:
        found = db.session.scalars(query.where(Subscriber.id == target.subscriber_id)).first()
        if found is not None:
            return found
    return db.session.scalars(query).first()


# --- reading reports -----------------------------------------------------------------------


@dataclass
class _Recipient:
    email: str
    action: str
    status: str
    diagnostic: str


@dataclass
class _Report:
    """What a DSN or an ARF report says, before anything is looked up."""

    kind: str  # "delivery-status" or "feedback-report"
    addresses: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    recipients: list[_Recipient] = field(default_factory=list)
    feedback_type: str = ""


def _value(block: Message, name: str) -> str:
    value = block.get(name)
    return str(value).strip() if value is not None else ""


def _typed_address(value: str) -> str:
    """``rfc822; lea@example.org`` -> ``lea@example.org``."""
    return value.split(";", 1)[-1].strip().strip("<>").lower()


def _headers(part: Message) -> Message | None:
    """The returned message's headers: a ``message/rfc822`` or ``text/rfc822-headers``."""
    if part.get_content_type() in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        return payload[0] if isinstance(payload, list) and payload else None
    if part.get_content_type() == "text/rfc822-headers":
        return HeaderParser(policy=policy.default).parsestr(str(part.get_content()))
    return None


def _read(raw: bytes) -> _Report | None:
    """Parse ``raw``; ``None`` if it is not a report of a kind we handle."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    report = next((part for part in message.walk()
                   if part.get_content_type() == "multipart/report"), None)
    if report is None:
        return None
    kind = str(report.get_param("report-type") or "").lower()
    if kind not in ("delivery-status", "feedback-report"):
        return None
    found = _Report(kind)
    for name in _ENVELOPE_HEADERS:
        found.addresses += [a for _n, a in getaddresses(message.get_all(name) or []) if a]
    for part in report.walk():
        kind_of = part.get_content_type()
        if kind_of == "message/delivery-status":
            _read_status(part, found)
        elif kind_of == "message/feedback-report":
            _read_feedback(part, found)
        elif (returned := _headers(part)) is not None:
            found.message_ids += [str(v) for v in returned.get_all("Message-ID") or []]
            found.addresses += [a for _n, a in getaddresses(
                [str(v) for v in returned.get_all("Return-Path") or []]) if a]
            if kind == "feedback-report":
                found.recipients += [_Recipient(a.lower(), "", "", "") for _n, a in
                                     getaddresses([str(v) for v in returned.get_all("To") or []])
                                     if a]
    return found


def _read_status(part: Message, found: _Report) -> None:
    blocks = part.get_payload()
    for block in blocks[1:] if isinstance(blocks, list) else []:
        email = _typed_address(_value(block, "Final-Recipient")
                               or _value(block, "Original-Recipient"))
        status = _STATUS.search(_value(block, "Status"))
        found.recipients.append(_Recipient(email, _value(block, "Action").lower(),
                                           status.group(0) if status else "",
                                           _value(block, "Diagnostic-Code")[:500]))


def _read_feedback(part: Message, found: _Report) -> None:
    payload = part.get_payload()
    fields = payload[0] if isinstance(payload, list) and payload else None
    if fields is None:
        return
    found.feedback_type = _value(fields, "Feedback-Type").lower()
    for value in fields.get_all("Original-Rcpt-To") or []:
        found.recipients.append(_Recipient(_typed_address(str(value)), "", "", ""))


# --- acting on them ------------------------------------------------------------------------


def _locate(report: _Report, recipient: str = "") -> tuple[int, int, bool] | None:
    """``(tenant id, delivery id, signed)`` of the delivery a report is about."""
    for address in ([recipient] if recipient else []) + report.addresses:
        found = mailing.read_bounce_address(address)
        if found is not None:
            return found[0], found[1], True
    for value in report.message_ids:
        for candidate in re.findall(r"<[^<>\s]+>", value):
            found = mailing.read_message_id(candidate)
            if found is not None:
                # Signed like the VERP address, but read by whoever the message was
                # forwarded to: trusted only with the delivery's own recipient named.
                return found[0], found[1], False
    return None


def process_inbound(raw_bytes: bytes, recipient: str = "") -> str:
    """Act on one message mailed back to us (a bounce, a complaint); returns a one-line
    summary. Whatever is not a report about one of our deliveries is ``ignored`` (and
    logged). Garbage in never raises; a database that cannot be written to does, so that
    the MTA keeps the message and tries again.

    :param recipient: the envelope recipient, when the MTA passes it (our VERP address).
    """
    try:
        report = _read(raw_bytes if isinstance(raw_bytes, bytes) else bytes(raw_bytes))
    except Exception as exc:  # the email package on hostile input: never our caller's problem
        log.info("inbound mail ignored: unreadable (%s)", exc)
        return f"ignored: unreadable message ({type(exc).__name__})"
    if report is None:
        log.info("inbound mail ignored: neither a delivery status notification nor a "
                 "complaint")
        return "ignored: not a delivery status notification or a complaint report"
    located = _locate(report, recipient)
    if located is None:
        log.info("inbound %s ignored: names none of our deliveries", report.kind)
        return f"ignored: {report.kind} report names none of our deliveries"
    sender = tenant_by_id(located[0])
    if sender is None:
        return f"ignored: {report.kind} report for an unknown shop"
    if report.kind == "feedback-report":
        return _complaint(report, sender, located[1], located[2])
    return _bounce(report, sender, located[1], located[2])


def _matching(report: _Report, email: str, signed: bool) -> _Recipient | None:
    """The report's line about ``email``; with a signed address, the only line will do
    (a forwarding address may be named instead of ours)."""
    for line in report.recipients:
        if line.email == email:
            return line
    if signed and report.recipients:
        return report.recipients[0]
    if signed:
        return _Recipient(email, "", "", "")
    return None


def _load(sender: Any, delivery_id: int) -> _Target | None:
    with as_tenant(sender):
        delivery = db.session.scalars(select(Delivery).where(
            Delivery.id == delivery_id)).first()
        return _Target.of(delivery) if delivery is not None else None


def _mark(sender: Any, delivery_id: int, status: str, error: str) -> bool:
    """Set the delivery's outcome once; ``False`` if it had it already."""
    values: dict[str, Any] = {"status": status, "error": error[:500]}
    if status == BOUNCED:
        values["bounced_at"] = datetime.now(UTC)
    with as_tenant(sender):
        changed = db.session.execute(
            update(Delivery).where(Delivery.id == delivery_id,
                                   Delivery.status.not_in((status, COMPLAINED)))
            .values(**values).execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    return changed == 1


def _bounce(report: _Report, sender: Any, delivery_id: int, signed: bool) -> str:
    target = _load(sender, delivery_id)
    line = _matching(report, target.email, signed) if target is not None else None
    if target is None or line is None:
        log.info("DSN ignored: delivery %s of %s not found or not the failed recipient",
                 delivery_id, sender.slug)
        return f"ignored: delivery {delivery_id} not found for this report"
    if line.action != "failed" or not line.status.startswith("5"):
        log.info("soft bounce for delivery %s (%s, %s): nothing changed", delivery_id,
                 line.action or "no action", line.status or "no status")
        return (f"soft bounce: delivery {delivery_id} ({line.action or '-'} "
                f"{line.status or '-'}), nothing changed")
    detail = line.diagnostic or f"{line.action} {line.status}"
    _mark(sender, delivery_id, BOUNCED, detail)
    created = _suppress(target, HARD_BOUNCE, detail)
    return (f"hard bounce: delivery {delivery_id} ({line.status}), {target.email} "
            f"{'suppressed' if created else 'was suppressed already'}")


def _complaint(report: _Report, sender: Any, delivery_id: int, signed: bool) -> str:
    if report.feedback_type != "abuse":
        log.info("feedback report of type %r ignored", report.feedback_type)
        return f"ignored: feedback report of type {report.feedback_type or 'unknown'}"
    target = _load(sender, delivery_id)
    if target is None or _matching(report, target.email, signed) is None:
        log.info("complaint ignored: delivery %s of %s not found or not the recipient",
                 delivery_id, sender.slug)
        return f"ignored: delivery {delivery_id} not found for this report"
    _mark(sender, delivery_id, COMPLAINED, "spam complaint")
    _suppress(target, COMPLAINT, "spam complaint (feedback loop)")
    return (f"complaint: delivery {delivery_id}, {target.email} suppressed and consent "
            "withdrawn")


# --- the command the MTA pipes mail to -----------------------------------------------------


@click.command("inbound")
@click.option("--recipient", default="", metavar="ADDRESS",
              help="The envelope recipient, if the MTA passes it (Postfix: ${recipient}).")
@with_appcontext
def inbound_command(recipient: str) -> None:
    """Read one bounce or complaint from standard input and act on it.

    Exits 0 even for mail it ignores (an MTA retries on any other code, and would keep
    retrying a message that will never mean anything); 2 when standard input is empty.
    """
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        click.echo("no message on standard input", err=True)
        sys.exit(2)
    click.echo(process_inbound(raw, recipient=recipient))
