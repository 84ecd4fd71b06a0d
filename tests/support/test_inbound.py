"""E-mail into tickets (``comptoir support inbound``): a reply lands in its ticket by the
signed reply address, once; refused files are left out and the ticket marked for review;
mail that matches no ticket becomes a new ticket for review; mail for no shop is refused.
The German office's desk and the reseller's tickets stay their own.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from comptoir.core.db import db
from comptoir.toolkit import tenant_by_id
from plugins.support import inbound, tickets
from plugins.support.models import CUSTOMER, OPEN, SYSTEM, Ticket
from tests.conftest import as_tenant
from tests.support.conftest import INBOUND, set_support_settings

LEA = "lea@example.fr"
DE_DESK = "hilfe@comptoir-deutschland.example"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
EXE = b"MZ\x90\x00" + b"\x00" * 60


def info(app, shop):
    with app.app_context():
        return tenant_by_id(shop.id)


def open_ticket(app, shop, email: str = LEA, **fields: Any) -> tuple[int, int, str]:
    """A ticket of ``email`` in ``shop``: (number, id, reply address)."""
    values = {"email": email, "name": "Léa Martin", "subject": "Toner?",
              "body": "Which toner fits my printer?", "source": "account", "locale": "en",
              **fields}
    tenant = info(app, shop)
    with as_tenant(app, shop):
        ticket = tickets.open_ticket(tenant, **values)
        return ticket.number, ticket.id, tickets.reply_address(tenant, ticket)


def mail(to: str, body: str = "The T-100 toner, thank you.", *, sender: str = LEA,
         subject: str = "Re: [#1] Toner?", message_id: str | None = "",
         files: tuple[tuple[str, str, bytes], ...] = (), html: str | None = None,
         **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Léa Martin <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    if message_id is not None:
        msg["Message-ID"] = message_id or make_msgid(domain="example.fr")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def land(app, raw: bytes, recipient: str = "") -> inbound.Result:
    with app.app_context():
        return inbound.process(raw, recipient=recipient)


def ticket_of(app, shop, number: int) -> dict[str, Any]:
    with as_tenant(app, shop):
        ticket = tickets.get(number)
        return {
            "status": ticket.status, "needs_review": ticket.needs_review,
            "source": ticket.source, "email": ticket.email, "subject": ticket.subject,
            "due_at": ticket.due_at,
            "messages": [(m.kind, m.author, m.body, m.via) for m in ticket.messages],
            "files": [(a.filename, a.content_type) for m in ticket.messages
                      for a in m.attachments],
        }


def all_tickets(app, shop) -> list[tuple[int, str]]:
    with as_tenant(app, shop):
        return [(t.number, t.source) for t in db.session.query(Ticket).order_by(Ticket.id)]


def cli(app, raw: bytes, *args: str) -> Any:
    return app.test_cli_runner().invoke(inbound.inbound_command, args=list(args), input=raw)


@pytest.fixture
def de_desk(app, shops):
    set_support_settings(app, shops.de, inbound_address=DE_DESK)


# --- replies -------------------------------------------------------------------------------


def test_a_reply_lands_in_its_ticket_without_the_quoted_conversation(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    with as_tenant(app, shops.fr):
        tickets.staff_reply(info(app, shops.fr), tickets.get(number), "Which model?",
                            actor="desk@comptoir-france.example")
    assert ticket_of(app, shops.fr, number)["status"] != OPEN
    body = ("The T-100 toner, thank you.\n\nOn Mon, 3 Mar 2026 at 10:00, Comptoir France "
            "<shop@comptoir.example>\nwrote:\n> Which model?\n> The help desk")
    result = land(app, mail(address, body))

    assert (result.outcome, result.tenant, result.ticket_number) == (inbound.ADDED, "fr",
                                                                     number)
    assert result.exit_code == 0 and not result.needs_review
    ticket = ticket_of(app, shops.fr, number)
    assert ticket["messages"][-1] == (CUSTOMER, LEA, "The T-100 toner, thank you.", "email")
    # The customer answered: the ticket waits for the desk again, with a deadline.
    assert ticket["status"] == OPEN and ticket["due_at"] is not None
    assert not ticket["needs_review"]


def test_the_same_message_delivered_twice_lands_once(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    raw = mail(address, message_id="<twice@example.fr>")
    first, second = land(app, raw), land(app, raw)
    assert first.outcome == inbound.ADDED
    assert (second.outcome, second.ticket_number, second.exit_code) == (
        inbound.DUPLICATE, number, 0)
    assert len(ticket_of(app, shops.fr, number)["messages"]) == 2


def test_a_message_without_message_id_delivered_twice_lands_once(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    raw = mail(address, message_id=None)
    assert [land(app, raw).outcome for _ in range(2)] == [inbound.ADDED, inbound.DUPLICATE]
    assert len(ticket_of(app, shops.fr, number)["messages"]) == 2


def test_a_refused_file_is_left_out_and_the_ticket_marked_for_review(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    result = land(app, mail(address, "Here is the invoice and the driver.", files=(
        ("facture.pdf", "application/pdf", PDF),
        ("pilote.exe", "application/octet-stream", EXE))))

    assert result.outcome == inbound.ADDED and result.needs_review
    assert len(result.refused_files) == 1 and "pilote.exe" in result.refused_files[0]
    ticket = ticket_of(app, shops.fr, number)
    assert ticket["needs_review"]
    # The words and the good file landed; a note names the file left out and why.
    assert (CUSTOMER, LEA, "Here is the invoice and the driver.", "email") in \
        ticket["messages"]
    assert ticket["files"] == [("facture.pdf", "application/pdf")]
    [note] = [body for kind, _a, body, _v in ticket["messages"] if kind == SYSTEM]
    assert "pilote.exe" in note and result.refused_files[0] in note


def test_a_reply_from_another_address_lands_but_is_marked_for_review(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    result = land(app, mail(address, "I am Léa's colleague.", sender="paul@example.fr"))
    assert result.outcome == inbound.ADDED and result.needs_review
    ticket = ticket_of(app, shops.fr, number)
    assert (CUSTOMER, "paul@example.fr", "I am Léa's colleague.", "email") in \
        ticket["messages"]
    [note] = [body for kind, _a, body, _v in ticket["messages"] if kind == SYSTEM]
    assert "paul@example.fr" in note and LEA in note
    assert ticket["needs_review"]


def test_the_envelope_recipient_finds_the_ticket_when_the_headers_do_not(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    result = land(app, mail("Undisclosed recipients:;"), recipient=address)
    assert (result.outcome, result.ticket_number) == (inbound.ADDED, number)


def test_an_html_only_reply_lands_as_text(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    html = ("<html><head><style>p {color: red}</style></head><body><p>The <b>T-100</b> "
            "toner &amp; a drum.</p><blockquote>Which model?</blockquote></body></html>")
    land(app, mail(address, html=html))
    assert ticket_of(app, shops.fr, number)["messages"][-1][2] == "The T-100 toner & a drum."


def test_a_long_message_is_cut_and_kept_whole_as_a_file(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    text = "A long log line.\n" * 3000
    result = land(app, mail(address, text))
    assert result.outcome == inbound.ADDED
    ticket = ticket_of(app, shops.fr, number)
    assert len(ticket["messages"][-1][2]) <= tickets.MAX_BODY
    assert ticket["files"] == [("message.txt", "text/plain")]


def test_an_empty_reply_with_a_file_still_lands(app, shops):
    number, _id, address = open_ticket(app, shops.fr)
    result = land(app, mail(address, "", files=(("photo.pdf", "application/pdf", PDF),)))
    assert result.outcome == inbound.ADDED
    ticket = ticket_of(app, shops.fr, number)
    assert ticket["messages"][-1][2]  # a placeholder saying there is no text
    assert ticket["files"] == [("photo.pdf", "application/pdf")]


# --- mail that matches no ticket -----------------------------------------------------------


def test_mail_to_the_desk_without_a_token_becomes_a_new_ticket_for_review(app, shops):
    result = land(app, mail(INBOUND, "Do you sell toner?", sender="paul@example.fr",
                            subject="Toner"))
    assert (result.outcome, result.tenant, result.exit_code) == (inbound.OPENED, "fr", 0)
    ticket = ticket_of(app, shops.fr, result.ticket_number)
    assert (ticket["source"], ticket["email"], ticket["subject"]) == (
        "email", "paul@example.fr", "Toner")
    assert ticket["needs_review"] and ticket["status"] == OPEN
    assert ticket["messages"][0] == (CUSTOMER, "paul@example.fr", "Do you sell toner?",
                                     "email")
    assert any(kind == SYSTEM and INBOUND in body for kind, _a, body, _v in ticket["messages"])
    # First in the desk's queue, and the sender is told their ticket's number.
    with as_tenant(app, shops.fr):
        assert tickets.queue()[0].number == result.ticket_number
    [ack] = [m for m in shops.smtp.messages if m["To"].addresses[0].addr_spec ==
             "paul@example.fr"]
    assert ack["Reply-To"] is not None


@pytest.mark.parametrize("headers", [{"Auto_Submitted": "auto-replied"},
                                     {"Precedence": "bulk"}, {"List_Id": "<news.example>"}])
def test_mail_a_program_sent_makes_a_ticket_but_is_not_answered(app, shops, headers):
    # An out-of-office reply to the desk's address: kept for a person to see, but answering
    # it would let two robots write to each other forever.
    result = land(app, mail(INBOUND, "I am away until Monday.", sender="paul@example.fr",
                            subject="Absence", **headers))
    assert result.outcome == inbound.OPENED
    assert ticket_of(app, shops.fr, result.ticket_number)["needs_review"]
    assert not [m for m in shops.smtp.messages
                if m["To"].addresses[0].addr_spec == "paul@example.fr"]


@pytest.mark.parametrize("tamper", ["signature", "unknown_ticket"])
def test_a_forged_or_stale_token_opens_a_new_ticket_instead(app, shops, tamper):
    number, ticket_id, address = open_ticket(app, shops.fr)
    if tamper == "signature":
        local, domain = address.split("@")
        stem, signature = local.rsplit(".", 1)
        forged = f"{stem}.{'0' * len(signature)}@{domain}"
    else:
        with as_tenant(app, shops.fr):
            forged = tickets.reply_address(info(app, shops.fr),
                                           Ticket(id=ticket_id + 1000, number=99))
    result = land(app, mail(forged, "Let me into that ticket."))
    assert result.outcome == inbound.OPENED and result.ticket_number != number
    assert len(ticket_of(app, shops.fr, number)["messages"]) == 1  # untouched
    assert ticket_of(app, shops.fr, result.ticket_number)["needs_review"]


def test_mail_for_no_shop_is_refused_and_nothing_is_stored(app, shops, de_desk):
    result = land(app, mail("support@elsewhere.example", sender="paul@example.fr"))
    assert (result.outcome, result.exit_code, result.tenant) == (inbound.NO_TENANT, 2, None)
    assert all_tickets(app, shops.fr) == [] and all_tickets(app, shops.de) == []


def test_mail_without_a_sender_to_answer_is_refused(app, shops):
    raw = re.sub(rb"(?m)^From: .*$", b"From: nobody", mail(INBOUND))
    result = land(app, raw)
    assert (result.outcome, result.exit_code) == (inbound.UNREADABLE, 2)
    assert all_tickets(app, shops.fr) == []


def test_mail_a_ticket_cannot_take_is_refused_not_retried_forever(app, shops):
    # A sender address longer than an address may be (254) cannot open a ticket: the
    # ticket's refusal used to escape process(), and the command answered 75 ("retry").
    sender = "a" * 250 + "@example.fr"
    raw = re.sub(rb"(?m)^From: .*$", f"From: {sender}".encode(), mail(INBOUND))
    result = land(app, raw)
    assert (result.outcome, result.exit_code) == (inbound.UNREADABLE, 2)
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("fr_FR"):  # the French shop's language
        field = tickets.translations.gettext("E-mail address")
    assert field in result.detail
    assert all_tickets(app, shops.fr) == []


# --- shops ---------------------------------------------------------------------------------


def test_each_desk_gets_only_its_own_mail(app, shops, de_desk):
    de_number, de_id, de_address = open_ticket(app, shops.de, email="max@example.de")
    fr_number, _fr_id, fr_address = open_ticket(app, shops.fr)

    assert land(app, mail(fr_address)).tenant == "fr"
    assert land(app, mail(de_address, sender="max@example.de")).tenant == "de"
    opened = land(app, mail(DE_DESK, "Haben Sie Toner?", sender="max@example.de"))
    assert (opened.outcome, opened.tenant) == (inbound.OPENED, "de")
    # France's signature on the German ticket's id, at the German desk: not the German
    # ticket's, so a new ticket for the German desk to review.
    local, domain = fr_address.split("@")
    signature = local.rsplit(".", 1)[1]
    with app.app_context():
        fr_signature = tickets._signature(info(app, shops.fr), de_id)
    forged = f"hilfe+{de_id}.{fr_signature}@comptoir-deutschland.example"
    assert signature  # the French address had one
    crossed = land(app, mail(forged, "Cross-shop?", sender="max@example.de"))
    assert crossed.outcome == inbound.OPENED and crossed.tenant == "de"
    assert len(ticket_of(app, shops.de, de_number)["messages"]) == 2
    assert [n for n, _s in all_tickets(app, shops.fr)] == [fr_number]
    assert len(ticket_of(app, shops.fr, fr_number)["messages"]) == 2


def test_a_resellers_ticket_gets_its_replies_and_bare_mail_goes_to_the_office(app, shops):
    number, _id, address = open_ticket(app, shops.acme)
    assert address.endswith("@comptoir-france.example")  # the office's desk, inherited
    result = land(app, mail(address, "For ACME's desk."))
    assert (result.outcome, result.tenant, result.ticket_number) == (inbound.ADDED, "acme",
                                                                     number)
    bare = land(app, mail(INBOUND, "Who am I writing to?", sender="paul@example.fr"))
    assert (bare.outcome, bare.tenant) == (inbound.OPENED, "fr")
    assert [n for n, _s in all_tickets(app, shops.acme)] == [number]


# --- the command ---------------------------------------------------------------------------


def test_the_command_reads_standard_input_or_a_file(app, shops, tmp_path):
    number, _id, address = open_ticket(app, shops.fr)
    done = cli(app, mail(address, "From standard input."))
    assert done.exit_code == 0, done.output
    path = tmp_path / "reply.eml"
    path.write_bytes(mail(address, "From a file."))
    done = cli(app, b"", str(path))
    assert done.exit_code == 0, done.output
    bodies = [body for _k, _a, body, _v in ticket_of(app, shops.fr, number)["messages"]]
    assert bodies[-2:] == ["From standard input.", "From a file."]


def test_the_command_exits_2_for_mail_it_will_never_take(app, shops):
    assert cli(app, mail("support@elsewhere.example")).exit_code == 2
    assert cli(app, b"").exit_code == 2
    assert all_tickets(app, shops.fr) == []


def test_the_command_exits_75_so_that_the_mta_retries_a_failure(app, shops, monkeypatch):
    _number, _id, address = open_ticket(app, shops.fr)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(inbound.tickets, "customer_reply", broken)
    done = cli(app, mail(address))
    assert done.exit_code == inbound.EX_TEMPFAIL


def test_the_command_is_comptoir_support_inbound(app, shops):
    _number, _id, address = open_ticket(app, shops.fr)
    done = app.test_cli_runner().invoke(args=["support", "inbound"], input=mail(address))
    assert done.exit_code == 0, done.output


# --- quoted text ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kept"), [
    ("Yes.\n\nOn Tue, 4 Mar 2026, Desk <d@x.example> wrote:\n> Which model?", "Yes."),
    ("Oui.\n\nLe mar. 4 mars 2026 à 10:00, Desk <d@x.example> a écrit :\n> Quel modèle ?",
     "Oui."),
    ("Ja.\n\nAm 04.03.2026 um 10:00 schrieb Desk <d@x.example>:\n> Welches?", "Ja."),
    ("Yes.\n-----Original Message-----\nFrom: Desk", "Yes."),
    ("> quoted\nMine.\n> quoted again\nAnd mine.", "Mine.\nAnd mine."),
    ("> only a quote", "> only a quote"),
    ("On second thought, the T-200.", "On second thought, the T-200."),
])
def test_the_quoted_conversation_is_dropped(text, kept):
    assert inbound.strip_quoted(text) == kept
