"""Bounces and complaints: a 5xx answer during the SMTP session, a delivery status
notification (RFC 3464) or a spam complaint (RFC 5965) piped to ``comptoir newsletters
inbound`` suppress the address in the shop where the reader's consent lives, and nothing is
sent to it any more; soft bounces, forged reports and garbage change nothing.

The reports are built here with the ``email`` package. The SMTP server of these tests is a
real aiosmtpd that refuses one mailbox at ``RCPT TO`` with ``550 5.1.1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.tenants.resolution import directory
from plugins.newsletters import bounces, mailing, triggers
from plugins.newsletters.models import (
    BOUNCED,
    COMPLAINED,
    MARKETING,
    SENT,
    SUBSCRIBED,
    SUPPRESSED,
    UNSUBSCRIBED,
    WITHDRAWN,
    ConsentEvent,
    Delivery,
    Subscriber,
    Suppression,
)
from tests.conftest import as_tenant
from tests.mailserver import SmtpServer, _Collector, free_port
from tests.newsletters.conftest import mails_to

REFUSED = "gone@example.org"
LEA = "lea.martin@example.org"


class _Refusing(_Collector):
    """Collects what it accepts; answers ``550 5.1.1`` for :data:`REFUSED`."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any,  # noqa: N802
                          address: str, rcpt_options: list[str]) -> str:
        if address.lower() == REFUSED:
            return "550 5.1.1 <gone@example.org>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """This module's SMTP server (the conftest's ``app`` and ``shops`` use it)."""
    port = free_port()
    server = SmtpServer(url=f"smtp://127.0.0.1:{port}", host="127.0.0.1", port=port)
    controller = Controller(_Refusing(server), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# --- helpers -------------------------------------------------------------------------------


def info(app, tenant):
    with app.app_context():
        return directory().by_id(tenant.id)


def subscribe(app, tenant, email: str, **fields: Any) -> int:
    with as_tenant(app, tenant):
        row = Subscriber(email=email, locale="fr_FR", status=SUBSCRIBED, channels=["email"],
                         name="Léa Martin", **fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def welcome(app, tenant, subscriber_id: int) -> None:
    """A marketing message through the real sending path (the welcome trigger)."""
    with app.app_context():
        triggers.welcome(tenant_id=tenant.id, subscriber_id=subscriber_id)


def sent_delivery(app, tenant, email: str) -> Delivery:
    with as_tenant(app, tenant):
        row = db.session.scalars(select(Delivery).where(Delivery.email == email)
                                 .order_by(Delivery.id.desc())).first()
        db.session.expunge(row)
        return row


def status_of(app, tenant, delivery_id: int) -> str:
    with as_tenant(app, tenant):
        return db.session.get(Delivery, delivery_id).status


def suppressions(app, tenant) -> list[tuple[str, str]]:
    with as_tenant(app, tenant):
        return [(s.email, s.reason) for s in db.session.scalars(
            select(Suppression).order_by(Suppression.id))]


def ledger(app, tenant, subscriber_id: int) -> list[tuple[str, str]]:
    with as_tenant(app, tenant):
        return [(e.action, e.source) for e in db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.subscriber_id == subscriber_id)
            .order_by(ConsentEvent.id))]


def try_send(app, tenant, email: str) -> Delivery | None:
    """An order notice (transactional: sent whatever the consent) to ``email``."""
    with app.app_context():
        shop = info(app, tenant)
        reader = mailing.Reader(email=email, locale="fr_FR", tenant=shop)
        return mailing.send_now(shop, reader, mailing.Content("Votre commande", "Merci"),
                                kind="transactional", dedupe_key=f"order:1:{email}")


def verp(app, tenant, delivery: Delivery) -> str:
    with app.app_context():
        return mailing.bounce_address(info(app, tenant), delivery)


def fields(**values: str) -> Message:
    """One block of report fields (``Final-Recipient: ...``)."""
    block = Message()
    for name, value in values.items():
        block[name.replace("_", "-")] = value
    return block


def dsn(to: str, recipient: str, status: str = "5.1.1", action: str = "failed",
        message_id: str = "") -> bytes:
    """A delivery status notification as a receiving MTA sends it (RFC 3464)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.example.org"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText("Your message could not be delivered.\n"))
    status_part = MIMEBase("message", "delivery-status")
    status_part.set_payload([
        fields(Reporting_MTA="dns; mx.example.org"),
        fields(Final_Recipient=f"rfc822; {recipient}", Action=action, Status=status,
               Diagnostic_Code=f"smtp; 550 {status} <{recipient}>: mailbox unavailable")])
    report.attach(status_part)
    returned = f"Message-ID: {message_id}\n" if message_id else ""
    report.attach(MIMEText(f"{returned}From: news@comptoir.example\nTo: {recipient}\n"
                           "Subject: Bienvenue\n", "rfc822-headers"))
    return report.as_bytes()


