"""The mail a ticket sends: acknowledgement and answers to the customer, warnings to the
desk before a promise runs out, each once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from comptoir.core.db import db
from comptoir.toolkit import tenant_by_id
from plugins.support import notices, tickets
from plugins.support.files import Upload
from plugins.support.models import OPEN
from tests.conftest import as_tenant
from tests.support.conftest import INBOUND, make_customer, set_support_settings


def _info(app, shop):
    with app.app_context():
        return tenant_by_id(shop.id)


def _open(app, shop, **fields):
    values = {"email": "lea@example.fr", "name": "Léa Martin", "subject": "Toner?",
              "body": "Which toner fits?", "source": "account", "locale": "en"}
    with as_tenant(app, shop):
        return tickets.open_ticket(_info(app, shop), **{**values, **fields}).number


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_an_answer_reaches_the_customer_without_the_notes_and_comes_back_to_the_ticket(
        app, shops):
    lea = make_customer(app, shops.fr, "lea@example.fr")
    number = _open(app, shops.fr, user_id=lea)
    fr = _info(app, shops.fr)
    with as_tenant(app, shops.fr):
        ticket = tickets.get(number)
        tickets.add_note(fr, ticket, "SECRET: margin is thin", actor="desk")
        tickets.staff_reply(fr, ticket, "Toner T-100 fits.", actor="desk")
        reply_to = tickets.reply_address(fr, ticket)
    acknowledgement, answer = shops.smtp.messages
    assert "SECRET" not in _body(acknowledgement) + _body(answer)
    assert "Toner T-100 fits." in _body(answer)
    assert answer["Reply-To"] == reply_to
    # An account holder is given the ticket's page; the link opens it for them.
    assert f"/support/tickets/{number}" in _body(answer)


def test_a_guest_follows_the_request_through_a_signed_link_bound_to_the_shop(app, shops):
    number = _open(app, shops.fr, email="guest@example.org")
    fr = _info(app, shops.fr)
    with as_tenant(app, shops.fr):
        ticket = tickets.get(number)
        tickets.staff_reply(fr, ticket, "Here is the manual.", actor="desk",
                            uploads=[Upload("manual.pdf", "application/pdf", b"%PDF-1.4 m")])
    acknowledgement, answer = shops.smtp.messages
    link = re.search(r"http://\S+/support/r/\S+", _body(acknowledgement)).group(0)
    assert link in _body(answer)
    path = link.removeprefix("http://localhost")
    guest = app.test_client()
    page = guest.get(path).get_data(as_text=True)
    assert "Here is the manual." in page
    download = re.search(r'href="(/s/fr/support/r/[^"]+/files/\d+)"', page).group(1)
    assert guest.get(download).data == b"%PDF-1.4 m"
    # The guest adds a message from the page: the request waits for the desk again.
    assert guest.post(path, data={"message": "Thanks, and the drum?"}).status_code == 303
    with as_tenant(app, shops.fr):
        assert tickets.get(number).status == OPEN
    # Another shop, or a tampered token, opens nothing.
    assert guest.get(path.replace("/s/fr/", "/s/de/")).status_code == 404
    assert guest.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404


def test_the_desk_is_warned_once_before_a_promise_runs_out(app, shops):
    make_customer(app, shops.fr, "desk@comptoir-france.example", role="staff")
    soon, later, assigned = (_open(app, shops.fr, subject=s) for s in ("soon", "later", "mine"))
    _open(app, shops.de, subject="de")
    fr = _info(app, shops.fr)
    with as_tenant(app, shops.fr):
        now = datetime.now(UTC)
        tickets.get(soon).due_at = now + timedelta(minutes=30)
        tickets.get(assigned).due_at = now + timedelta(minutes=20)
        db.session.commit()
        tickets.assign(fr, tickets.get(assigned), "desk@comptoir-france.example",
                       actor="lead")
    before = len(shops.smtp.messages)
    with app.app_context():
        assert notices.warn_due() == 2
        assert notices.warn_due() == 0  # once per wait
    warnings = shops.smtp.messages[before:]
    # The assigned ticket to its assignee, the other to the shop's staff (never INBOUND).
    assert sorted(m["To"] for m in warnings) == ["desk@comptoir-france.example"] * 2
    assert INBOUND not in {m["To"] for m in warnings}
    assert any(f"#{soon}" in m["Subject"] for m in warnings)
    assert not any(f"#{later}" in m["Subject"] for m in warnings)
    assert sorted(n for m in warnings for n in (assigned, soon)
                  if f"/staff/support/{n}" in _body(m)) == sorted([assigned, soon])


def test_no_warning_when_the_shop_turned_them_off(app, shops):
    number = _open(app, shops.fr)
    set_support_settings(app, shops.fr, warn_hours=0)
    with as_tenant(app, shops.fr):
        tickets.get(number).due_at = datetime.now(UTC) + timedelta(minutes=5)
        db.session.commit()
    with app.app_context():
        assert notices.warn_due() == 0


def test_a_warning_goes_to_the_staff_and_never_comes_back_as_a_ticket(app, shops):
    # The desk's address is piped into `comptoir support inbound` (docs/support.md): a
    # warning mailed there became a new ticket "to review", itself warned about one promise
    # later, and so on. Unassigned tickets are announced to the shop's staff instead.
    from sqlalchemy import func, select

    from plugins.support import inbound
    from plugins.support.models import Ticket

    make_customer(app, shops.fr, "desk@comptoir-france.example", role="staff")
    make_customer(app, shops.fr, "boss@comptoir-france.example", role="tenant_admin")
    make_customer(app, shops.fr, "lea@example.fr")  # a customer is never warned
    make_customer(app, shops.de, "hilfe@comptoir-deutschland.example", role="staff")
    number = _open(app, shops.fr, subject="soon")
    with as_tenant(app, shops.fr):
        tickets.get(number).due_at = datetime.now(UTC) + timedelta(minutes=30)
        db.session.commit()
    before = len(shops.smtp.messages)
    with app.app_context():
        assert notices.warn_due() == 1
    [warning] = shops.smtp.messages[before:]
    assert sorted(a.addr_spec for a in warning["To"].addresses) == [
        "boss@comptoir-france.example", "desk@comptoir-france.example"]
    assert warning["Auto-Submitted"] == "auto-generated"  # no out-of-office answers
    with app.app_context():
        assert inbound.process(warning.as_bytes()).outcome == inbound.NO_TENANT
    with as_tenant(app, shops.fr):
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
