"""Tickets' rules, whatever the door: numbering, the clock, answers measured, isolation,
bad input refused with nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.toolkit import tenant_by_id
from plugins.support import tickets
from plugins.support.files import Upload
from plugins.support.models import CLOSED, NOTE, OPEN, PENDING, SYSTEM, Ticket, TicketMessage
from tests.conftest import as_tenant
from tests.support.conftest import INBOUND, make_customer, make_order

PDF = b"%PDF-1.4\n% a tiny document\n"
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _open(app, shop, **fields):
    values = {"email": "lea@example.fr", "name": "Léa Martin", "subject": "Toner?",
              "body": "Which toner fits this printer?", "source": "account", "locale": "en"}
    with as_tenant(app, shop):
        ticket = tickets.open_ticket(tenant_by_id(shop.id), **{**values, **fields})
        return ticket.number


def _ticket(app, shop, number):
    with as_tenant(app, shop):
        ticket = tickets.get(number)
        if ticket is not None:
            db.session.expunge(ticket)
        return ticket


def _count(app, shop, model=Ticket) -> int:
    with as_tenant(app, shop):
        return db.session.scalar(select(func.count()).select_from(model))


def _info(app, shop):
    with app.app_context():
        return tenant_by_id(shop.id)


def test_numbers_are_per_shop_and_another_shop_sees_nothing(app, shops):
    assert _open(app, shops.fr) == 1
    assert _open(app, shops.fr) == 2
    assert _open(app, shops.de) == 1
    assert _ticket(app, shops.de, 1).subject == "Toner?"
    assert _count(app, shops.de) == 1 and _count(app, shops.fr) == 2
    assert _ticket(app, shops.acme, 1) is None  # the reseller's desk is its own


def test_a_new_ticket_waits_for_staff_and_the_customer_is_told_when_to_expect_an_answer(
        app, shops):
    number = _open(app, shops.fr, product_sku="PRINTER")
    ticket = _ticket(app, shops.fr, number)
    assert ticket.status == OPEN and ticket.due_at is not None
    assert ticket.product_name == "Imprimante laser couleur"
    [mail] = shops.smtp.messages
    assert mail["To"] == "lea@example.fr"
    assert f"#{number}" in mail["Subject"]
    assert mail["Reply-To"].startswith("support+") and mail["Reply-To"].endswith(
        "@comptoir-france.example")
    assert "48 business hours" in mail.get_body(("plain",)).get_content()


def test_bad_input_is_named_and_nothing_is_stored(app, shops):
    cases = [({"subject": ""}, "Subject"), ({"email": "not-an-address"}, "not-an-address"),
             ({"body": "  "}, "Message"), ({"subject": "two\nlines"}, "Subject"),
             ({"product_sku": "NOPE"}, "NOPE"), ({"order_number": 999}, "999"),
             ({"uploads": [Upload("setup.exe", "application/pdf", b"MZ\x90\x00")]},
              "setup.exe")]
    for fields, named in cases:
        with pytest.raises(tickets.TicketError, match=named):
            _open(app, shops.fr, **fields)
    assert _count(app, shops.fr) == 0
    assert shops.smtp.messages == []


def test_a_customer_asks_only_about_their_own_orders(app, shops):
    lea = make_customer(app, shops.fr, "lea@example.fr")
    other = make_customer(app, shops.fr, "paul@example.fr", name="Paul")
    mine = make_order(app, shops.fr, lea)
    theirs = make_order(app, shops.fr, other, "paul@example.fr")
    guest = make_order(app, shops.fr, None, "guest@example.fr")
    de_order = make_order(app, shops.de, None, "lea@example.fr")
    assert _ticket(app, shops.fr, _open(app, shops.fr, user_id=lea, order_number=mine)
                   ).order_number == mine
    for number, user, email in ((theirs, lea, "lea@example.fr"),
                                (guest, None, "lea@example.fr"),  # a guest order, other address
                                (de_order + 50, None, "lea@example.fr")):
        with pytest.raises(tickets.TicketError, match=f"Order {number} is not one of yours"):
            _open(app, shops.fr, user_id=user, email=email, order_number=number)
    # A guest may ask about their guest order from the order's address.
    assert _open(app, shops.fr, email="guest@example.fr", order_number=guest) == 2
    assert _count(app, shops.fr) == 2


def test_the_clock_runs_from_the_first_unanswered_message_and_answers_are_measured(
        app, shops):
    number = _open(app, shops.fr)
    fr = _info(app, shops.fr)
    with as_tenant(app, shops.fr):
        ticket = tickets.get(number)
        first_due = ticket.due_at
        tickets.customer_reply(fr, ticket, "Also: is it quiet?", author=ticket.email)
        assert ticket.due_at == first_due  # a second message does not push the deadline
        answer = tickets.staff_reply(fr, ticket, "Toner T-100; yes.", actor="desk@fr.example")
        assert answer.in_time is True and answer.answered_due_at is not None
        assert ticket.status == PENDING and ticket.due_at is None
        # The customer writes again: a new wait with a new deadline, which we miss.
        tickets.customer_reply(fr, ticket, "And the drum?", author=ticket.email)
        assert ticket.status == OPEN and ticket.due_at is not None
        ticket.due_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
        assert tickets.due_state(fr, ticket) == tickets.BREACHED
        late = tickets.staff_reply(fr, ticket, "Drum D-7.", actor="desk@fr.example",
                                   close=True)
        assert late.in_time is False and ticket.status == CLOSED
        report = tickets.report(fr, *EVER)
    assert (report.answered, report.in_time, report.share) == (2, 1, Decimal("0.500"))
    with as_tenant(app, shops.de):
        assert tickets.report(_info(app, shops.de), *EVER).answered == 0


def test_a_warning_comes_before_the_deadline(app, shops):
    number = _open(app, shops.fr)
    fr = _info(app, shops.fr)
    with as_tenant(app, shops.fr):
        ticket = tickets.get(number)
        due = ticket.due_at.replace(tzinfo=UTC) if ticket.due_at.tzinfo is None else (
            ticket.due_at)
        assert tickets.due_state(fr, ticket, now=due - timedelta(days=30)) == tickets.ON_TIME
        assert tickets.due_state(fr, ticket, now=due - timedelta(minutes=30)) == (
            tickets.WARNING)
        assert tickets.due_state(fr, ticket, now=due) == tickets.BREACHED


def test_the_same_email_lands_once(app, shops):
    number = _open(app, shops.fr)
    fr = _info(app, shops.fr)
    with as_tenant(app, shops.fr):
        ticket = tickets.get(number)
        first = tickets.customer_reply(fr, ticket, "Photo attached", author=ticket.email,
                                       via="email", email_message_id="<a1@mail.example>",
                                       uploads=[Upload("facture.pdf", "x/y", PDF)])
        again = tickets.customer_reply(fr, ticket, "Photo attached", author=ticket.email,
                                       via="email", email_message_id="<a1@mail.example>")
        assert first is not None and again is None
        [attachment] = first.attachments
        assert (attachment.filename, attachment.content_type) == ("facture.pdf",
                                                                   "application/pdf")
    assert _count(app, shops.fr, TicketMessage) == 2


def test_notes_stay_inside_and_assignment_is_to_this_shops_staff(app, shops):
    make_customer(app, shops.fr, "desk@comptoir-france.example", role="staff")
    make_customer(app, shops.de, "desk@comptoir.de", role="staff")
    number = _open(app, shops.fr)
    fr = _info(app, shops.fr)
    mails_before = len(shops.smtp.messages)
    with as_tenant(app, shops.fr):
        ticket = tickets.get(number)
        tickets.add_note(fr, ticket, "Customer called, wants a quiet one", actor="desk")
        with pytest.raises(tickets.TicketError, match="desk@comptoir.de"):
            tickets.assign(fr, ticket, "desk@comptoir.de", actor="desk")
        tickets.assign(fr, ticket, "desk@comptoir-france.example", actor="desk")
        kinds = [m.kind for m in ticket.messages]
        assert ticket.assignee == "desk@comptoir-france.example"
        assert ticket.status == OPEN  # a note is not an answer
    assert kinds == ["customer", NOTE, SYSTEM]
    assert len(shops.smtp.messages) == mails_before


def test_reply_addresses_are_signed_per_shop(app, shops):
    number = _open(app, shops.fr)
    fr, de = _info(app, shops.fr), _info(app, shops.de)
    with as_tenant(app, shops.fr):
        ticket = tickets.get(number)
        address = tickets.reply_address(fr, ticket)
        assert tickets.read_reply_address(fr, address) == ticket.id
        assert tickets.read_reply_address(fr, address.upper()) == ticket.id
        local, domain = address.split("@")
        forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"
        assert tickets.read_reply_address(fr, forged) is None
        other = address.replace(f"+{ticket.id}.", f"+{ticket.id + 1}.")
        assert tickets.read_reply_address(fr, other) is None
        assert tickets.read_reply_address(de, address) is None  # de has no inbound address
    assert address.startswith(INBOUND.split("@")[0] + "+")


def test_the_queue_puts_the_soonest_due_first_and_reviews_before_all(app, shops):
    for subject in ("first", "second", "third"):
        _open(app, shops.fr, subject=subject)
    fr = _info(app, shops.fr)
    with as_tenant(app, shops.fr):
        first, second, third = (tickets.get(n) for n in (1, 2, 3))
        first.due_at = datetime.now(UTC) + timedelta(days=3)
        second.due_at = datetime.now(UTC) + timedelta(days=1)
        db.session.commit()
        tickets.flag_for_review(third, "An e-mail matched no ticket")
        tickets.staff_reply(fr, third, "Done", actor="desk")
        assert [t.subject for t in tickets.queue()] == ["third", "second", "first"]
        tickets.mark_reviewed(fr, third, actor="desk")
        assert [t.subject for t in tickets.queue()] == ["second", "first"]
        assert [t.subject for t in tickets.queue(q="seco")] == ["second"]
        assert [t.subject for t in tickets.queue(status=PENDING)] == ["third"]
    with as_tenant(app, shops.de):
        assert tickets.queue() == []