def arf(return_path: str, recipient: str, feedback_type: str = "abuse") -> bytes:
    """A spam complaint from a mailbox provider's feedback loop (RFC 5965)."""
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "feedback@mailbox.example.net"
    report["To"] = "abuse@comptoir.example"
    report["Subject"] = "Complaint about a message"
    report.attach(MIMEText("This is an e-mail abuse report.\n"))
    feedback = MIMEBase("message", "feedback-report")
    feedback.set_payload([fields(Feedback_Type=feedback_type, User_Agent="FBL/1.0",
                                 Version="1", Original_Rcpt_To=recipient)])
    report.attach(feedback)
    original = MIMEText("Bonjour Léa", _charset="utf-8")
    original["Return-Path"] = f"<{return_path}>"
    original["From"] = "news@comptoir.example"
    original["To"] = recipient
    original["Subject"] = "Bienvenue"
    report.attach(MIMEMessage(original))
    return report.as_bytes()


def inbound(app, raw: bytes | str, *args: str):
    return app.test_cli_runner().invoke(args=["newsletters", "inbound", *args], input=raw)


# --- during the SMTP session ---------------------------------------------------------------


def test_a_5xx_answer_suppresses_the_address_and_nothing_more_is_sent(app, shops):
    gone = subscribe(app, shops.fr, REFUSED)
    lea = subscribe(app, shops.fr, LEA)
    welcome(app, shops.fr, gone)
    welcome(app, shops.fr, lea)
    delivery = sent_delivery(app, shops.fr, REFUSED)
    assert delivery.status == BOUNCED and delivery.bounced_at is not None
    assert "550" in delivery.error
    assert suppressions(app, shops.fr) == [(REFUSED, "hard_bounce")]
    assert ledger(app, shops.fr, gone)[-1] == (SUPPRESSED, "hard_bounce")
    # Suppressed is not unsubscribed: the consent history stays as the person left it.
    with as_tenant(app, shops.fr):
        assert db.session.get(Subscriber, gone).status == SUBSCRIBED
    # The same SMTP session went on for the other reader.
    assert len(mails_to(shops.smtp, LEA)) == 1
    assert sent_delivery(app, shops.fr, LEA).status == SENT

    # Nothing more to that address, marketing or transactional.
    assert try_send(app, shops.fr, REFUSED) is None
    with as_tenant(app, shops.fr):
        assert db.session.scalars(select(Delivery.dedupe_key).where(
            Delivery.email == REFUSED)).all() == [f"welcome:{gone}"]
    assert mails_to(shops.smtp, REFUSED) == []


def test_suppressing_mid_batch_leaves_the_callers_session_alone(app, shops):
    """``suppress`` runs between two messages of a batch: it writes in the reader's shop
    (here the reseller's) and commits there, without committing or dropping the caller's
    pending work in the sender's shop."""
    acme_reader = subscribe(app, shops.acme, REFUSED)
    with as_tenant(app, shops.fr):
        delivery = Delivery(dedupe_key="c1:acme", kind=MARKETING, status=SENT, email=REFUSED,
                            subscriber_tenant_id=shops.acme.id, subscriber_id=acme_reader,
                            campaign_id=1)
        db.session.add(delivery)
        db.session.commit()
        pending = Subscriber(email="pending@example.org", locale="fr_FR")
        db.session.add(pending)
        assert bounces.suppress(delivery, "hard_bounce", "550 5.1.1 no such user") is True
        assert pending in db.session.new  # still the caller's, neither flushed nor dropped
        db.session.rollback()
    assert suppressions(app, shops.acme) == [(REFUSED, "hard_bounce")]
    assert suppressions(app, shops.fr) == []
    assert ledger(app, shops.acme, acme_reader) == [(SUPPRESSED, "hard_bounce")]
    with as_tenant(app, shops.fr):
        assert db.session.scalars(select(Subscriber)).all() == []
        again = db.session.scalars(select(Delivery)).one()
        assert bounces.suppress(again, "hard_bounce", "again") is False  # idempotent
    assert suppressions(app, shops.acme) == [(REFUSED, "hard_bounce")]
    assert len(ledger(app, shops.acme, acme_reader)) == 1
    assert suppressions(app, shops.de) == []


