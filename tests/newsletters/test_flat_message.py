"""Campaign messages go out as bytes written without building an ``EmailMessage``
(:func:`comptoir.core.mail.flat_message`, :func:`mailing.compose_flat`): the same message,
byte for byte, as :func:`comptoir.core.mail.build_message` flattened by
``smtplib.send_message``; checked on French and Czech readers, long subjects and long
unsubscribe links, odd names and seeded random values, then read back with the email
package's parser after a campaign went through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import io
import random
import re
import string
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from sqlalchemy import select

from comptoir.core import mail
from comptoir.core.db import db
from comptoir.toolkit import FlatMessage, shop_context
from plugins.newsletters import mailing
from plugins.newsletters.models import MARKETING, SENT, Delivery
from tests.conftest import as_tenant
from tests.newsletters.conftest import mails_to
from tests.newsletters.test_campaigns import (
    add_subscriber,
    deliveries,
    html_of,
    info,
    make_campaign,
    start,
    text_of,
)

LONG_URL = ("<http://localhost/s/fr/newsletter/unsubscribe/WzEsMSwiOTNhZDJjN2Q2ZjkzMmU0OWY1"
            "MjIiXQ.awRu5w.k_W7FVtqpq7zXZANb_Gc6G5aiog>")
FR_SUBJECT = ("{{ first_name }}, les écrans 27 pouces à prix réduit et les claviers "
              "ergonomiques de la rentrée chez {{ shop_name }} — jusqu'à -30 % !")
FR_BODY = ("Bonjour {{ first_name }},\n\nCette semaine chez {{ shop_name }} : les écrans "
           "27 pouces à prix réduit, les claviers « ergonomiques » et l'œuvre complète "
           "de Molière en coffret.\n\nhttps://example.org/c/ecrans\n\nÀ très bientôt !")


def wire(message: EmailMessage, boundary: str | None = None) -> bytes:
    """What ``smtplib.send_message`` sends for ``message`` (with ``boundary``, which the
    generator otherwise draws at random)."""
    if boundary is not None:
        message.set_boundary(boundary)
    out = io.BytesIO()
    BytesGenerator(out).flatten(message, linesep="\r\n")
    return out.getvalue()


def stored(flat: FlatMessage) -> EmailMessage:
    """``flat`` read back by the email package's parser, as a mailbox stores it (LF)."""
    assert flat.data is not None
    parsed = message_from_bytes(flat.data.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def untimed(text: str) -> str:
    """``text`` with its signed links' tokens (which carry the time) made equal."""
    return re.sub(r"/newsletter/(unsubscribe|preferences)/[A-Za-z0-9._-]+",
                  r"/newsletter/\1/TOKEN", str(text))


def boundary_of(data: bytes) -> str:
    found = re.search(rb'boundary="([^"]+)"', data)
    assert found is not None
    return found.group(1).decode("ascii")


def assert_same_as_built(flat: FlatMessage, *args: Any, **kwargs: Any) -> None:
    """``flat`` is byte for byte what build_message(*args, **kwargs) sends, once the two
    values drawn anew for each message (Date, MIME boundary) are the same."""
    assert flat.data is not None
    built = mail.build_message(*args, **{**kwargs, "message_id": flat.message_id})
    built.replace_header("Date", flat.date)
    assert flat.data == wire(built, boundary_of(flat.data))


CASES: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "French reader, long accented subject, long unsubscribe link": (
        ("lecteur@lecteurs.example",
         "Élodie, les écrans 27 pouces à prix réduit et les claviers ergonomiques de la "
         "rentrée — jusqu'à -30 % !",
         "Bonjour Élodie,\n\nÇa va ? Les écrans sont à -30 %.\n" * 4,
         "<p>Bonjour Élodie, les écrans sont à -30 %.</p>\n" * 30),
        {"sender": '"Comptoir France" <news@comptoir.example>',
         "headers": {"List-Unsubscribe": LONG_URL,
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                     "List-ID": "<campaign-12.fr.newsletter>", "Precedence": "bulk"},
         "message_id": "<nl.1.12.0123456789@comptoir.example>"}),
    "Czech names, reply-to, several recipients": (
        (["Jiří Novák <jiri@firma.cz>", "jerome@durand-industries.example"],
         "Objednávka č. 42 — expédiée", "Děkujeme, Jiří\n", "<p>Děkujeme</p>"),
        {"sender": "Comptoir ČR <obchod@comptoir.example>",
         "reply_to": "Service client <support@acme.example>",
         "headers": {"Auto-Submitted": "auto-generated"}}),
    "display names with specials, an international domain": (
        ('"Dupont, Jean (Achats)" <jean@bücher.example>', "Short", "t", "<p>h</p>"),
        {"sender": 'O\'Brien "Shop" Ltd. <s@shop.example>'}),
    "ASCII only, short": (
        ("reader000001@lecteurs.example", "Lecteur, les offres de la semaine",
         "Bonjour Lecteur,\n", "<p>Bonjour</p>"),
        {"sender": "Comptoir <news@comptoir.example>",
         "headers": {"Precedence": "bulk", "X-Long-Word": "x" * 200}}),
    "text that looks like encoded words and the boundary": (
        ("a@example.org", "=?utf-8?q?not_encoded?= but plain", "--===============1==\n",
         "=3D\n\n\n"),
        {"sender": "a@localhost", "headers": {"X-Tricky": "=?utf-8?q?abc?="}}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_bytes_are_those_of_the_email_package(app, case):
    args, kwargs = CASES[case]
    with app.app_context():
        flat = mail.flat_message(*args, **kwargs)
    assert_same_as_built(flat, *args, **kwargs)
    assert flat.data.isascii()  # 7-bit clean for any relay
    lines = flat.data.split(b"\r\n")
    # Folded as RFC 5322 asks (SHOULD 78), except list headers, which hold <URL>s where
    # encoded words are not allowed: one line each, within the 998 the RFC allows.
    listed = [line for line in lines if line.lower().startswith(b"list-")]
    assert max(len(line) for line in lines if line not in listed) <= 78
    assert all(len(line) <= 998 for line in listed)
    # Read back: the same words.
    parsed = stored(flat)
    # (Text that looks like an encoded word is decoded by the email package itself, in
    # build_message as well: the same words as its message, whatever they are.)
    assert parsed["Subject"] == flat.as_message()["Subject"]
    if "=?" not in args[1]:
        assert parsed["Subject"] == args[1]
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed.get_body(("plain",)).get_content() == "\n".join(
        args[2].splitlines()) + "\n"
    assert flat.recipients == [a.addr_spec for a in parsed["To"].addresses]
    assert flat.sender == parsed["From"].addresses[0].addr_spec


def test_random_values_are_folded_as_the_email_package_folds_them(app):
    """Seeded random subjects, names and header values (specials, accents, long words,
    runs of spaces) around the line length: the shortcuts never differ from the package."""
    rnd = random.Random(20261124)
    specials = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    alphabet = string.ascii_letters + string.digits + specials + "  éàÇřž€—"
    words = string.ascii_letters + string.digits + "<>:/._-=?&%~+"
    checked = 0
    for _ in range(150):
        size = rnd.choice([5, 30, 58, 60, 61, 70, 76, 77, 78, 79, 90, 130, 200])
        value = "".join(rnd.choice(alphabet) for _ in range(size)).strip() or "x"
        word = "".join(rnd.choice(words) for _ in range(size))
        name = rnd.choice(["", "Jean", "Ève Dupont", "O'Brien, Ltd.", 'A "B" C'])
        user = rnd.choice(["a", "a.b", "a+b_c-d", "x" * 30])
        to = f"{name} <{user}@ex-ample.org>" if name else f"{user}@ex-ample.org"
        args = (to, value, f"{value}\n{word}", word)
        kwargs = {"sender": "Shop <s@shop.example>",
                  "headers": {"X-Thing": value, "List-Unsubscribe": word,
                              "List-ID": f"<{word[:50]}>"},
                  "message_id": rnd.choice([None, f"<{user}@shop.example>"])}
        try:
            with app.app_context():
                flat = mail.flat_message(*args, **kwargs)
        except ValueError:
            continue  # refused like build_message refuses it (an empty subject...)
        assert_same_as_built(flat, *args, **kwargs)
        checked += 1
    assert checked > 100


def test_bad_input_is_refused_as_build_message_refuses_it(app):
    with app.app_context():
        for call in ({"subject": "Bonjour\nBcc: victim@example.com"}, {"to": "not an address"},
                     {"headers": {"From": "x@example.org"}}, {"message_id": "nope"}):
            arguments = {"to": "a@example.org", "subject": "S", "text": "t", "html": "<p>h</p>",
                         "sender": "s@shop.example", **call}
            with pytest.raises(ValueError) as built:
                mail.build_message(**arguments)
            with pytest.raises(ValueError) as flat:
                mail.flat_message(**arguments)
            assert str(flat.value) == str(built.value)


def test_outbox_and_plain_text_take_the_ordinary_way(app_factory, tmp_path):
    """Without a server the bytes go to the outbox as as_bytes() writes them; a text-only
    message (no shortcut) is built by the email package."""
    app = app_factory()
    with app.app_context():
        flat = mail.flat_message("lea@example.org", "Commande expédiée", "Bonjour Léa\n",
                                 "<p>Bonjour Léa</p>", sender="Comptoir <shop@example.org>")
        text_only = mail.flat_message("lea@example.org", "Reçu", "Merci, Léa\n",
                                      sender="Comptoir <shop@example.org>")
        assert text_only.data is None
        with mail.connection() as mailer:
            mailer.send(flat)
            mailer.send(text_only)
        first, second = mail.outbox_messages(app)
    [name] = [p for p in mail.outbox_path(app).glob("*.eml")
              if p.read_bytes() == flat.data.replace(b"\r\n", b"\n")]
    assert name.suffix == ".eml"
    assert first["Message-ID"] == flat.message_id
    assert first["Subject"] == "Commande expédiée"
    assert first.get_body(("html",)).get_content() == "<p>Bonjour Léa</p>\n"
    assert second["Message-ID"] == text_only.message_id
    assert not second.is_multipart() and second.get_content() == "Merci, Léa\n"


def test_a_french_readers_campaign_message_is_the_message_compose_builds(app, shops):
    """Through the plugin and a real SMTP server: every header, the structure, charsets,
    and the personal words survive; and the bytes are those of the ``EmailMessage`` path
    (:func:`mailing.compose`) for the same reader and delivery."""
    smtp = shops.smtp
    add_subscriber(app, shops.fr, "elodie@example.org", name="Élodie Lefèvre-Dupré")
    add_subscriber(app, shops.de, "hans@example.de", "de_DE", name="Hans Meier")
    campaign_id = make_campaign(app, shops.fr, {"fr_FR": (FR_SUBJECT, FR_BODY)})
    assert start(app, shops.fr, campaign_id) == 1

    [received] = [r for r in smtp.received if "elodie@example.org" in r.rcpt_tos]
    assert len(smtp.received) == 1  # not the other office's reader
    assert deliveries(app, shops.de) == []
    [row] = deliveries(app, shops.fr)
    assert (row.status, row.kind, row.campaign_id) == (SENT, MARKETING, campaign_id)
    with app.app_context():
        sender = info(shops.fr)
        assert received.mail_from == mailing.bounce_address(sender, row)
        assert mailing.read_message_id(received.message["Message-ID"]) == (shops.fr.id,
                                                                           row.id)
    message = received.message
    subject = ("Élodie, les écrans 27 pouces à prix réduit et les claviers ergonomiques de "
               "la rentrée chez Comptoir France — jusqu'à -30 % !")
    assert message["Subject"] == subject
    assert message["From"].addresses[0].display_name == "Comptoir France"
    assert message["From"].addresses[0].addr_spec == "news@comptoir.example"
    assert [a.addr_spec for a in message["To"].addresses] == ["elodie@example.org"]
    assert message["Message-ID"] == row.message_id
    sent_at = parsedate_to_datetime(message["Date"])
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=5)
    assert message["List-ID"] == f"<campaign-{campaign_id}.fr.newsletter>"
    assert message["Precedence"] == "bulk"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(http://localhost/s/fr/newsletter/unsubscribe/\S+)>",
                               message["List-Unsubscribe"])
    assert unsubscribe is not None
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    for part, kind in ((plain, "text/plain"), (html, "text/html")):
        assert part.get_content_type() == kind
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert text_of(message).startswith("Bonjour Élodie,\n\nCette semaine chez Comptoir "
                                       "France : les écrans 27 pouces à prix réduit")
    assert "les claviers « ergonomiques » et l'œuvre complète de Molière" in text_of(message)
    assert unsubscribe.group(1) in text_of(message)
    assert "<p>Bonjour Élodie,</p>" in html_of(message)
    assert "« ergonomiques » et l&#39;œuvre complète" in html_of(message)
    assert '<a href="https://example.org/c/ecrans">' in html_of(message)
    assert f"<title>{subject.replace(chr(39), '&#39;')}</title>" in html_of(message)
    # The link in the header works: one click unsubscribes her.
    response = app.test_client().post(unsubscribe.group(1),
                                      data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200

    # The same reader and delivery through both paths: the same bytes.
    with as_tenant(app, shops.fr):
        delivery = db.session.scalars(select(Delivery)).one()
        db.session.expunge(delivery)
    reader = mailing.Reader(email="elodie@example.org", locale="fr_FR", tenant=sender,
                            name="Élodie Lefèvre-Dupré", subscriber_id=row.subscriber_id)
    content = mailing.Content(FR_SUBJECT, FR_BODY)
    with app.app_context(), shop_context(sender, "fr_FR"):
        flat = mailing.compose_flat(sender, reader, content, kind=MARKETING,
                                    delivery=delivery)
        built = mailing.compose(sender, reader, content, kind=MARKETING, delivery=delivery)
    built.replace_header("Date", flat.date)
    assert flat.data == wire(built, boundary_of(flat.data))
    assert flat.message_id == row.message_id
    parsed = stored(flat)
    assert parsed["Subject"] == subject
    lines = flat.data.split(b"\r\n")
    assert max(len(line) for line in lines if not line.startswith(b"List-")) <= 78
    # The one-click unsubscribe link is one <URL>, as RFC 2369 and 8058 write it.
    assert re.fullmatch(r"<https?://\S+>", parsed["List-Unsubscribe"])
    assert f"List-Unsubscribe: {parsed['List-Unsubscribe']}".encode() in lines
    # What the server received is that message (its Date, boundary and the time in its
    # signed links aside: they are made anew for each message).
    for name in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe",
                 "List-Unsubscribe-Post", "List-ID", "Precedence", "MIME-Version"):
        assert untimed(message[name]) == untimed(parsed[name]), name
    assert untimed(text_of(message)) == untimed(parsed.get_body(("plain",)).get_content())
    assert untimed(html_of(message)) == untimed(parsed.get_body(("html",)).get_content())
    assert mails_to(smtp, "hans@example.de") == []


def test_list_headers_go_on_one_line_as_written():
    """RFC 2369 list headers hold ``<URL>``s, where encoded words are not allowed: a long
    unsubscribe URL is written on one line (RFC 5322 allows 998 characters), by both
    paths, so that mail providers' one-click unsubscribe can read it."""
    import email
    from email import policy

    url = "<https://boutique.example.fr/s/fr/newsletter/unsubscribe/" + "x" * 180 + ">"
    args = {"to": "claire@example.fr", "subject": "Offres d’hiver", "text": "Bonjour",
            "html": "<p>Bonjour</p>", "sender": "Boutique <news@boutique.example.fr>",
            "headers": {"List-Unsubscribe": url,
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
    flat = mail.flat_message(**args)
    built = mail.build_message(**args).as_bytes(policy=mail.MAIL_POLICY.clone(linesep="\r\n"))
    for data in (flat.data, built):
        assert f"List-Unsubscribe: {url}\r\n".encode() in data
        parsed = email.message_from_bytes(data, policy=policy.default)
        assert parsed["List-Unsubscribe"] == url
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A value too long for any line is still folded the standard way, not cut.
    huge = {**args, "headers": {"List-Unsubscribe": "<https://x.example/" + "y" * 1000 + ">"}}
    parsed = email.message_from_bytes(mail.flat_message(**huge).data, policy=policy.default)
    assert parsed["List-Unsubscribe"] == huge["headers"]["List-Unsubscribe"]
