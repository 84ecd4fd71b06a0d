"""The mail service: outbox by default, SMTP against a real server, input checked first."""

from __future__ import annotations

import pytest

from comptoir.core import mail
from comptoir.core.mail import MailError, outbox_messages
from tests.mailserver import free_port, running_smtp_server, smtp_server  # noqa: F401

TEXT = "Bonjour Jérôme,\nvotre commande n° 42 est expédiée : 1 049,50 €.\nDěkujeme, Jiří Novák"
HTML = "<p>Bonjour Jérôme, votre commande n° 42 est <b>expédiée</b>. Děkujeme!</p>"


def _eml_files(app):
    folder = mail.outbox_path(app)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_outbox_is_the_default_and_keeps_a_parsable_utf8_message(app_factory, tmp_path):
    app = app_factory()
    with app.app_context():
        msgid = mail.send("Jérôme Durand <acheteur@durand-industries.example>",
                          "Commande expédiée — n° 42", TEXT)

    assert mail.outbox_path(app) == tmp_path / "instance" / "outbox"
    [name] = _eml_files(app)
    assert name.endswith(".eml")
    [msg] = outbox_messages(app)
    assert msg["Message-ID"] == msgid
    assert msgid.startswith("<") and msgid.endswith("@localhost>")
    assert msg["Subject"] == "Commande expédiée — n° 42"
    assert msg["To"].addresses[0].addr_spec == "acheteur@durand-industries.example"
    assert msg["To"].addresses[0].display_name == "Jérôme Durand"
    assert msg["From"].addresses[0].addr_spec == "no-reply@localhost"
    assert msg["From"].addresses[0].display_name == "Comptoir"
    assert msg["Date"] is not None
    assert not msg.is_multipart()
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().rstrip("\n") == TEXT
    # The file itself is 7-bit clean: any tool or relay can carry it.
    raw = (mail.outbox_path(app) / name).read_bytes()
    assert raw.isascii()


def test_outbox_folder_setting_headers_and_order(app_factory, tmp_path):
    outbox = tmp_path / "elsewhere" / "mails"
    app = app_factory(MAIL_OUTBOX=str(outbox), MAIL_FROM="ACME Informatique <ventes@acme.example>")
    with app.app_context():
        first = mail.send(["a@durand-industries.example", "Jiří <b@firma.cz>"], "Un", "1",
                          reply_to="Service client <support@acme.example>",
                          headers={"List-Unsubscribe": "<https://acme.example/u/1>"})
        second = mail.send("c@durand-industries.example", "Deux", "2", html="<p>2</p>")

    assert len(list(outbox.glob("*.eml"))) == 2
    assert not list(outbox.glob(".*"))  # no temporary file left behind
    one, two = outbox_messages(app)  # newest last
    assert (one["Message-ID"], two["Message-ID"]) == (first, second)
    assert first.endswith("@acme.example>")
    assert [a.addr_spec for a in one["To"].addresses] == ["a@durand-industries.example",
                                                          "b@firma.cz"]
    assert one["Reply-To"].addresses[0].addr_spec == "support@acme.example"
    assert one["List-Unsubscribe"] == "<https://acme.example/u/1>"
    assert one["From"].addresses[0].display_name == "ACME Informatique"
    assert two.get_content_type() == "multipart/alternative"


def test_smtp_delivers_text_and_html_alternative_with_accents(app_factory, smtp_server):  # noqa: F811
    app = app_factory(MAIL_URL=smtp_server.url)
    with app.app_context():
        msgid = mail.send(["Jiří Novák <jiri@firma.cz>", "jerome@durand-industries.example"],
                          "Objednávka č. 42 — expédiée", TEXT, HTML,
                          sender="Comptoir ČR <obchod@comptoir.example>")

    assert _eml_files(app) == []  # sent, not written to the outbox
    [received] = smtp_server.received
    assert received.mail_from == "obchod@comptoir.example"
    assert received.rcpt_tos == ["jiri@firma.cz", "jerome@durand-industries.example"]
    msg = received.message
    assert msg["Message-ID"] == msgid
    assert msg["Subject"] == "Objednávka č. 42 — expédiée"
    assert msg["From"].addresses[0].display_name == "Comptoir ČR"
    assert msg["To"].addresses[0].display_name == "Jiří Novák"
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # text first: the least preferred
    assert msg.get_body(("plain",)).get_content().rstrip("\n") == TEXT
    assert msg.get_body(("html",)).get_content().rstrip("\n") == HTML


