"""Delivery safety, against a real SMTP server (aiosmtpd) that refuses what real ones do.

- Only a refusal of the *recipient's address* (RFC 3463 ``5.1.x``/``5.2.x`` at ``RCPT``)
  suppresses a reader; a server refusing our sender (``553 5.7.1`` at ``MAIL FROM``), our
  content (``554 5.7.1`` at ``DATA``) or relaying (``550 5.7.1`` at ``RCPT``) is the shop's
  problem: the delivery fails and the reader stays reachable.
- Rows a batch claimed but never put on the wire (a shop's SMTP URL that does not parse)
  go back to ``failed``, never stay ``sending``, and are sent once when the URL is fixed.
- A URL that comes in through a placeholder (a reader's name) is never made a link, let
  alone a signed click link that would redirect to it.
- A complaint stops marketing only; a hard bounce stops everything.
- The weekly cap counts the office's campaign messages to a reseller's reader.
- The Message-ID names its delivery and is signed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.tenants import service as tenants
from comptoir.tenants.models import Tenant
from comptoir.tenants.resolution import directory
from plugins.newsletters import bounces, campaigns, mailing
from plugins.newsletters.models import (
    BOUNCED,
    DONE,
    FAILED,
    MARKETING,
    SENDING,
    SENT,
    SKIPPED,
    SUBSCRIBED,
    TRANSACTIONAL,
    Campaign,
    Delivery,
    Subscriber,
    Suppression,
)
from tests.conftest import as_tenant
from tests.mailserver import SmtpServer, _Collector, free_port
from tests.newsletters.conftest import mails_to
from tests.newsletters.test_campaigns import add_subscriber, html_of, make_campaign, start

OK = "ok@example.org"
SPAM = "spam@example.org"  # the server refuses the content at DATA
RELAY = "relay@example.org"  # the server refuses to relay at RCPT (a policy refusal)
GONE = "gone@example.org"  # the mailbox does not exist
ACME_GONE = "gone@acme.example"  # the same, for a reseller's reader

RCPT_REPLIES = {
    GONE: "550 5.1.1 <gone@example.org>: no such user",
    ACME_GONE: "550 5.1.1 <gone@acme.example>: no such user",
    RELAY: "550 5.7.1 <relay@example.org>: relay denied",
}


class _Picky(_Collector):
    """Collects what it accepts; refuses the sender while ``refuse_sender`` is set, some
    recipients at RCPT (:data:`RCPT_REPLIES`) and :data:`SPAM`'s message at DATA."""

    def __init__(self, server: SmtpServer) -> None:
        super().__init__(server)
        self.refuse_sender = False
        self.senders_refused = 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any,  # noqa: N802
                          address: str, mail_options: list[str]) -> str:
        if self.refuse_sender:
            self.senders_refused += 1
            return "553 5.7.1 Sender address rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any,  # noqa: N802
                          address: str, rcpt_options: list[str]) -> str:
        refusal = RCPT_REPLIES.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if SPAM in [a.lower() for a in envelope.rcpt_tos]:
            return "554 5.7.1 Message rejected as spam"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def picky() -> Iterator[_Picky]:
    port = free_port()
    server = SmtpServer(url=f"smtp://127.0.0.1:{port}", host="127.0.0.1", port=port)
    handler = _Picky(server)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(picky: _Picky) -> SmtpServer:
    """This module's SMTP server (the conftest's ``app`` and ``shops`` use it)."""
    return picky.server


# --- helpers -------------------------------------------------------------------------------


def info(app: Any, tenant: Tenant) -> Any:
    with app.app_context():
        return directory().by_id(tenant.id)


def rows(app: Any, tenant: Tenant) -> dict[str, Delivery]:
    """The tenant's deliveries by address (the latest one per address)."""
    with as_tenant(app, tenant):
        found = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        db.session.expunge_all()
    return {row.email: row for row in found}