# --- reports piped in by the MTA -----------------------------------------------------------


def test_a_delivery_status_notification_is_a_hard_bounce(app, shops):
    lea = subscribe(app, shops.fr, LEA)
    welcome(app, shops.fr, lea)
    delivery = sent_delivery(app, shops.fr, LEA)
    result = inbound(app, dsn(verp(app, shops.fr, delivery), LEA))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("hard bounce:") and LEA in result.output
    assert status_of(app, shops.fr, delivery.id) == BOUNCED
    assert suppressions(app, shops.fr) == [(LEA, "hard_bounce")]
    assert ledger(app, shops.fr, lea)[-1] == (SUPPRESSED, "hard_bounce")
    # The same report again changes nothing more.
    again = inbound(app, dsn(verp(app, shops.fr, delivery), LEA))
    assert again.exit_code == 0 and "suppressed already" in again.output
    assert len(ledger(app, shops.fr, lea)) == 1
    # And the next message for that reader is not sent.
    assert try_send(app, shops.fr, LEA) is None
    assert len(mails_to(shops.smtp, LEA)) == 1


def test_the_envelope_recipient_given_by_the_mta_is_enough(app, shops):
    lea = subscribe(app, shops.fr, LEA)
    welcome(app, shops.fr, lea)
    delivery = sent_delivery(app, shops.fr, LEA)
    raw = dsn("postmaster@comptoir.example", LEA)
    result = inbound(app, raw, "--recipient", verp(app, shops.fr, delivery))
    assert result.exit_code == 0 and result.output.startswith("hard bounce:")
    assert suppressions(app, shops.fr) == [(LEA, "hard_bounce")]


def test_a_soft_bounce_changes_nothing(app, shops):
    lea = subscribe(app, shops.fr, LEA)
    welcome(app, shops.fr, lea)
    delivery = sent_delivery(app, shops.fr, LEA)
    for status, action in (("4.2.2", "failed"), ("4.4.1", "delayed")):
        result = inbound(app, dsn(verp(app, shops.fr, delivery), LEA, status, action))
        assert result.exit_code == 0 and result.output.startswith("soft bounce:")
    assert status_of(app, shops.fr, delivery.id) == SENT
    assert suppressions(app, shops.fr) == []


def test_the_message_id_is_trusted_only_with_the_recipient_it_was_for(app, shops):
    lea = subscribe(app, shops.fr, LEA)
    welcome(app, shops.fr, lea)
    delivery = sent_delivery(app, shops.fr, LEA)
    # A report naming our message but somebody else as the recipient: a forgery.
    forged = inbound(app, dsn("postmaster@comptoir.example", "victim@example.org",
                              message_id=delivery.message_id))
    assert forged.exit_code == 0 and forged.output.startswith("ignored:")
    # A VERP address with a wrong signature is no VERP address.
    local, domain = verp(app, shops.fr, delivery).split("@")
    stem, signature = local.rsplit(".", 1)
    wrong = "0" * 10 if signature != "0" * 10 else "1" * 10
    tampered = inbound(app, dsn(f"{stem}.{wrong}@{domain}", LEA))
    assert tampered.exit_code == 0 and tampered.output.startswith("ignored:")
    assert suppressions(app, shops.fr) == [] and status_of(app, shops.fr, delivery.id) == SENT
    # With the right recipient, the Message-ID of the returned headers finds the delivery.
    found = inbound(app, dsn("postmaster@comptoir.example", LEA,
                             message_id=delivery.message_id))
    assert found.exit_code == 0 and found.output.startswith("hard bounce:")
    assert suppressions(app, shops.fr) == [(LEA, "hard_bounce")]


