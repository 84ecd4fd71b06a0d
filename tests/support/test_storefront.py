"""The customer's side of the help desk, through the storefront: asking as a guest or from an
account, from a product or an order page, with files; following one's requests; and never
seeing another customer's or another shop's, nor the desk's internal notes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import g
from flask_babel import force_locale, format_datetime
from sqlalchemy import func, select

from comptoir.core.db import db
from comptoir.toolkit import Order, tenant_by_id
from plugins.support import tickets
from plugins.support.models import Attachment, Ticket
from plugins.support.views import translations
from tests.conftest import as_tenant
from tests.support.conftest import login, make_customer, set_support_settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LEA, BOB = "lea@example.fr", "bob@example.fr"


def say(app: Any, msgid: str, **params: Any) -> str:
    """``msgid`` as an English page of the plugin shows it (HTML-escaped)."""
    from markupsafe import escape

    with app.test_request_context(), force_locale("en"):
        return str(escape(translations.gettext(msgid, **params)))


def english(app: Any) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def customer(app: Any, shop: Any, email: str, name: str = "Léa Martin") -> Any:
    """A logged-in English-speaking customer's client."""
    make_customer(app, shop, email, name)
    client = english(app)
    login(client, shop, email)
    return client


def count(app: Any, shop: Any, model: Any = Ticket) -> int:
    with as_tenant(app, shop):
        return db.session.scalar(select(func.count()).select_from(model))


def ticket_of(app: Any, shop: Any, number: int) -> dict[str, Any]:
    with as_tenant(app, shop):
        found = tickets.get(number)
        return {"source": found.source, "user_id": found.user_id, "email": found.email,
                "product_sku": found.product_sku, "order_number": found.order_number,
                "subject": found.subject, "due_at": found.due_at,
                "files": [(a.filename, a.content_type) for m in found.messages
                          for a in m.attachments]}