def suppressions(app: Any, tenant: Tenant) -> list[tuple[str, str]]:
    with as_tenant(app, tenant):
        return [(s.email, s.reason) for s in db.session.scalars(
            select(Suppression).order_by(Suppression.id))]


def is_suppressed(app: Any, tenant: Tenant, email: str, kind: str = MARKETING) -> bool:
    with as_tenant(app, tenant):
        return mailing.suppressed(email, kind)


def set_settings(app: Any, tenant: Tenant, **values: Any) -> None:
    with app.app_context():
        tenants.update_plugin_settings(db.session.get(Tenant, tenant.id), "newsletters",
                                       values)
        db.session.commit()


def reader_of(app: Any, tenant: Tenant, email: str) -> mailing.Reader:
    """The :class:`mailing.Reader` of ``tenant``'s subscriber ``email``."""
    with as_tenant(app, tenant):
        row = db.session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        return mailing.Reader(email=row.email, locale=row.locale, tenant=info(app, tenant),
                              name=row.name, subscriber_id=row.id, tracking=row.tracking)


def send_now(app: Any, tenant: Tenant, reader: mailing.Reader, kind: str,
             key: str) -> Delivery | None:
    with app.app_context():
        return mailing.send_now(info(app, tenant), reader,
                                mailing.Content("Des nouvelles", "Bonjour {{ first_name }}"),
                                kind=kind, dedupe_key=key)


def run_batch(app: Any, **job: Any) -> dict[str, int] | None:
    """Run a sending job as the worker does; ``None`` when it asked to be retried."""
    with app.app_context():
        try:
            return campaigns.send_batch(**job)
        except campaigns.RetryLater:
            return None


# --- 1. who is at fault: the reader's address, or the sender -------------------------------


def test_only_a_refused_address_suppresses_the_reader(app, shops, picky):
    for email in (OK, SPAM, RELAY, GONE):
        add_subscriber(app, shops.fr, email)
    add_subscriber(app, shops.acme, ACME_GONE)
    campaign_id = make_campaign(app, shops.fr, {"fr_FR": ("Soldes", "Bonjour {{ name }}")})
    assert start(app, shops.fr, campaign_id) == 5  # the job runs at once (immediate mode)

    sent = rows(app, shops.fr)
    assert {email: row.status for email, row in sent.items()} == {
        OK: SENT, SPAM: FAILED, RELAY: FAILED, GONE: BOUNCED, ACME_GONE: BOUNCED}
    assert "554" in sent[SPAM].error and "spam" in sent[SPAM].error
    assert "550" in sent[RELAY].error and RELAY in sent[RELAY].error
    assert sent[SPAM].bounced_at is None and sent[RELAY].bounced_at is None
    assert "550" in sent[GONE].error and sent[GONE].bounced_at is not None
    # Only the missing mailboxes are suppressed, each in the shop where its consent lives.
    assert suppressions(app, shops.fr) == [(GONE, "hard_bounce")]
    assert suppressions(app, shops.acme) == [(ACME_GONE, "hard_bounce")]
    assert suppressions(app, shops.de) == []
    for email in (SPAM, RELAY):
        assert not is_suppressed(app, shops.fr, email)
        assert not is_suppressed(app, shops.fr, email, TRANSACTIONAL)
    # The session went on after each refusal: the reader after them got the message.
    assert [r.rcpt_tos for r in shops.smtp.received] == [[OK]]
    with as_tenant(app, shops.fr):  # a permanent refusal is not a bounce in the results
        progress = campaigns.progress(db.session.get(Campaign, campaign_id))
    assert (progress["sent"], progress["failed"], progress["bounced"]) == (1, 2, 2)
    assert progress["status"] == DONE

    # The next campaign still reaches the readers whose mail the server refused for policy.
    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign,
                                  make_campaign(app, shops.fr, {"fr_FR": ("Encore", "Hop")}))
        audience = {s.email for _shop, s in campaigns.audience(campaign, info(app, shops.fr))}
    assert audience == {OK, SPAM, RELAY}