def test_a_complaint_suppresses_and_withdraws_consent(app, shops):
    lea = subscribe(app, shops.fr, LEA)
    welcome(app, shops.fr, lea)
    delivery = sent_delivery(app, shops.fr, LEA)
    result = inbound(app, arf(verp(app, shops.fr, delivery), LEA))
    assert result.exit_code == 0 and result.output.startswith("complaint:"), result.output
    assert status_of(app, shops.fr, delivery.id) == COMPLAINED
    assert suppressions(app, shops.fr) == [(LEA, "complaint")]
    assert ledger(app, shops.fr, lea)[-2:] == [(SUPPRESSED, "complaint"),
                                               (WITHDRAWN, "complaint")]
    with as_tenant(app, shops.fr):
        subscriber = db.session.get(Subscriber, lea)
        assert subscriber.status == UNSUBSCRIBED and subscriber.unsubscribed_at is not None
    # Another kind of feedback (not abuse) is only logged.
    other = subscribe(app, shops.fr, "paul@example.org")
    welcome(app, shops.fr, other)
    paul = sent_delivery(app, shops.fr, "paul@example.org")
    ignored = inbound(app, arf(verp(app, shops.fr, paul), "paul@example.org", "not-spam"))
    assert ignored.exit_code == 0 and ignored.output.startswith("ignored:")
    assert status_of(app, shops.fr, paul.id) == SENT


def test_a_resellers_reader_is_suppressed_in_the_resellers_shop(app, shops):
    """An office's campaign reached a reseller's subscriber: the bounce is the reseller's."""
    reader = subscribe(app, shops.acme, LEA)
    with as_tenant(app, shops.fr):
        delivery = Delivery(dedupe_key="c7:acme", kind=MARKETING, status=SENT, email=LEA,
                            subscriber_tenant_id=shops.acme.id, subscriber_id=reader,
                            campaign_id=7, sent_at=datetime.now(UTC))
        db.session.add(delivery)
        db.session.commit()
        db.session.refresh(delivery)
        db.session.expunge(delivery)
    result = inbound(app, dsn(verp(app, shops.fr, delivery), LEA))
    assert result.exit_code == 0 and result.output.startswith("hard bounce:")
    assert status_of(app, shops.fr, delivery.id) == BOUNCED
    assert suppressions(app, shops.acme) == [(LEA, "hard_bounce")]
    assert suppressions(app, shops.fr) == [] and suppressions(app, shops.de) == []
    assert ledger(app, shops.acme, reader) == [(SUPPRESSED, "hard_bounce")]


def test_another_shops_report_finds_nothing_here(app, shops):
    """A report signed for a delivery of France does nothing in Germany, and a delivery
    number that exists only in another shop is not found through a forged shop id."""
    de_reader = subscribe(app, shops.de, LEA)
    welcome(app, shops.de, de_reader)
    de_delivery = sent_delivery(app, shops.de, LEA)
    # France has no delivery with that id: a VERP address made for France names nothing.
    with as_tenant(app, shops.fr):
        assert db.session.get(Delivery, de_delivery.id) is None
    result = inbound(app, dsn(verp(app, shops.fr, Delivery(id=de_delivery.id)), LEA))
    assert result.exit_code == 0 and result.output.startswith("ignored:")
    assert status_of(app, shops.de, de_delivery.id) == SENT
    assert suppressions(app, shops.de) == [] and suppressions(app, shops.fr) == []


@pytest.mark.parametrize("raw", [
    b"this is not an e-mail at all \x00\xff\xfe",
    b"From: someone@example.org\nTo: bounces+1.1.0000000000@comptoir.example\n"
    b"Subject: out of office\n\nI am away until Monday.\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n"
    b"Content-Type: message/delivery-status\n\n\xff\xfe garbage\n",
    b"Content-Type: multipart/report; report-type=disposition-notification\n\nread\n",
    b"Content-Type: multipart/report; report-type=feedback-report; boundary=y\n\n--y\n"
    b"Content-Type: message/feedback-report\n\nFeedback-Type: abuse\n--y--\n",
])
def test_garbage_and_other_mail_is_ignored_with_exit_code_0(app, shops, raw):
    result = inbound(app, raw)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ignored:")
    assert suppressions(app, shops.fr) == []


def test_an_empty_input_exits_with_2(app, shops):
    result = inbound(app, b"")
    assert result.exit_code == 2
    assert "no message" in result.output


def test_process_inbound_never_raises_on_garbage(app, shops):
    with app.app_context():
        for raw in (b"", b"\r\n\r\n", bytes(range(256)) * 50,
                    b"Content-Type: multipart/report\n\n", "not bytes"):
            assert bounces.process_inbound(raw).startswith("ignored:")  # type: ignore[arg-type]