def test_smtp_login_when_the_url_names_a_user(app_factory):
    with running_smtp_server(auth=("comptoir", "s3cret:@x")) as server:
        url = f"smtp://comptoir:s3cret%3A%40x@127.0.0.1:{server.port}"
        app = app_factory(MAIL_URL=url)
        with app.app_context():
            mail.send("jerome@durand-industries.example", "Bonjour", "Texte")
        assert server.logins == ["comptoir"]
        assert len(server.messages) == 1

        app = app_factory(MAIL_URL=f"smtp://comptoir:wrong@127.0.0.1:{server.port}")
        with app.app_context(), pytest.raises(MailError, match="535") as caught:
            mail.send("jerome@durand-industries.example", "Bonjour", "Texte")
        assert "wrong" not in str(caught.value)  # the password never reaches logs
        assert len(server.messages) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"subject": "Bonjour\nBcc: victim@example.com"}, "subject: line breaks"),
        ({"subject": "Bonjour\r"}, "subject: line breaks"),
        ({"to": "a@durand-industries.example\nBcc: b@example.com"}, "to: line breaks"),
        ({"to": "not an address"}, "to: invalid address 'not an address'"),
        ({"to": "jerome@durand-industries"}, "to: invalid address"),
        ({"to": ""}, "to: no recipient"),
        ({"to": []}, "to: no recipient"),
        ({"to": ["ok@durand-industries.example", "bad@"]}, "to: invalid address 'bad@'"),
        ({"to": "a@durand-industries.example, b@firma.cz"}, "to: one address per item"),
        ({"reply_to": "x\n@y"}, "reply_to: line breaks"),
        ({"sender": "nobody"}, "sender: invalid address"),
        ({"headers": {"List-Unsubscribe": "<x>\r\nBcc: b@example.com"}},
         r"headers\['List-Unsubscribe'\]: line breaks"),
        ({"headers": {"Bad Name": "x"}}, "not a valid header name"),
        ({"headers": {"Bcc": "b@example.com"}}, "Bcc is set by send"),
        ({"subject": "  "}, "subject: empty"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_sent(app_factory, smtp_server, call, message):  # noqa: F811
    arguments = {"to": "jerome@durand-industries.example", "subject": "Bonjour",
                 "text": "Texte", **call}
    outbox_app = app_factory()
    smtp_app = app_factory(MAIL_URL=smtp_server.url)
    for app in (outbox_app, smtp_app):
        with app.app_context(), pytest.raises(ValueError, match=message):
            mail.send(**arguments)
    assert _eml_files(outbox_app) == []
    assert smtp_server.received == []


def test_smtp_server_down_raises_mail_error(app_factory):
    port = free_port()  # nothing listens there
    app = app_factory(MAIL_URL=f"smtp://127.0.0.1:{port}")
    with app.app_context(), pytest.raises(MailError, match=f"127.0.0.1:{port}"):
        mail.send("jerome@durand-industries.example", "Bonjour", "Texte")
    assert _eml_files(app) == []  # no silent fallback to the outbox


def test_unwritable_outbox_raises_mail_error(app_factory, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = app_factory(MAIL_OUTBOX=str(blocker))
    with app.app_context(), pytest.raises(MailError, match="could not write to the mail outbox"):
        mail.send("jerome@durand-industries.example", "Bonjour", "Texte")


def test_starttls_is_required_when_asked_for(app_factory, smtp_server):  # noqa: F811
    app = app_factory(MAIL_URL=smtp_server.url.replace("smtp://", "smtp+starttls://"))
    with app.app_context(), pytest.raises(MailError, match="STARTTLS"):
        mail.send("jerome@durand-industries.example", "Bonjour", "Texte")
    assert smtp_server.received == []  # never in clear


def test_mail_url_parsing():
    target = mail.parse_mail_url("smtps://u%40x:p%3Aw@mail.example")
    assert (target.scheme, target.host, target.port) == ("smtps", "mail.example", 465)
    assert (target.username, target.password) == ("u@x", "p:w")
    assert "p:w" not in str(target)
    assert mail.parse_mail_url("smtp+starttls://mail.example").port == 587
    assert mail.parse_mail_url("smtp://mail.example:2525").port == 2525
    with pytest.raises(ValueError, match="COMPTOIR_MAIL_URL must start with"):
        mail.parse_mail_url("http://mail.example")
    with pytest.raises(ValueError, match="COMPTOIR_MAIL_URL names no host"):
        mail.parse_mail_url("smtp://")


def test_mail_settings_have_working_defaults():
    from comptoir.core import config

    values = config.from_environment({})
    assert (values["MAIL_URL"], values["MAIL_OUTBOX"]) == ("", "")
    assert values["MAIL_FROM"] == "Comptoir <no-reply@localhost>"


def test_one_connection_sends_many_with_their_own_ids_and_bounce_address(app_factory, smtp_server):  # noqa: F811
    app = app_factory(MAIL_URL=smtp_server.url)
    with app.app_context(), mail.connection() as mailer:
        for n in range(3):
            msg = mail.build_message(f"reader{n}@durand-industries.example", f"Lettre {n}",
                                     "Texte", sender="News <news@comptoir.example>",
                                     message_id=f"<nl.1.{n}@comptoir.example>")
            mailer.send(msg, envelope_from=f"bounces+1.{n}@comptoir.example")
    assert [r.message["Message-ID"] for r in smtp_server.received] == [
        "<nl.1.0@comptoir.example>", "<nl.1.1@comptoir.example>", "<nl.1.2@comptoir.example>"]
    assert [r.mail_from for r in smtp_server.received] == [
        "bounces+1.0@comptoir.example", "bounces+1.1@comptoir.example",
        "bounces+1.2@comptoir.example"]


@pytest.mark.parametrize("message_id", ["nl-1@x", "<nl 1@x>", "<a@b>\r\nBcc: x@y.example"])
def test_a_malformed_message_id_is_refused(app_factory, message_id):
    with app_factory().app_context(), pytest.raises(ValueError, match="message_id"):
        mail.build_message("a@durand-industries.example", "Bonjour", "Texte",
                           sender="x@comptoir.example", message_id=message_id)


def test_a_refused_recipient_is_a_permanent_or_temporary_refusal(app_factory):
    from aiosmtpd.controller import Controller

    class Picky:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            if address.startswith("gone@"):
                return "550 5.1.1 no such user"
            if address.startswith("full@"):
                return "452 4.2.2 mailbox full"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 accepted"

    port = free_port()
    controller = Controller(Picky(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = app_factory()  # the platform's outbox, but this shop's own server:
        with app.app_context(), mail.connection(f"smtp://127.0.0.1:{port}") as mailer:
            for local, permanent in (("gone", True), ("full", False)):
                msg = mail.build_message(f"{local}@durand-industries.example", "Bonjour",
                                         "Texte", sender="x@comptoir.example")
                with pytest.raises(mail.MailRefused) as refused:
                    mailer.send(msg)
                assert refused.value.permanent is permanent
            # The session survives a refusal: the next reader still gets their message.
            mailer.send(mail.build_message("ok@durand-industries.example", "Bonjour", "Texte",
                                           sender="x@comptoir.example"))
        assert _eml_files(app) == []
    finally:
        controller.stop()


def test_outbox_command_shows_the_newest_messages_with_their_links(app_factory):
    app = app_factory()
    with app.app_context():
        mail.send("lea@durand-industries.example", "Confirmez votre inscription",
                  "Cliquez : https://shop.example/newsletter/confirm/abc")
        mail.send("paul@firma.cz", "Objednávka", "Děkujeme")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "outbox", "--to", "lea@durand-industries.example"])
    assert result.exit_code == 0, result.output
    assert "Confirmez votre inscription" in result.output
    assert "https://shop.example/newsletter/confirm/abc" in result.output
    assert "Objednávka" not in result.output
    smtp = app_factory(MAIL_URL="smtp://127.0.0.1:25")
    refused = smtp.test_cli_runner().invoke(args=["mail", "outbox"])
    assert refused.exit_code != 0 and "COMPTOIR_MAIL_URL is set" in refused.output