def test_a_refused_sender_does_not_suppress_the_reader(app, shops, picky):
    add_subscriber(app, shops.fr, OK)
    reader = reader_of(app, shops.fr, OK)
    picky.refuse_sender = True
    refused = send_now(app, shops.fr, reader, MARKETING, "news:1")
    assert picky.senders_refused == 1 and shops.smtp.received == []
    assert refused is not None and refused.status == FAILED
    assert "553" in refused.error and "Sender address rejected" in refused.error
    assert refused.bounced_at is None
    assert suppressions(app, shops.fr) == [] and not is_suppressed(app, shops.fr, OK)
    with as_tenant(app, shops.fr):
        assert db.session.get(Subscriber, reader.subscriber_id).status == SUBSCRIBED

    # Once the server takes our sender again, the same reader is written to as before.
    picky.refuse_sender = False
    sent = send_now(app, shops.fr, reader, MARKETING, "news:2")
    assert sent is not None and sent.status == SENT
    assert len(mails_to(shops.smtp, OK)) == 1


# --- 2. rows claimed but never sent are not stranded ---------------------------------------


BAD_URL = "smtp://127.0.0.1:99999"  # passes the settings' pattern; parse_mail_url refuses it


def test_an_unusable_smtp_url_leaves_no_row_sending(app, shops, monkeypatch):
    with pytest.raises(ValueError, match="port"):
        from comptoir.core.mail import parse_mail_url

        parse_mail_url(BAD_URL)
    for email in ("amelie@example.org", "john@example.org"):
        add_subscriber(app, shops.fr, email)
    add_subscriber(app, shops.acme, "client@acme.example")
    set_settings(app, shops.fr, smtp_url=BAD_URL)
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(campaigns, "enqueue", lambda name, **kw: queued.append(kw))
    campaign_id = make_campaign(app, shops.fr, {"fr_FR": ("Soldes", "Bonjour {{ name }}")})
    assert start(app, shops.fr, campaign_id) == 3
    assert len(queued) == 1

    with app.app_context(), pytest.raises((ValueError, campaigns.RetryLater)):
        campaigns.send_batch(**queued[0])
    stranded = rows(app, shops.fr)
    assert {row.status for row in stranded.values()} == {FAILED}, stranded
    assert all("interrupted" in row.error or "port" in row.error
               for row in stranded.values())
    assert shops.smtp.received == []

    # Fixed: the retry sends each reader once; more retries (a doubled job) send nothing.
    set_settings(app, shops.fr, smtp_url=shops.smtp.url)
    for _attempt in range(3):
        run_batch(app, **queued[0])
    assert sorted(r.rcpt_tos[0] for r in shops.smtp.received) == [
        "amelie@example.org", "client@acme.example", "john@example.org"]
    assert {row.status for row in rows(app, shops.fr).values()} == {SENT}
    with as_tenant(app, shops.fr):
        campaign = db.session.get(Campaign, campaign_id)
        assert campaigns.progress(campaign)["status"] == DONE


def test_an_unusable_smtp_url_leaves_no_single_message_sending(app, shops):
    """The same for a message sent on its own (a trigger's, through ``send_now``)."""
    add_subscriber(app, shops.fr, OK)
    reader = reader_of(app, shops.fr, OK)
    set_settings(app, shops.fr, smtp_url=BAD_URL)
    with pytest.raises(ValueError, match="port"):
        send_now(app, shops.fr, reader, TRANSACTIONAL, "order:1:placed")
    row = rows(app, shops.fr)[OK]
    assert row.status != SENDING
    assert row.status == FAILED and row.error
    assert shops.smtp.received == []


# --- 3. a URL put in by a placeholder is not a link ----------------------------------------


