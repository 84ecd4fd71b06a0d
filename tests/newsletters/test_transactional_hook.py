"""Other plugins' transactional messages (``toolkit.transactional_mail``) go through the
newsletters plugin where it is on: the shop's sender, the footer saying the message comes
whatever the newsletter choices, the Reply-To asked for, one delivery per key (sent once),
retried after a temporary failure, never to a hard-bounced address. The German office's
messages stay its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.core.mail import outbox_messages
from comptoir.tenants.resolution import directory
from comptoir.toolkit import transactional_mail
from plugins.newsletters import triggers
from plugins.newsletters.models import FAILED, SENT, TRANSACTIONAL, Delivery, Suppression
from tests.conftest import as_tenant
from tests.mailserver import free_port
from tests.newsletters.conftest import PUBLIC_URL, mails_to

LEA = "lea.martin@example.org"
REPLY_TO = "support+12.abc@help.comptoir.example"
FOOTER = ("This message about your account or your order is sent whatever your newsletter "
          "choices.")


def send(app, tenant, **overrides: Any) -> None:
    values = {"to": f"Léa Martin <{LEA}>", "subject": "Your request 12",
              "body": "Hello Léa,\n\nWe received your request {{ 12 }}.", "locale": "en",
              "dedupe_key": "support:ticket:12:ack", "reply_to": REPLY_TO,
              "headers": {"X-Ticket": "12"}, **overrides}
    with app.app_context():
        transactional_mail(directory().by_id(tenant.id), **values)


def deliveries(app, tenant) -> list[tuple[str, str, str, str | None]]:
    with as_tenant(app, tenant):
        return [(d.dedupe_key, d.kind, d.status, d.trigger)
                for d in db.session.scalars(select(Delivery).order_by(Delivery.id))]


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_the_message_goes_once_through_the_shops_newsletter_sender(app, shops):
    send(app, shops.fr)
    send(app, shops.fr)  # the same key again: already sent

    (mail,) = mails_to(shops.smtp, LEA)
    assert mail["Subject"] == "Your request 12"
    assert mail["From"].addresses[0].display_name == "Comptoir France"
    assert mail["From"].addresses[0].addr_spec == "news@comptoir.example"
    assert mail["Reply-To"].addresses[0].addr_spec == REPLY_TO
    assert mail["X-Ticket"] == "12"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None  # not marketing
    text = text_of(mail)
    # The words are taken as they are (a brace is text), followed by the plugin's footer.
    assert "We received your request {{ 12 }}." in text
    assert FOOTER in text
    assert deliveries(app, shops.fr) == [("support:ticket:12:ack", TRANSACTIONAL, SENT,
                                          "support")]
    with as_tenant(app, shops.fr):
        row = db.session.scalars(select(Delivery)).one()
        assert mail["Message-ID"] == row.message_id
    assert outbox_messages(app) == []  # the core sent nothing itself


def test_the_footer_is_in_the_language_of_the_words(app, shops):
    from flask_babel import force_locale

    send(app, shops.fr, locale="fr_FR")
    (mail,) = mails_to(shops.smtp, LEA)
    with app.test_request_context(), force_locale("fr_FR"):
        expected = triggers._(FOOTER)
    assert expected != FOOTER
    assert expected in text_of(mail)


def test_another_key_is_another_message(app, shops):
    send(app, shops.fr)
    send(app, shops.fr, dedupe_key="support:ticket:12:answer:7", subject="Re: request 12")
    assert [m["Subject"] for m in mails_to(shops.smtp, LEA)] == ["Your request 12",
                                                                 "Re: request 12"]


def test_a_hard_bounced_address_gets_nothing_from_anyone(app, shops):
    with as_tenant(app, shops.fr):
        db.session.add(Suppression(email=LEA, reason="hard_bounce"))
        db.session.commit()
    send(app, shops.fr)
    assert mails_to(shops.smtp, LEA) == []
    assert outbox_messages(app) == []


def test_a_dead_server_does_not_break_the_caller_and_the_same_delivery_goes_later(
        app, app_factory, shops):
    down = app_factory(MAIL_URL=f"smtp://127.0.0.1:{free_port()}", PUBLIC_URL=PUBLIC_URL,
                       MAIL_FROM="Comptoir <news@comptoir.example>")
    send(down, shops.fr)  # does not raise: the job failed and Huey will retry it
    assert deliveries(app, shops.fr) == [("support:ticket:12:ack", TRANSACTIONAL, FAILED,
                                          "support")]
    with down.app_context(), pytest.raises(triggers.TemporaryFailure):
        triggers.transactional(tenant_id=shops.fr.id, to=LEA, subject="Your request 12",
                               body="Hello", locale="en", dedupe_key="support:ticket:12:ack")
    # The server is back: Huey's next retry sends it, once.
    for _ in range(2):
        with app.app_context():
            triggers.transactional(tenant_id=shops.fr.id, to=LEA, subject="Your request 12",
                                   body="Hello", locale="en",
                                   dedupe_key="support:ticket:12:ack", reply_to=REPLY_TO)
    (mail,) = mails_to(shops.smtp, LEA)
    assert mail["Reply-To"].addresses[0].addr_spec == REPLY_TO
    assert deliveries(app, shops.fr) == [("support:ticket:12:ack", TRANSACTIONAL, SENT,
                                          "support")]


def test_each_shop_sends_its_own_and_sees_only_its_own(app, shops):
    send(app, shops.fr)
    send(app, shops.de, locale="de_DE")
    fr_mail, de_mail = mails_to(shops.smtp, LEA)
    assert fr_mail["From"].addresses[0].display_name == "Comptoir France"
    assert de_mail["From"].addresses[0].display_name == "Comptoir Deutschland"
    # One key per shop: the same key in two shops is two messages, each shop's own.
    assert deliveries(app, shops.fr) == [("support:ticket:12:ack", TRANSACTIONAL, SENT,
                                          "support")]
    assert deliveries(app, shops.de) == [("support:ticket:12:ack", TRANSACTIONAL, SENT,
                                          "support")]


def test_a_shop_that_turned_the_plugin_off_is_served_by_the_core(app, shops):
    from comptoir.tenants import service as tenants
    from comptoir.tenants.models import Tenant

    with app.app_context():
        tenants.set_plugin_enabled(db.session.get(Tenant, shops.de.id), "newsletters", False)
        db.session.commit()
    send(app, shops.de, locale="de_DE")
    (mail,) = mails_to(shops.smtp, LEA)  # the platform's server (COMPTOIR_MAIL_URL)
    assert mail["From"].addresses[0].addr_spec == "news@comptoir.example"
    assert mail["Reply-To"].addresses[0].addr_spec == REPLY_TO
    assert FOOTER not in text_of(mail)
    # A message queued before the plugin was turned off still goes, through the core.
    with app.app_context():
        triggers.transactional(tenant_id=shops.de.id, to=LEA, subject="Queued before",
                               body="Hello", locale="de_DE", dedupe_key="support:queued")
    assert [m["Subject"] for m in mails_to(shops.smtp, LEA)][-1] == "Queued before"
    with as_tenant(app, shops.de):
        assert db.session.scalars(select(Delivery)).all() == []