def checkout(app: Any, shop: Any, client: Any, email: str) -> int:
    """The logged-in ``client`` buys the printer; returns the order's number."""
    assert client.post(f"/s/{shop.slug}/cart/add",
                       data={"sku": "PRINTER", "quantity": "1"}).status_code in (302, 303)
    response = client.post(f"/s/{shop.slug}/checkout", data={
        "billing_name": "Léa Martin", "billing_street": "12 rue de la République",
        "billing_postcode": "69002", "billing_city": "Lyon", "billing_country": "FR",
        "same_address": "yes", "shipping_method": "standard",
        "payment_method": "bank_transfer"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with as_tenant(app, shop):
        return db.session.scalars(select(Order.number).where(Order.email == email)).one()


def shown_due(app: Any, shop: Any, due: datetime) -> str:
    """The deadline as an English page of ``shop`` writes it (its time zone, Babel)."""
    with app.test_request_context(), force_locale("en"):
        g.tenant = tenant_by_id(shop.id)
        return format_datetime(due.replace(tzinfo=due.tzinfo or UTC), "medium")


def question(**fields: Any) -> dict[str, Any]:
    return {"subject": "Which toner fits?", "message": "My printer blinks red.",
            "action": "send", **fields}


# --- asking ----------------------------------------------------------------------------------


def test_a_guest_asks_and_gets_a_number_a_deadline_and_an_acknowledgement(app, shops):
    client = english(app)
    response = client.post("/s/fr/support/new", data=question(
        name="Paul Durand", email="Paul@Example.org"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/s/fr/support/thanks/1")
    stored = ticket_of(app, shops.fr, 1)
    assert stored["user_id"] is None and stored["email"] == "paul@example.org"
    assert stored["source"] == "web" and stored["subject"] == "Which toner fits?"
    page = client.get("/s/fr/support/thanks/1").get_data(as_text=True)
    assert say(app, "Your request number is %(number)s.", number=1) in page
    assert say(app, "The help desk answers by %(due)s at the latest.",
               due=shown_due(app, shops.fr, stored["due_at"])) in page
    # The acknowledgement reached the guest, with the number.
    [mail] = [m for m in shops.smtp.messages if m["To"] == "paul@example.org"]
    assert "[#1]" in mail["Subject"]
    # The receipt is this browser's only; the requests pages need an account.
    assert english(app).get("/s/fr/support/thanks/1").status_code == 404
    assert client.get("/s/fr/support/thanks/2").status_code == 404
    for path in ("/s/fr/support/tickets", "/s/fr/support/tickets/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/s/fr/login" in response.headers["Location"]


def test_a_guests_receipt_does_not_travel_to_another_shop(app, shops):
    client = english(app)
    assert client.post("/s/fr/support/new", data=question(
        email="paul@example.org")).status_code == 303
    with as_tenant(app, shops.de):
        tickets.open_ticket(tenant_by_id(shops.de.id), email="kunde@example.de", name="",
                            subject="Toner?", body="Welcher?", source="account",
                            locale="de_DE")
    # The French session, carried to the German shop's path, shows nothing of its #1.
    carried = client.get_cookie("session-fr", path="/s/fr/")
    client.set_cookie("session-de", carried.value, path="/s/de/")
    assert client.get("/s/de/support/thanks/1").status_code == 404
    assert client.get("/s/fr/support/thanks/1").status_code == 200


def test_a_customer_asks_from_the_account_and_follows_the_request(app, shops):
    client = customer(app, shops.fr, LEA)
    assert say(app, "You have not asked the help desk anything yet.") in client.get(
        "/s/fr/support/tickets").get_data(as_text=True)
    response = client.post("/s/fr/support/new", data=question())
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/s/fr/support/tickets/1")
    stored = ticket_of(app, shops.fr, 1)
    assert stored["email"] == LEA and stored["user_id"] is not None
    page = client.get("/s/fr/support/tickets/1").get_data(as_text=True)
    assert "My printer blinks red." in page
    assert say(app, "the help desk answers by %(due)s at the latest",
               due=shown_due(app, shops.fr, stored["due_at"])) in page
    listing = client.get("/s/fr/support/tickets").get_data(as_text=True)
    assert 'href="/s/fr/support/tickets/1"' in listing and "Which toner fits?" in listing
    assert [m["To"] for m in shops.smtp.messages] == [LEA]


def test_bad_input_names_the_field_and_stores_nothing(app, shops):
    client = english(app)
    cases = [
        (question(subject="  ", email="paul@example.org"), "Subject"),
        (question(email="not-an-address"), "E-mail address"),
        (question(email="paul@example.org", message=""), "Message"),
    ]
    for data, field in cases:
        response = client.post("/s/fr/support/new", data=data)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'id="support-error"' in html and f"{field}:" in html
        # What was typed is still there.
        assert data["subject"].strip() in html
    assert count(app, shops.fr) == 0
    assert shops.smtp.messages == []


# --- from a product or an order --------------------------------------------------------------


def test_the_product_page_asks_about_the_product(app, shops):
    client = customer(app, shops.fr, LEA)
    page = client.get("/s/fr/products/PRINTER").get_data(as_text=True)
    link = '<a href="/s/fr/support/new?product=PRINTER">'
    assert link + say(app, "Ask a question about this product") in page
    form = client.get("/s/fr/support/new?product=PRINTER").get_data(as_text=True)
    assert say(app, "About the product: %(name)s (%(sku)s)", name="Imprimante laser couleur",
               sku="PRINTER") in form
    assert client.post("/s/fr/support/new",
                       data=question(product="PRINTER")).status_code == 303
    stored = ticket_of(app, shops.fr, 1)
    assert (stored["source"], stored["product_sku"]) == ("product", "PRINTER")


def test_an_unknown_product_is_said_and_not_kept(app, shops):
    client = english(app)
    response = client.get("/s/fr/support/new?product=NOPE-1")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "NOPE-1" in html and 'name="product"' not in html
    response = client.post("/s/fr/support/new", data=question(product="NOPE-1",
                                                              email="paul@example.org"))
    assert response.status_code == 400 and count(app, shops.fr) == 0


def test_the_order_page_asks_about_the_order(app, shops):
    client = customer(app, shops.fr, LEA)
    number = checkout(app, shops.fr, client, LEA)
    page = client.get(f"/s/fr/orders/{number}").get_data(as_text=True)
    assert (f'<a href="/s/fr/support/new?order={number}">'
            + say(app, "Ask about this order")) in page
    form = client.get(f"/s/fr/support/new?order={number}")
    assert form.status_code == 200
    assert f'name="order" value="{number}"' in form.get_data(as_text=True)
    assert client.post("/s/fr/support/new",
                       data=question(order=str(number))).status_code == 303
    stored = ticket_of(app, shops.fr, 1)
    assert (stored["source"], stored["order_number"]) == ("order", number)


def test_another_customers_order_is_refused_with_a_message_and_nothing_stored(app, shops):
    lea = customer(app, shops.fr, LEA)
    number = checkout(app, shops.fr, lea, LEA)
    bob = customer(app, shops.fr, BOB, "Bob Durand")
    before = len(shops.smtp.messages)
    for order in (str(number), "9999"):
        refused = say(app, "Order %(number)s is not one of yours: check its number on your "
                           "order confirmation.", number=order)
        form = bob.get(f"/s/fr/support/new?order={order}")
        assert form.status_code == 400 and refused in form.get_data(as_text=True)
        response = bob.post("/s/fr/support/new", data=question(order=order))
        assert response.status_code == 400
        assert refused in response.get_data(as_text=True)
    # Nor may a guest claim it with an address that is not the order's.
    guest = english(app).post("/s/fr/support/new", data=question(
        order=str(number), email="paul@example.org"))
    assert guest.status_code == 400
    assert count(app, shops.fr) == 0
    assert len(shops.smtp.messages) == before


# --- files -----------------------------------------------------------------------------------


def _files(*items: tuple[bytes, str]) -> list[tuple[Any, str]]:
    import io

    return [(io.BytesIO(data), name) for data, name in items]


def test_files_are_taken_and_given_back_as_downloads_to_their_owner_only(app, shops):
    client = customer(app, shops.fr, LEA)
    response = client.post("/s/fr/support/new", data={
        **question(), "attachments": _files((PNG, "photo.png"), (b"error 42\n", "log.txt"))},
        content_type="multipart/form-data")
    assert response.status_code == 303
    assert ticket_of(app, shops.fr, 1)["files"] == [("photo.png", "image/png"),
                                                   ("log.txt", "text/plain")]
    with as_tenant(app, shops.fr):
        photo = db.session.scalars(select(Attachment.id).where(
            Attachment.filename == "photo.png")).one()
    page = client.get("/s/fr/support/tickets/1").get_data(as_text=True)
    url = f"/s/fr/support/tickets/1/files/{photo}"
    assert f'href="{url}"' in page
    download = client.get(url)
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "photo.png" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "image/png"
    bob = customer(app, shops.fr, BOB, "Bob Durand")
    assert bob.get(url).status_code == 404
    assert client.get(f"/s/fr/support/tickets/1/files/{photo + 100}").status_code == 404


@pytest.mark.parametrize("name, data, reason", [
    ("facture.pdf", b"MZ\x90\x00" + b"\x00" * 64, "programs, scripts and web pages"),
    ("page.html", b"<html><script>alert(1)</script></html>", "programs, scripts and web pages"),
    ("big.txt", b"a" * 1_500_001, "too large"),
])
def test_a_dangerous_or_oversized_file_is_refused_and_nothing_stored(app, shops, name, data,
                                                                     reason):
    set_support_settings(app, shops.fr, inbound_address="support@comptoir-france.example",
                         max_attachment_mb=1)
    client = english(app)
    response = client.post("/s/fr/support/new", data={
        **question(email="paul@example.org"),
        "attachments": _files((PNG, "photo.png"), (data, name))},
        content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="support-error"' in html and name in html and reason in html
    assert count(app, shops.fr) == 0 and count(app, shops.fr, Attachment) == 0
    assert shops.smtp.messages == []


# --- the customer's requests -----------------------------------------------------------------


def test_the_conversation_shows_answers_but_never_internal_notes(app, shops):
    client = customer(app, shops.fr, LEA)
    client.post("/s/fr/support/new", data=question())
    make_customer(app, shops.fr, "desk@comptoir-france.example", "Desk", role="staff")
    with as_tenant(app, shops.fr):
        info = tenant_by_id(shops.fr.id)
        ticket = tickets.get(1)
        note = tickets.add_note(info, ticket, "SECRET: the customer broke it.",
                                actor="desk@comptoir-france.example",
                                uploads=[tickets.Upload("margin.txt", "text/plain",
                                                        b"margin 40%")])
        note_file = note.attachments[0].id
        tickets.assign(info, ticket, "desk@comptoir-france.example",
                       actor="desk@comptoir-france.example")
        tickets.staff_reply(info, ticket, "Toner T-100 fits.",
                            actor="desk@comptoir-france.example")
    page = client.get("/s/fr/support/tickets/1").get_data(as_text=True)
    assert "Toner T-100 fits." in page and say(app, "The help desk") in page
    assert "SECRET" not in page and "margin.txt" not in page
    assert "desk@comptoir-france.example" not in page  # system entries name staff
    assert client.get(f"/s/fr/support/tickets/1/files/{note_file}").status_code == 404
    # The customer answers back: the request waits for the desk again.
    response = client.post("/s/fr/support/tickets/1", data={"message": "Thanks, and ink?"})
    assert response.status_code == 303
    page = client.get("/s/fr/support/tickets/1").get_data(as_text=True)
    assert "Thanks, and ink?" in page
    with as_tenant(app, shops.fr):
        assert tickets.get(1).status == "open"
    # An empty answer is refused, nothing added.
    response = client.post("/s/fr/support/tickets/1", data={"message": " "})
    assert response.status_code == 400
    assert 'id="support-error"' in response.get_data(as_text=True)
    with as_tenant(app, shops.fr):
        assert len(tickets.get(1).messages) == 5  # question, note, system, answer, reply


def test_another_customers_request_is_a_404(app, shops):
    lea = customer(app, shops.fr, LEA)
    lea.post("/s/fr/support/new", data=question())
    bob = customer(app, shops.fr, BOB, "Bob Durand")
    assert bob.get("/s/fr/support/tickets/1").status_code == 404
    assert bob.post("/s/fr/support/tickets/1", data={"message": "hi"}).status_code == 404
    assert "Which toner" not in bob.get("/s/fr/support/tickets").get_data(as_text=True)
    assert lea.get("/s/fr/support/tickets/2").status_code == 404


def test_an_account_does_not_see_what_others_sent_from_its_address(app, shops):
    # Someone who is not Léa wrote as a guest with her address (addresses are not
    # verified): opening an account with that address does not show her their exchange.
    english(app).post("/s/fr/support/new", data=question(
        name="Not Léa", email=LEA, subject="Secret plans"))
    lea = customer(app, shops.fr, LEA)
    assert "Secret plans" not in lea.get("/s/fr/support/tickets").get_data(as_text=True)
    assert lea.get("/s/fr/support/tickets/1").status_code == 404
    # Her own question, asked while logged in, is hers.
    lea.post("/s/fr/support/new", data=question(subject="Mine"))
    assert "Mine" in lea.get("/s/fr/support/tickets").get_data(as_text=True)
    assert lea.get("/s/fr/support/tickets/2").status_code == 200


def test_another_shops_request_is_a_404_even_for_the_same_address(app, shops):
    lea = customer(app, shops.fr, LEA)
    lea.post("/s/fr/support/new", data=question())
    # The same person has an account in the German shop: it knows nothing of request 1.
    german = customer(app, shops.de, LEA)
    assert german.get("/s/de/support/tickets/1").status_code == 404
    assert "Which toner" not in german.get("/s/de/support/tickets").get_data(as_text=True)
    # A French session is not a German login.
    assert lea.get("/s/de/support/tickets/1").status_code == 302
    # Nor does the reseller see its office's tickets.
    assert lea.get("/s/acme/support/tickets/1").status_code == 302
    acme = customer(app, shops.acme, LEA)
    assert acme.get("/s/acme/support/tickets/1").status_code == 404
    assert count(app, shops.de) == 0 and count(app, shops.acme) == 0


# --- navigation ------------------------------------------------------------------------------


def test_the_storefront_links_to_the_help_centre_where_the_plugin_is_on(app, shops,
                                                                       make_tenant):
    home = english(app).get("/s/acme/").get_data(as_text=True)
    assert f'<a href="/s/acme/support/">{say(app, "Help")}</a>' in home
    make_tenant("plain", name="Plain Shop")
    assert english(app).get("/s/plain/support/").status_code == 404
    assert 'href="/s/plain/support/"' not in english(app).get("/s/plain/").get_data(
        as_text=True)


# --- found in review -------------------------------------------------------------------------


def test_a_long_message_typed_with_line_breaks_is_kept_whole(app, shops):
    # A browser counts a line break as one character against maxlength but sends "\r\n":
    # a message within the limit once its line breaks are normalised must be stored whole,
    # not cut at MAX_BODY raw characters (the end of the customer's words silently lost).
    paragraph = "x" * 8 + "\r\n"
    text = paragraph * 2000 + "THE END"  # 20 007 characters sent, 18 007 once normalised
    assert len(text) > tickets.MAX_BODY > len(text.replace("\r\n", "\n"))
    client = customer(app, shops.fr, LEA)
    assert client.post("/s/fr/support/new", data=question(message=text)).status_code == 303
    assert client.post("/s/fr/support/tickets/1", data={"message": text}).status_code == 303
    with as_tenant(app, shops.fr):
        bodies = [m.body for m in tickets.get(1).messages]
    assert bodies == [text.replace("\r\n", "\n")] * 2


def test_files_are_read_no_further_than_the_limit_allows(app, shops):
    # Without a Content-Length (a chunked upload), the size check before reading cannot
    # fire: each file must still be read at most one byte past the shop's limit, and no
    # more files than a message may carry, before the size is judged.
    import io

    from werkzeug.datastructures import FileStorage

    from plugins.support import files, staff_views, views

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size=-1):
            data = super().read(size)
            Counting.read_bytes += len(data)
            return data

    set_support_settings(app, shops.fr, inbound_address="support@comptoir-france.example",
                         max_attachment_mb=1)
    for uploads in (views._uploads, staff_views._uploads):
        Counting.read_bytes = 0
        storages = [FileStorage(Counting(b"a" * 3_000_000), f"big{n}.txt") for n in range(9)]
        with app.test_request_context("/s/fr/support/new"):
            g.tenant = tenant_by_id(shops.fr.id)
            found = uploads(storages)
            assert len(found) <= 6 and all(len(u.data) <= 1_000_001 for u in found)
            assert Counting.read_bytes <= 6 * 1_000_001
            # Refused all the same, with the file's whole size.
            with force_locale("en"), pytest.raises(
                    files.FileRefused, match=r"big0\.txt is too large \(3 MB"):
                files.check(found[0], 1_000_000)


def test_a_plugin_page_keeps_the_shops_language_around_it(app, shops):
    # The help centre is rendered with the plugin's catalogue; the theme's footer around it
    # speaks the core's strings, which must still read in French in the French shop.
    from flask_babel import gettext as core_gettext

    page = app.test_client().get("/s/fr/support/").get_data(as_text=True)
    with app.test_request_context(), force_locale("fr"):
        terms = core_gettext("Terms of sale")
        help_title = translations.gettext("Help")
    assert terms != "Terms of sale" and terms in page
    assert help_title != "Help" and help_title in page