def test_a_url_from_a_placeholder_is_never_a_link(app, shops):
    set_settings(app, shops.fr, tracking=True)
    add_subscriber(app, shops.fr, OK, name="https://evil.example/x", tracking=True)
    body = "Hello {{ name }}, see https://shop.example/promo\n\n{{ name }}"
    campaign_id = make_campaign(app, shops.fr, {"fr_FR": ("Promo", body)})
    start(app, shops.fr, campaign_id)
    [message] = mails_to(shops.smtp, OK)
    page = html_of(message)
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]
    clicks = [h for h in hrefs if "/newsletter/c/" in h]
    assert len(clicks) == 1, hrefs  # the author's link, tracked
    assert not any("evil.example" in h for h in hrefs)
    assert "https://evil.example/x" in page  # shown as the text it is
    assert re.search(r'<img src="[^"]*/newsletter/o/', page)  # tracking is really on

    client = app.test_client()
    for url in clicks:
        followed = client.get(url)
        assert followed.status_code == 302
        assert followed.headers["Location"] == "https://shop.example/promo"
    with as_tenant(app, shops.fr):
        assert db.session.scalars(select(Delivery)).one().clicked_at is not None


# --- 4. complaints stop marketing; hard bounces stop everything ----------------------------


def test_a_complaint_still_gets_order_mail_a_hard_bounce_gets_nothing(app, shops):
    complainer = "complainer@example.org"
    add_subscriber(app, shops.fr, complainer)
    add_subscriber(app, shops.fr, GONE)
    first = send_now(app, shops.fr, reader_of(app, shops.fr, complainer), MARKETING, "n:1")
    bounced = send_now(app, shops.fr, reader_of(app, shops.fr, GONE), MARKETING, "n:2")
    assert first is not None and first.status == SENT
    assert bounced is not None and bounced.status == BOUNCED  # 5.1.1 at RCPT
    with app.app_context():
        assert bounces.suppress(first, bounces.COMPLAINT, "spam complaint (test)") is True
    assert suppressions(app, shops.fr) == [(GONE, "hard_bounce"), (complainer, "complaint")]
    before = len(shops.smtp.received)

    for email in (complainer, GONE):  # no more newsletters to either
        assert is_suppressed(app, shops.fr, email, MARKETING)
        assert send_now(app, shops.fr, reader_of(app, shops.fr, email), MARKETING,
                        f"n:3:{email}") is None
    assert is_suppressed(app, shops.fr, GONE, TRANSACTIONAL)
    assert not is_suppressed(app, shops.fr, complainer, TRANSACTIONAL)

    order = send_now(app, shops.fr, reader_of(app, shops.fr, complainer), TRANSACTIONAL,
                     "order:7:placed")
    assert order is not None and order.status == SENT
    assert send_now(app, shops.fr, reader_of(app, shops.fr, GONE), TRANSACTIONAL,
                    "order:8:placed") is None
    assert [r.rcpt_tos for r in shops.smtp.received[before:]] == [[complainer]]
    assert shops.smtp.received[-1].message["Auto-Submitted"] == "auto-generated"
    # Another office knows nothing of France's suppressions.
    assert not is_suppressed(app, shops.de, complainer)
    assert not is_suppressed(app, shops.de, GONE, TRANSACTIONAL)


# --- 5. the weekly cap counts the office's campaigns to a reseller's reader ----------------


