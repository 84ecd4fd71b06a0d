"""The help desk's pages, through the test client: the queue against the promise, a ticket's
answers (from templates), notes, assignment and status, templates and FAQ (an office's
read-only to its resellers), the report, and everything known of one customer, with the
German shop and the French one seeing nothing of each other."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import g
from flask_babel import force_locale, format_datetime
from markupsafe import escape
from sqlalchemy import func, select

from comptoir.callbacks import service as callbacks
from comptoir.core.db import db
from comptoir.core.i18n import percent
from comptoir.orders.models import Order, ReturnRequest
from comptoir.toolkit import request_callback, tenant_by_id
from plugins.support import tickets
from plugins.support.files import Upload
from plugins.support.models import (
    Attachment,
    FaqEntry,
    ReplyTemplate,
    Survey,
    TicketMessage,
)
from plugins.support.staff_views import translations
from tests.conftest import as_tenant
from tests.support.conftest import login, make_customer, make_order, set_support_settings

AGENT, OTHER, LEA = "agent@example.fr", "marc@example.fr", "lea@example.fr"
PDF = b"%PDF-1.4\n% a tiny document\n"


def say(app: Any, msgid: str, **params: Any) -> str:
    """``msgid`` as an English page of the plugin shows it (HTML-escaped)."""
    with app.test_request_context(), force_locale("en"):
        return str(escape(translations.gettext(msgid, **params)))


def english(app: Any) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def staff(app: Any, shop: Any, email: str = AGENT, name: str = "Ana Agent") -> Any:
    """A logged-in, English-speaking staff member's client."""
    make_customer(app, shop, email, name, role="staff")
    client = english(app)
    login(client, shop, email)
    return client


def customer(app: Any, shop: Any, email: str = LEA) -> Any:
    make_customer(app, shop, email)
    client = english(app)
    login(client, shop, email)
    return client


def open_ticket(app: Any, shop: Any, **fields: Any) -> int:
    values = {"email": LEA, "name": "Léa Martin", "subject": "Toner?",
              "body": "Which toner fits my printer?", "source": "account", "locale": "en",
              **fields}
    with as_tenant(app, shop):
        return tickets.open_ticket(tenant_by_id(shop.id), **values).number


def change(app: Any, shop: Any, number: int, **fields: Any) -> None:
    """Set a ticket's fields as if time had passed (its deadline...)."""
    with as_tenant(app, shop):
        ticket = tickets.get(number)
        for name, value in fields.items():
            setattr(ticket, name, value)
        db.session.commit()


def read(app: Any, shop: Any, number: int) -> dict[str, Any]:
    with as_tenant(app, shop):
        ticket = tickets.get(number)
        return {"status": ticket.status, "assignee": ticket.assignee,
                "needs_review": ticket.needs_review, "due_at": ticket.due_at,
                "kinds": [m.kind for m in ticket.messages],
                "bodies": [m.body for m in ticket.messages]}


def count(app: Any, shop: Any, model: Any) -> int:
    with as_tenant(app, shop):
        return db.session.scalar(select(func.count()).select_from(model))


def page(client: Any, shop: Any, path: str = "", **kwargs: Any) -> tuple[int, str]:
    response = client.get(f"/s/{shop.slug}/staff/support{path}", **kwargs)
    return response.status_code, response.get_data(as_text=True)


def post(client: Any, shop: Any, path: str, data: dict[str, Any] | None = None,
         **kwargs: Any) -> tuple[int, str, str]:
    response = client.post(f"/s/{shop.slug}/staff/support{path}", data=data or {}, **kwargs)
    return response.status_code, response.get_data(as_text=True), response.headers.get(
        "Location", "")


