"""``toolkit.transactional_mail``: a plugin that owns the shop's mail takes the message
(``comptoir_transactional_mail``); with none, the core sends it itself, from
``COMPTOIR_MAIL_FROM``, to the outbox folder or over SMTP, with the Reply-To asked for.
Bad input is refused before anyone sends anything.

This module is also the test plugin ``relay`` (``COMPTOIR_PLUGINS``): it takes the mail of
the shops that enabled it and keeps it in :data:`TAKEN`.
"""

from __future__ import annotations

from typing import Any

import pytest

from comptoir.core.mail import outbox_messages
from comptoir.tenants.resolution import directory
from comptoir.toolkit import hookimpl, transactional_mail
from tests.mailserver import smtp_server  # noqa: F401  (the fixture)

PLUGIN_NAME = "relay"
TAKEN: list[dict[str, Any]] = []
MODULE = __name__


@hookimpl
def comptoir_transactional_mail(tenant, to, subject, body, locale, dedupe_key, reply_to,
                                headers):
    TAKEN.append({"tenant": tenant.slug, "to": to, "subject": subject, "body": body,
                  "locale": locale, "dedupe_key": dedupe_key, "reply_to": reply_to,
                  "headers": headers})
    return True


@pytest.fixture
def app(app_factory):
    return app_factory(PLUGINS=MODULE, MAIL_FROM="Comptoir <no-reply@comptoir.example>")


@pytest.fixture(autouse=True)
def _forget_taken():
    TAKEN.clear()
    yield
    TAKEN.clear()


def _send(app, slug: str, **overrides: Any) -> None:
    values = {"to": "Léa Martin <lea@example.org>", "subject": "Your request 12",
              "body": "Hello Léa,\n\nWe received your request.", "locale": "en",
              "dedupe_key": "support:ticket:12:ack",
              "reply_to": "support+12.abc@help.example.fr", **overrides}
    with app.app_context():
        transactional_mail(directory().by_slug(slug), **values)


def test_without_a_mail_plugin_the_core_writes_to_the_outbox(app, make_tenant):
    make_tenant("fr")
    _send(app, "fr", headers={"X-Ticket": "12"})

    [msg] = outbox_messages(app)
    assert msg["From"].addresses[0].addr_spec == "no-reply@comptoir.example"
    assert msg["To"].addresses[0].addr_spec == "lea@example.org"
    assert msg["Reply-To"].addresses[0].addr_spec == "support+12.abc@help.example.fr"
    assert msg["Subject"] == "Your request 12"
    assert msg["X-Ticket"] == "12"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content().rstrip("\n") == "Hello Léa,\n\nWe received your request."
    assert msg["Message-ID"].endswith("@comptoir.example>")
    assert TAKEN == []


def test_one_key_keeps_one_message_id_and_another_key_gets_its_own(app, make_tenant):
    make_tenant("fr")
    _send(app, "fr")
    _send(app, "fr")
    _send(app, "fr", dedupe_key="support:ticket:12:answer:1", reply_to=None)
    first, again, other = outbox_messages(app)
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert other["Reply-To"] is None


def test_over_smtp_when_a_server_is_configured(app, app_factory, make_tenant,
                                               smtp_server):  # noqa: F811
    make_tenant("fr")
    smtp_app = app_factory(PLUGINS=MODULE, MAIL_URL=smtp_server.url,
                           MAIL_FROM="Comptoir <no-reply@comptoir.example>")
    _send(smtp_app, "fr")

    [received] = smtp_server.received
    assert received.rcpt_tos == ["lea@example.org"]
    assert received.message["Reply-To"].addresses[0].addr_spec == \
        "support+12.abc@help.example.fr"
    assert outbox_messages(smtp_app) == []


def test_a_plugin_that_owns_the_shops_mail_takes_it_and_the_core_sends_nothing(
        app, make_tenant):
    make_tenant("fr", plugins=["relay"])
    make_tenant("de", country="DE", locale="de_DE")
    _send(app, "fr", headers={"X-Ticket": "12"})

    assert outbox_messages(app) == []
    assert TAKEN == [{"tenant": "fr", "to": "Léa Martin <lea@example.org>",
                      "subject": "Your request 12",
                      "body": "Hello Léa,\n\nWe received your request.", "locale": "en",
                      "dedupe_key": "support:ticket:12:ack",
                      "reply_to": "support+12.abc@help.example.fr",
                      "headers": {"X-Ticket": "12"}}]
    # The other shop did not enable it: the core sends its mail.
    _send(app, "de")
    assert len(TAKEN) == 1
    assert len(outbox_messages(app)) == 1


@pytest.mark.parametrize(("field", "value", "named"), [
    ("to", "not an address", "to"),
    ("subject", "Two\nlines", "subject"),
    ("reply_to", "nobody", "reply_to"),
    ("headers", {"From": "boss@example.org"}, "headers"),
    ("dedupe_key", "", "dedupe_key"),
    ("dedupe_key", "x" * 161, "dedupe_key"),
    ("locale", "", "locale"),
])
def test_bad_input_is_refused_naming_it_and_nothing_is_sent(app, make_tenant, field, value,
                                                           named):
    make_tenant("fr", plugins=["relay"])
    make_tenant("de", country="DE", locale="de_DE")
    for slug in ("fr", "de"):  # whoever would have sent it
        with pytest.raises(ValueError, match=f"^{named}"):
            _send(app, slug, **{field: value})
    assert TAKEN == []
    assert outbox_messages(app) == []