def test_the_cap_counts_the_offices_campaigns_to_a_resellers_reader(app, shops):
    client, other = "client@acme.example", "other@acme.example"
    add_subscriber(app, shops.acme, client)
    add_subscriber(app, shops.acme, other)
    add_subscriber(app, shops.de, client)  # the same person, reading another office

    def office_campaign_mail(n: int) -> None:
        with as_tenant(app, shops.fr):
            db.session.add(Delivery(
                dedupe_key=f"c{n}:{shops.acme.id}:1", campaign_id=n, kind=MARKETING,
                status=SENT, email=client, subscriber_tenant_id=shops.acme.id,
                created_at=datetime.now(UTC), sent_at=datetime.now(UTC)))
            db.session.commit()

    def over_cap(tenant: Tenant, email: str) -> bool:
        reader = reader_of(app, tenant, email)
        with as_tenant(app, tenant):
            return mailing.over_cap(directory().by_id(tenant.id), reader)

    for n in (1, 2):
        office_campaign_mail(n)
    assert over_cap(shops.acme, client) is False  # two of three
    office_campaign_mail(3)
    assert over_cap(shops.acme, client) is True
    assert over_cap(shops.acme, other) is False
    assert over_cap(shops.de, client) is False
    with as_tenant(app, shops.acme):  # the office's rows are not the reseller's to see
        assert db.session.scalars(select(Delivery)).all() == []
    # The same person also subscribed at the office itself: those messages count too.
    with as_tenant(app, shops.fr):
        for n in (4, 5, 6):
            db.session.add(Delivery(
                dedupe_key=f"c{n}:{shops.fr.id}:9", campaign_id=n, kind=MARKETING,
                status=SENT, email=other, subscriber_tenant_id=shops.fr.id,
                created_at=datetime.now(UTC), sent_at=datetime.now(UTC)))
        db.session.commit()
    assert over_cap(shops.acme, other) is True


def test_a_resellers_campaign_counts_its_offices_messages_too(app, shops):
    """The cap is per person in bulk as for one reader: a reseller's campaign skips whom
    its office has already written to three times this week."""
    tired, fresh = "tired@acme.example", "fresh@acme.example"
    for email in (tired, fresh):
        add_subscriber(app, shops.acme, email)
    with as_tenant(app, shops.fr):
        for n in (1, 2, 3):
            db.session.add(Delivery(
                dedupe_key=f"c{n}:{shops.fr.id}:7", campaign_id=n, kind=MARKETING,
                status=SENT, email=tired, subscriber_tenant_id=shops.fr.id,
                created_at=datetime.now(UTC), sent_at=datetime.now(UTC)))
        db.session.commit()
    campaign_id = make_campaign(app, shops.acme, {"fr_FR": ("Bonjour {{ first_name }}",
                                                            "Nos offres")})
    start(app, shops.acme, campaign_id)
    assert mails_to(shops.smtp, fresh) and not mails_to(shops.smtp, tired)
    skipped = rows(app, shops.acme)[tired]
    assert (skipped.status, skipped.error) == (SKIPPED, campaigns.CAP_REASON)


# --- 6. the Message-ID names its delivery and is signed ------------------------------------


def test_the_message_id_is_signed(app, shops):
    add_subscriber(app, shops.fr, OK)
    delivery = send_now(app, shops.fr, reader_of(app, shops.fr, OK), MARKETING, "n:1")
    assert delivery is not None and delivery.status == SENT
    [message] = mails_to(shops.smtp, OK)
    assert message["Message-ID"] == delivery.message_id
    with app.app_context():
        assert mailing.read_message_id(delivery.message_id) == (shops.fr.id, delivery.id)
        found = re.fullmatch(r"<nl\.(\d+)\.(\d+)\.([0-9a-f]{10})@(.+)>", delivery.message_id)
        assert found is not None
        tenant_id, delivery_id, signature, domain = found.groups()
        wrong = "0" * 10 if signature != "0" * 10 else "1" * 10
        assert mailing.read_message_id(f"<nl.{tenant_id}.{delivery_id}.{wrong}@{domain}>") \
            is None
        # The right signature moved to another delivery or shop is no signature.
        assert mailing.read_message_id(
            f"<nl.{tenant_id}.{int(delivery_id) + 1}.{signature}@{domain}>") is None
        assert mailing.read_message_id(
            f"<nl.{shops.de.id}.{delivery_id}.{signature}@{domain}>") is None