def queued(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="ticket-\d+" data-number="(\d+)"', html)]


def mails_to(shops: Any, address: str) -> list[Any]:
    return [m for m in shops.smtp.messages if address in str(m["To"])]


def text_of(message: Any) -> str:
    return message.get_body(("plain",)).get_content()


# --- access --------------------------------------------------------------------------------


def test_a_visitor_is_sent_to_log_in_and_a_customer_is_refused(app, shops):
    number = open_ticket(app, shops.fr)
    visitor = english(app)
    response = visitor.get("/s/fr/staff/support/")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    client = customer(app, shops.fr)
    for path in ("/", f"/{number}", "/templates", "/faq", "/report",
                 f"/customers?email={LEA}"):
        assert page(client, shops.fr, path)[0] == 403, path
    status, _html, _where = post(client, shops.fr, f"/{number}/reply", {"body": "Hi"})
    assert status == 403
    assert read(app, shops.fr, number)["kinds"] == ["customer"]


# --- the queue -----------------------------------------------------------------------------


def test_the_queue_puts_tickets_to_review_first_then_the_soonest_due_with_badges(app, shops):
    now = datetime.now(UTC)
    relaxed = open_ticket(app, shops.fr, subject="Relaxed")
    late = open_ticket(app, shops.fr, subject="Late")
    soon = open_ticket(app, shops.fr, subject="Soon")
    review = open_ticket(app, shops.fr, subject="Unmatched e-mail", needs_review=True)
    answered = open_ticket(app, shops.fr, subject="Answered")
    change(app, shops.fr, relaxed, due_at=now + timedelta(days=60))
    change(app, shops.fr, late, due_at=now - timedelta(hours=3))
    change(app, shops.fr, soon, due_at=now + timedelta(minutes=50))
    change(app, shops.fr, review, due_at=now + timedelta(days=90))
    change(app, shops.fr, answered, status="pending", due_at=None)
    client = staff(app, shops.fr)

    status, html = page(client, shops.fr, "/")
    assert status == 200
    assert queued(html) == [review, late, soon, relaxed]
    rows = dict(re.findall(r'data-number="(\d+)" data-state="(\w*)"', html))
    assert rows == {str(review): "ok", str(late): "breached", str(soon): "warning",
                    str(relaxed): "ok"}
    row = html[html.index(f'id="ticket-{late}"'):]
    row = row[:row.index("</tr>")]
    assert say(app, "late") in row and "late by" in row
    row = html[html.index(f'id="ticket-{soon}"'):]
    row = row[:row.index("</tr>")]
    assert say(app, "due soon") in row and "of business time left" in row
    assert "minutes" in row or "hour" in row
    row = html[html.index(f'id="ticket-{review}"'):]
    assert say(app, "to review") in row[:row.index("</tr>")]

    status, html = page(client, shops.fr, "/?status=pending")
    assert queued(html) == [answered]
    status, html = page(client, shops.fr, "/?status=all&q=Soon")
    assert queued(html) == [soon]


def test_due_times_are_written_in_the_shops_language_and_time_zone(app, shops):
    from comptoir.tenants import service
    from comptoir.tenants.models import Tenant

    with app.app_context():
        service.update_shop_settings(db.session.get(Tenant, shops.fr.id),
                                     {"timezone": "Europe/Paris"}, "test")
        db.session.commit()
    number = open_ticket(app, shops.fr)
    due = datetime(2031, 3, 4, 15, 30, tzinfo=UTC)
    change(app, shops.fr, number, due_at=due)
    client = staff(app, shops.fr)
    with app.test_request_context(), force_locale("fr_FR"):
        g.tenant = tenant_by_id(shops.fr.id)
        french = format_datetime(due, "short")
    with app.test_request_context(), force_locale("en"):
        g.tenant = tenant_by_id(shops.fr.id)
        english_due = format_datetime(due, "short")
    assert "16:30" in french  # Paris, not UTC
    html = page(client, shops.fr, "/", headers={"Accept-Language": "fr"})[1]
    assert str(escape(french)) in html
    assert str(escape(english_due)) in page(client, shops.fr, "/")[1]


def test_an_empty_queue_says_so(app, shops):
    client = staff(app, shops.fr)
    status, html = page(client, shops.fr, "/")
    assert status == 200 and 'id="queue-empty"' in html
    assert say(app, "No ticket is waiting for the help desk: every customer has had an "
                    "answer.") in html
    html = page(client, shops.fr, "/?q=nothing")[1]
    assert say(app, "No ticket matches these filters.") in html


def test_unusable_business_hours_are_named_in_a_banner(app, shops):
    open_ticket(app, shops.fr)
    set_support_settings(app, shops.fr, opens_at="18:00", closes_at="09:00")
    client = staff(app, shops.fr)
    status, html = page(client, shops.fr, "/")
    assert status == 200 and 'id="schedule-problem"' in html
    banner = html[html.index('id="schedule-problem"'):]
    assert "closes_at" in banner[:banner.index("</p>")]
    assert len(queued(html)) == 1  # the queue still works, the clock counting every hour


# --- a ticket ------------------------------------------------------------------------------


def _template(client: Any, shop: Any, name: str, body: str, locale: str = "en") -> None:
    status, html, _where = post(client, shop, "/templates/new",
                                {"name": name, "locale": locale, "body": body})
    assert status == 303, html


def _template_id(app: Any, shop: Any, name: str) -> int:
    with as_tenant(app, shop):
        return db.session.scalars(select(ReplyTemplate.id).where(
            ReplyTemplate.name == name)).one()


def test_an_answer_from_a_template_fills_the_ticket_values_and_mails_the_customer(app, shops):
    user = make_customer(app, shops.fr, LEA)
    order = make_order(app, shops.fr, user)
    number = open_ticket(app, shops.fr, source="order", user_id=user, order_number=order,
                         product_sku="PRINTER")
    client = staff(app, shops.fr)
    _template(client, shops.fr, "Bonjour", "Bonjour {{ customer.name }}", locale="fr_FR")
    _template(client, shops.fr, "Order news",
              "Hello {{ customer.name }}, your order {{ order.number }} is "
              "{{ order.status }}; the {{ product.name }} ({{ product.sku }}) is in stock. "
              "Ticket {{ ticket.number }}: {{ ticket.subject }}. {{ agent.name }}, "
              "{{ shop.name }}")
    chosen = _template_id(app, shops.fr, "Order news")
    expected = (f"Hello Léa Martin, your order {order} is placed; the Imprimante laser "
                f"couleur (PRINTER) is in stock. Ticket {number}: Toner?. Ana Agent, "
                "Comptoir France")

    status, html = page(client, shops.fr, f"/{number}")
    options = re.findall(r'<option value="(\d+)"', html[html.index('id="template"'):])
    assert options[0] == str(chosen)  # the ticket's language first
    status, html = page(client, shops.fr, f"/{number}?template={chosen}")
    assert status == 200
    box = html[html.index('id="reply-body"'):]
    assert str(escape(expected)) in box[:box.index("</textarea>")]
    response = client.get(f"/s/fr/staff/support/{number}/templates/{chosen}.json")
    assert response.get_json() == {"body": expected}

    before = len(mails_to(shops, LEA))
    status, _html, where = post(client, shops.fr, f"/{number}/reply", {"body": expected})
    assert status == 303 and where.endswith(f"/staff/support/{number}")
    [answer] = mails_to(shops, LEA)[before:]
    assert f"#{number}" in answer["Subject"] and expected in text_of(answer)
    assert answer["Reply-To"].startswith("support+")
    state = read(app, shops.fr, number)
    assert state["status"] == "pending" and state["kinds"] == ["customer", "staff"]


def test_reply_and_close_closes_the_ticket(app, shops):
    number = open_ticket(app, shops.fr)
    client = staff(app, shops.fr)
    status, _html, _where = post(client, shops.fr, f"/{number}/reply",
                                 {"body": "Toner TN-241.", "action": "close"})
    assert status == 303
    assert read(app, shops.fr, number)["status"] == "closed"


def test_an_internal_note_stays_with_the_desk(app, shops):
    user = make_customer(app, shops.fr, LEA)
    number = open_ticket(app, shops.fr, user_id=user)
    client = staff(app, shops.fr)
    secret = "Customer sounds upset: offer the delivery."
    status, _html, _where = post(client, shops.fr, f"/{number}/note", {"body": secret})
    assert status == 303
    post(client, shops.fr, f"/{number}/reply", {"body": "The TN-241 toner fits."})

    html = page(client, shops.fr, f"/{number}")[1]
    note = html[html.index('data-kind="note"'):]
    assert str(escape(secret)) in note[:note.index("</article>")]
    assert 'class="sd-message sd-message-note"' in html
    mails = mails_to(shops, LEA)
    assert any("TN-241" in text_of(m) for m in mails)
    assert not any("upset" in text_of(m) for m in mails)
    lea = english(app)
    login(lea, shops.fr, LEA)
    mine = lea.get(f"/s/fr/support/tickets/{number}").get_data(as_text=True)
    assert "TN-241" in mine and "upset" not in mine


def test_a_bad_answer_is_refused_with_its_reason_and_nothing_changes(app, shops):
    number = open_ticket(app, shops.fr)
    client = staff(app, shops.fr)
    before = len(shops.smtp.messages)
    status, html, _where = post(client, shops.fr, f"/{number}/reply", {"body": "   "})
    assert status == 400 and 'id="support-error"' in html
    assert say(app, "Message: write what you would like to ask or say.") in html
    status, html, _where = post(
        client, shops.fr, f"/{number}/reply",
        {"body": "See the file.", "attachments": (io.BytesIO(b"MZ\x90\x00"), "setup.exe")},
        content_type="multipart/form-data")
    assert status == 400 and "setup.exe" in html
    assert "See the file." in html  # what was typed is kept
    status, html, _where = post(client, shops.fr, f"/{number}/status", {"status": "lost"})
    assert status == 400
    state = read(app, shops.fr, number)
    assert state["kinds"] == ["customer"] and state["status"] == "open"
    assert len(shops.smtp.messages) == before


def test_assigning_to_me_to_a_colleague_or_to_nobody(app, shops):
    number = open_ticket(app, shops.fr)
    other = open_ticket(app, shops.fr, subject="Other")
    make_customer(app, shops.fr, OTHER, "Marc Martin", role="staff")
    make_customer(app, shops.de, "hans@example.de", "Hans", role="staff")
    client = staff(app, shops.fr)

    assert post(client, shops.fr, f"/{number}/assign", {"assignee": "me"})[0] == 303
    assert read(app, shops.fr, number)["assignee"] == AGENT
    assert queued(page(client, shops.fr, "/?assignee=mine")[1]) == [number]
    assert queued(page(client, shops.fr, "/?assignee=unassigned")[1]) == [other]
    html = page(client, shops.fr, "/")[1]
    row = html[html.index(f'id="ticket-{number}"'):]
    assert "Ana Agent" in row[:row.index("</tr>")]

    assert post(client, shops.fr, f"/{number}/assign", {"assignee": OTHER})[0] == 303
    assert read(app, shops.fr, number)["assignee"] == OTHER
    for outsider in ("hans@example.de", LEA):  # another shop's staff, a customer
        status, html, _where = post(client, shops.fr, f"/{number}/assign",
                                    {"assignee": outsider})
        assert status == 400 and outsider in html
        assert read(app, shops.fr, number)["assignee"] == OTHER
    assert post(client, shops.fr, f"/{number}/assign", {"assignee": ""})[0] == 303
    state = read(app, shops.fr, number)
    assert state["assignee"] == "" and state["kinds"].count("system") == 3


def test_status_changes_and_marking_reviewed(app, shops):
    number = open_ticket(app, shops.fr, needs_review=True)
    client = staff(app, shops.fr)
    html = page(client, shops.fr, f"/{number}")[1]
    assert 'id="review-form"' in html
    assert post(client, shops.fr, f"/{number}/reviewed")[0] == 303
    assert read(app, shops.fr, number)["needs_review"] is False
    assert 'id="review-form"' not in page(client, shops.fr, f"/{number}")[1]
    assert post(client, shops.fr, f"/{number}/status", {"status": "closed"})[0] == 303
    state = read(app, shops.fr, number)
    assert state["status"] == "closed" and state["due_at"] is None
    assert post(client, shops.fr, f"/{number}/status", {"status": "open"})[0] == 303
    state = read(app, shops.fr, number)
    assert state["status"] == "open" and state["due_at"] is not None


def test_files_are_downloads_never_pages(app, shops):
    number = open_ticket(app, shops.fr, uploads=[Upload("invoice.pdf", "application/pdf",
                                                        PDF)])
    with as_tenant(app, shops.fr):
        file_id = db.session.scalars(select(func.max(Attachment.id))).one()
    client = staff(app, shops.fr)
    html = page(client, shops.fr, f"/{number}")[1]
    assert f"/staff/support/{number}/files/{file_id}" in html
    response = client.get(f"/s/fr/staff/support/{number}/files/{file_id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    other = open_ticket(app, shops.fr, subject="Other")
    assert client.get(f"/s/fr/staff/support/{other}/files/{file_id}").status_code == 404


def test_the_ticket_page_links_the_customer_the_order_and_the_product(app, shops):
    user = make_customer(app, shops.fr, LEA)
    order = make_order(app, shops.fr, user)
    number = open_ticket(app, shops.fr, source="order", user_id=user, order_number=order,
                         product_sku="PRINTER")
    client = staff(app, shops.fr)
    html = page(client, shops.fr, f"/{number}")[1]
    assert f'href="/s/fr/staff/orders/{order}"' in html
    assert 'href="/s/fr/products/PRINTER"' in html
    assert f"/s/fr/staff/support/customers?email={LEA}" in html


# --- tenants -------------------------------------------------------------------------------


def test_each_shop_sees_its_own_ticket_1_and_nothing_of_the_others(app, shops):
    assert open_ticket(app, shops.fr, subject="French toner") == 1
    assert open_ticket(app, shops.fr, subject="French paper") == 2
    assert open_ticket(app, shops.de, subject="Deutscher Toner") == 1
    french, german = staff(app, shops.fr), staff(app, shops.de, "hans@example.de", "Hans")

    status, html = page(german, shops.de, "/1")
    assert status == 200 and "Deutscher Toner" in html and "French" not in html
    assert page(german, shops.de, "/2")[0] == 404
    assert "French" not in page(german, shops.de, "/?status=all")[1]
    for path in ("/2/reply", "/2/note", "/2/assign", "/2/status", "/2/reviewed"):
        assert post(german, shops.de, path, {"body": "x", "status": "closed"})[0] == 404
    status, html = page(french, shops.fr, "/1")
    assert status == 200 and "French toner" in html and "Deutscher" not in html
    assert read(app, shops.fr, 2)["kinds"] == ["customer"]
    # French staff have no account in the German shop at all.
    assert french.get("/s/de/staff/support/1").status_code in (302, 303, 403)


# --- templates and FAQ ---------------------------------------------------------------------


def test_a_template_with_an_unknown_placeholder_is_refused_naming_it(app, shops):
    client = staff(app, shops.fr)
    status, html, _where = post(client, shops.fr, "/templates/new",
                                {"name": "Oops", "locale": "en",
                                 "body": "Hello {{ custmer.name }}"})
    assert status == 400 and "custmer.name" in html and 'id="error-body"' in html
    assert "Hello {{ custmer.name }}" in html  # the text is kept to be corrected
    assert count(app, shops.fr, ReplyTemplate) == 0
    status, html, _where = post(client, shops.fr, "/templates/new",
                                {"name": "Oops", "locale": "it", "body": "Hello"})
    assert status == 400 and count(app, shops.fr, ReplyTemplate) == 0


def test_templates_are_edited_and_deleted(app, shops):
    client = staff(app, shops.fr)
    _template(client, shops.fr, "Toner", "Hello {{ customer.name }}")
    template_id = _template_id(app, shops.fr, "Toner")
    status, html = page(client, shops.fr, "/templates")
    assert status == 200 and "Toner" in html
    status, _html, _where = post(client, shops.fr, f"/templates/{template_id}/edit",
                                 {"name": "Toner", "locale": "en", "body": "Hi {{ shop.name }}"})
    assert status == 303
    status, html, _where = post(client, shops.fr, f"/templates/{template_id}/edit",
                                {"name": "Toner", "locale": "en", "body": "{{ shop.nme }}"})
    assert status == 400 and "shop.nme" in html
    with as_tenant(app, shops.fr):
        assert db.session.get(ReplyTemplate, template_id).body == "Hi {{ shop.name }}"
    assert post(client, shops.fr, f"/templates/{template_id}/delete")[0] == 303
    assert count(app, shops.fr, ReplyTemplate) == 0


def test_a_reseller_reads_its_offices_templates_and_faq_but_cannot_change_them(app, shops):
    office = staff(app, shops.fr)
    _template(office, shops.fr, "Office answer", "Hello from the office")
    status, _html, _where = post(office, shops.fr, "/faq/new", {
        "locale": "en", "question": "How do I change the toner?", "answer": "Open the lid.",
        "keywords": "toner", "position": "1", "published": "yes"})
    assert status == 303
    template_id = _template_id(app, shops.fr, "Office answer")
    with as_tenant(app, shops.fr):
        entry_id = db.session.scalars(select(FaqEntry.id)).one()

    reseller = staff(app, shops.acme, "desk@acme.example", "Acme Desk")
    html = page(reseller, shops.acme, "/templates")[1]
    inherited = html[html.index('id="inherited-templates"'):]
    assert "Office answer" in inherited and say(app, "from %(office)s",
                                                office="Comptoir France") in inherited
    assert f"/templates/{template_id}/edit" not in html
    html = page(reseller, shops.acme, "/faq")[1]
    assert "How do I change the toner?" in html[html.index('id="inherited-faq"'):]
    assert f"/faq/{entry_id}/edit" not in html

    assert page(reseller, shops.acme, f"/templates/{template_id}/edit")[0] == 403
    assert post(reseller, shops.acme, f"/templates/{template_id}/edit",
                {"name": "Mine now", "locale": "en", "body": "x"})[0] == 403
    assert post(reseller, shops.acme, f"/templates/{template_id}/delete")[0] == 403
    assert page(reseller, shops.acme, f"/faq/{entry_id}/edit")[0] == 403
    assert post(reseller, shops.acme, f"/faq/{entry_id}/edit", {
        "locale": "en", "question": "Changed", "answer": "x", "position": "0"})[0] == 403
    assert post(reseller, shops.acme, f"/faq/{entry_id}/delete")[0] == 403
    with as_tenant(app, shops.fr):
        assert db.session.get(ReplyTemplate, template_id).name == "Office answer"
        assert db.session.get(FaqEntry, entry_id).question == "How do I change the toner?"

    # The reseller adds its own, which its office does not see.
    _template(reseller, shops.acme, "Acme answer", "Hello from ACME")
    assert post(reseller, shops.acme, "/faq/new", {
        "locale": "en", "question": "Where is ACME?", "answer": "Lyon.", "position": "0",
        "published": "yes"})[0] == 303
    assert "Acme answer" in page(reseller, shops.acme, "/templates")[1]
    assert "Acme answer" not in page(office, shops.fr, "/templates")[1]
    assert "Where is ACME?" not in page(office, shops.fr, "/faq")[1]

    # Another office sees nothing of them: a 404, as if they did not exist.
    german = staff(app, shops.de, "hans@example.de", "Hans")
    assert page(german, shops.de, f"/templates/{template_id}/edit")[0] == 404
    assert post(german, shops.de, f"/faq/{entry_id}/delete")[0] == 404
    assert "Office answer" not in page(german, shops.de, "/templates")[1]
    assert "toner" not in page(german, shops.de, "/faq")[1]


def test_faq_entries_are_checked_saved_and_deleted(app, shops):
    client = staff(app, shops.fr)
    status, html, _where = post(client, shops.fr, "/faq/new", {
        "locale": "en", "question": "", "answer": "Open the lid.", "position": "1"})
    assert status == 400 and 'id="error-question"' in html
    status, html, _where = post(client, shops.fr, "/faq/new", {
        "locale": "en", "question": "Toner?", "answer": "Open the lid.", "position": "first"})
    assert status == 400 and 'id="error-position"' in html
    assert count(app, shops.fr, FaqEntry) == 0
    assert post(client, shops.fr, "/faq/new", {
        "locale": "en", "question": "Toner?", "answer": "Open the lid.", "position": "2",
        "keywords": "cartridge"})[0] == 303
    with as_tenant(app, shops.fr):
        entry = db.session.scalars(select(FaqEntry)).one()
        entry_id, published = entry.id, entry.published
    assert published is False  # the box was not ticked
    assert post(client, shops.fr, f"/faq/{entry_id}/edit", {
        "locale": "en", "question": "Which toner?", "answer": "TN-241.", "position": "2",
        "published": "yes"})[0] == 303
    with as_tenant(app, shops.fr):
        entry = db.session.get(FaqEntry, entry_id)
        assert (entry.question, entry.published) == ("Which toner?", True)
    assert post(client, shops.fr, f"/faq/{entry_id}/delete")[0] == 303
    assert count(app, shops.fr, FaqEntry) == 0


# --- the report ----------------------------------------------------------------------------


def test_the_report_counts_answers_in_time_and_late(app, shops):
    in_time = open_ticket(app, shops.fr, subject="Quick")
    late = open_ticket(app, shops.fr, subject="Slow")
    waiting = open_ticket(app, shops.fr, subject="Waiting")
    change(app, shops.fr, late, due_at=datetime.now(UTC) - timedelta(hours=2))
    change(app, shops.fr, waiting, due_at=datetime.now(UTC) - timedelta(hours=1))
    client = staff(app, shops.fr)
    assert post(client, shops.fr, f"/{in_time}/reply", {"body": "Here you are."})[0] == 303
    assert post(client, shops.fr, f"/{late}/reply", {"body": "Sorry for the wait."})[0] == 303
    with as_tenant(app, shops.fr):
        assert sorted(db.session.scalars(select(TicketMessage.in_time).where(
            TicketMessage.kind == "staff"))) == [False, True]

    status, html = page(client, shops.fr, "/report?days=30")
    assert status == 200
    values = dict(re.findall(r'data-value="(\w+)">(?:<a [^>]*>)?([^<]*)<', html))
    with app.test_request_context(), force_locale("en"):
        half = percent(Decimal("0.5"))
    assert values == {"answered": "2", "in_time": "1", "share": str(escape(half)),
                      "open": "1", "breached_open": "1"}
    assert 'id="report-weeks"' in html
    html = page(client, shops.fr, "/report?days=30", headers={"Accept-Language": "fr"})[1]
    with app.test_request_context(), force_locale("fr_FR"):
        assert str(escape(percent(Decimal("0.5")))) in html
    # The German shop's report counts nothing of the French one's.
    german = staff(app, shops.de, "hans@example.de", "Hans")
    html = page(german, shops.de, "/report")[1]
    assert dict(re.findall(r'data-value="(\w+)">(?:<a [^>]*>)?([^<]*)<', html))[
        "answered"] == "0"


# --- one customer --------------------------------------------------------------------------


def _customer_history(app: Any, shop: Any, email: str) -> tuple[int, int]:
    """A customer of ``shop`` with an order, a return, a callback with its outcome, an
    answered survey and a ticket; returns (order number, ticket number)."""
    user = make_customer(app, shop, email, "Paul Durand")
    order = make_order(app, shop, user, email=email, status="delivered")
    with as_tenant(app, shop):
        found = db.session.scalars(select(Order).where(Order.number == order)).one()
        db.session.add(ReturnRequest(order_id=found.id, status="requested",
                                     reason="Too noisy"))
        db.session.add(Survey(order_id=found.id, order_number=order, user_id=user,
                              email=email, locale="en", score=2, comment="Slow delivery",
                              answered_at=datetime.now(UTC)))
        db.session.commit()
        task = request_callback(user_id=user, name="Paul Durand", email=email,
                                phone="+33 1 23 45 67 89", reason="browse_abandonment",
                                about=[{"sku": "PRINTER", "name": "Imprimante"}])
        callbacks.record_outcome(task, "Wanted a colour printer; will order Monday.",
                                 "desk@acme.example")
    number = open_ticket(app, shop, email=email, name="Paul Durand", user_id=user,
                         subject="Noisy printer")
    return order, number


def test_a_reseller_sees_its_customers_tickets_returns_callbacks_and_surveys(app, shops):
    order, number = _customer_history(app, shops.acme, "paul@example.fr")
    reseller = staff(app, shops.acme, "desk@acme.example", "Acme Desk")
    status, html = page(reseller, shops.acme, "/customers?email=Paul@Example.fr")
    assert status == 200
    section = html[html.index('id="customer-tickets"'):]
    assert f'id="ticket-{number}"' in section and "Noisy printer" in section
    section = html[html.index('id="customer-orders"'):]
    assert f'id="order-{order}"' in section
    section = html[html.index('id="customer-returns"'):]
    assert "Too noisy" in section[:section.index("</section>")]
    section = html[html.index('id="customer-callbacks"'):]
    assert "Wanted a colour printer; will order Monday." in section[
        :section.index("</section>")]
    section = html[html.index('id="customer-surveys"'):]
    assert say(app, "%(score)s / 5", score=2) in section and "Slow delivery" in section

    # The office, and the German shop, know nothing of the reseller's customer.
    for shop, client in ((shops.fr, staff(app, shops.fr)),
                         (shops.de, staff(app, shops.de, "hans@example.de", "Hans"))):
        status, html = page(client, shop, "/customers?email=paul@example.fr")
        assert status == 200
        assert "Noisy printer" not in html and "Too noisy" not in html
        assert "colour printer" not in html and "Slow delivery" not in html


def test_the_customer_page_without_an_address_asks_for_one(app, shops):
    client = staff(app, shops.fr)
    status, html = page(client, shops.fr, "/customers")
    assert status == 200 and 'name="email"' in html and 'id="customer-tickets"' not in html
    status, html = page(client, shops.fr, "/customers?email=nobody@example.fr")
    assert status == 200 and say(app, "No ticket.") in html
    assert say(app, "No account in this shop with this address.") in html


def test_a_template_that_is_not_the_shops_cannot_be_used(app, shops):
    german = staff(app, shops.de, "hans@example.de", "Hans")
    _template(german, shops.de, "Hallo", "Hallo {{ customer.name }}", locale="de_DE")
    german_id = _template_id(app, shops.de, "Hallo")
    number = open_ticket(app, shops.fr)
    client = staff(app, shops.fr)
    for value in (str(german_id), "nonsense"):
        status, html = page(client, shops.fr, f"/{number}?template={value}")
        assert status == 400 and say(app, "Choose a template from the list.") in html
        assert "Hallo" not in html
    response = client.get(f"/s/fr/staff/support/{number}/templates/{german_id}.json")
    assert response.status_code == 400 and "body" not in response.get_json()
