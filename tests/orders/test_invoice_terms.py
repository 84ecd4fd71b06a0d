"""Payment terms per company: stated at checkout, printed with the due date on the invoice,
set by staff (0 to 120 days), and overdue invoices listed for staff, tenant by tenant."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from flask_babel import force_locale, gettext, ngettext
from markupsafe import escape
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.customers.models import Company
from comptoir.orders.default_hooks import invoice_terms_sentence
from comptoir.orders.invoices import shop_day
from comptoir.orders.models import Order
from comptoir.staff.receivables import parse_terms
from comptoir.tax.basis import today as shop_today
from comptoir.tenants.resolution import directory
from tests.conftest import as_tenant, translated
from tests.orders.conftest import add, checkout, log_in, staff_client

LOCALE = "fr_FR"  # the shop "acme" inherits its office's French


def fr(app, singular, plural, num, /, **params):
    """A plural message as the French shop shows it (from the catalogue, not typed here)."""
    with app.test_request_context(), force_locale(LOCALE):
        return ngettext(singular, plural, num, **params)


def fr_text(app, msgid, /, **params):
    """A message as the French shop prints it in a PDF: translated, not HTML-escaped."""
    with app.test_request_context(), force_locale(LOCALE):
        return gettext(msgid, **params)


def long_date(day: date) -> str:
    return format_date(day, "long", locale=LOCALE)


def pdf_text(response) -> str:
    from pypdf import PdfReader

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def set_terms(app, tenant, name, days):
    with as_tenant(app, tenant):
        company = db.session.scalars(select(Company).where(Company.name == name)).one()
        company.payment_terms_days = days
        db.session.commit()


def terms_of(app, tenant, name="Durand"):
    with as_tenant(app, tenant):
        return db.session.scalars(
            select(Company.payment_terms_days).where(Company.name == name)).one()


def today_at(app, tenant) -> date:
    with app.app_context():
        return shop_today(directory().by_id(tenant.id))


def order_row(app, tenant, number):
    with as_tenant(app, tenant):
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        db.session.expunge(order)
        return order


def set_due(app, tenant, number, due):
    with as_tenant(app, tenant):
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        order.due_date = due
        db.session.commit()


def buy(client, sku="SCREEN", **overrides):
    add(client, sku)
    response = checkout(client, **overrides)
    assert response.status_code == 303, response.get_data(as_text=True)


def move(staff, number, status):
    return staff.post(f"/s/acme/staff/orders/{number}/status", data={"status": status})


@pytest.fixture
def staff(app, shop):
    return staff_client(app, shop[1], "staff@acme.example")


@pytest.fixture
def buyer(app, client, shop):
    log_in(client)
    return client


# -- checkout -------------------------------------------------------------------------------


def test_checkout_states_the_companys_own_terms(app, buyer, shop):
    _, acme, _ = shop
    set_terms(app, acme, "Durand", 45)
    add(buyer, "SCREEN")
    page = buyer.get("/s/acme/checkout").get_data(as_text=True)
    assert str(escape(fr(app, "Pay within %(num)s day of the invoice date.",
                         "Pay within %(num)s days of the invoice date.", 45))) in page
    assert str(escape(fr(app, "Pay within %(num)s day of the invoice date.",
                         "Pay within %(num)s days of the invoice date.", 30))) not in page


def test_terms_sentence_for_zero_one_and_many_days(app):
    with app.test_request_context(), force_locale("en"):
        assert invoice_terms_sentence(0) == "Pay on receipt of the invoice."
        assert invoice_terms_sentence(1) == "Pay within 1 day of the invoice date."
        assert invoice_terms_sentence(60) == "Pay within 60 days of the invoice date."


# -- due date and payment on the order and the invoice --------------------------------------


def test_booking_records_the_due_date_and_marking_paid_the_payment(app, buyer, staff, shop):
    """``orders.service.book`` and ``change_status``: order date + the company's terms."""
    _, acme, _ = shop
    set_terms(app, acme, "Durand", 45)
    buy(buyer)  # 1: on invoice
    buy(buyer, payment_method="bank_transfer")  # 2
    first = order_row(app, acme, 1)
    assert first.due_date == today_at(app, acme) + timedelta(days=45)
    assert first.paid_at is None
    assert order_row(app, acme, 2).due_date is None  # no terms for a bank transfer
    set_terms(app, acme, "Durand", 10)
    assert order_row(app, acme, 1).due_date == first.due_date  # new terms, new orders only
    assert move(staff, 1, "paid").status_code == 303
    assert order_row(app, acme, 1).paid_at is not None


def test_invoice_prints_terms_and_due_date(app, buyer, shop):
    _, acme, _ = shop
    buy(buyer)
    order = order_row(app, acme, 1)
    with app.app_context():
        issued = shop_day(directory().by_id(acme.id), order.created_at)
    due = issued + timedelta(days=45)
    set_due(app, acme, 1, due)  # as booked under 45-day terms
    terms = fr(app, "Payment terms: %(num)s day net", "Payment terms: %(num)s days net", 45)
    due_line = fr_text(app, "Due date: %(date)s", date=long_date(due))
    text = pdf_text(buyer.get("/s/acme/orders/1/invoice.pdf"))
    assert terms in text and due_line in text
    assert fr_text(app, "Date: %(date)s", date=long_date(issued)) in text
    assert fr_text(app, "Paid on %(date)s", date="").strip() not in text
    html = buyer.get("/s/acme/orders/1/invoice").get_data(as_text=True)
    assert str(escape(terms)) in html and str(escape(due_line)) in html


def test_paid_invoice_says_when_it_was_paid(app, buyer, staff, shop):
    _, acme, _ = shop
    buy(buyer)
    assert move(staff, 1, "paid").status_code == 303
    paid = fr_text(app, "Paid on %(date)s", date=long_date(today_at(app, acme)))
    assert paid in pdf_text(staff.get("/s/acme/staff/orders/1/invoice.pdf"))
    assert str(escape(paid)) in buyer.get("/s/acme/orders/1/invoice").get_data(as_text=True)


def test_a_bank_transfer_invoice_has_no_due_date(app, buyer, shop):
    buy(buyer, payment_method="bank_transfer")
    text = pdf_text(buyer.get("/s/acme/orders/1/invoice.pdf"))
    assert fr_text(app, "Due date: %(date)s", date="").strip() not in text
    assert fr_text(app, "Paid by %(method)s.", method="bank transfer") in text


# -- overdue invoices -----------------------------------------------------------------------


def test_overdue_list_shows_only_unpaid_invoices_past_their_due_date(app, buyer, staff, shop):
    _, acme, _ = shop
    for _ in range(5):
        buy(buyer)
    buy(buyer, payment_method="bank_transfer")  # 6
    today = today_at(app, acme)
    set_due(app, acme, 1, today - timedelta(days=3))  # overdue, and shipped unpaid
    set_due(app, acme, 2, today - timedelta(days=20))  # overdue longest: listed first
    set_due(app, acme, 3, today - timedelta(days=30))  # paid: not listed
    set_due(app, acme, 4, today + timedelta(days=5))  # not yet due
    set_due(app, acme, 5, today - timedelta(days=40))  # cancelled: owes nothing
    assert move(staff, 1, "shipped").status_code == 303
    assert move(staff, 3, "paid").status_code == 303
    assert move(staff, 5, "cancelled").status_code == 303
    assert order_row(app, acme, 1).status == "shipped"

    response = staff.get("/s/acme/staff/invoices/overdue")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert '/s/acme/staff/orders/2"' in rows and '/s/acme/staff/orders/1"' in rows
    assert rows.index("/staff/orders/2\"") < rows.index("/staff/orders/1\"")
    for number in (3, 4, 5, 6):
        assert f'/s/acme/staff/orders/{number}"' not in rows
    gross = order_row(app, acme, 1).total_gross
    assert gross == Decimal("360.00")  # a screen, 300.00 + 20 % VAT
    assert format_currency(gross, "EUR", locale=LOCALE) in rows
    assert "Durand" in rows
    assert format_date(today - timedelta(days=20), "medium", locale=LOCALE) in rows
    assert "<td>20</td>" in rows and "<td>3</td>" in rows
    assert format_currency(2 * gross, "EUR", locale=LOCALE) in page.split("<tfoot>", 1)[1]
    assert translated(app, LOCALE, "No overdue invoices") not in page

    exported = staff.get("/s/acme/staff/invoices/overdue?format=csv")
    assert exported.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[1:] == [
        ["2", "Durand", "360.00", "EUR", (today - timedelta(days=20)).isoformat(), "20"],
        ["1", "Durand", "360.00", "EUR", (today - timedelta(days=3)).isoformat(), "3"],
    ]


def test_no_overdue_invoices_says_so(app, buyer, staff, shop):
    buy(buyer)  # due in the future
    page = staff.get("/s/acme/staff/invoices/overdue").get_data(as_text=True)
    assert translated(app, LOCALE, "No overdue invoices") in page
    assert "/s/acme/staff/orders/1\"" not in page


def test_dashboard_links_to_companies_and_overdue_invoices(staff):
    page = staff.get("/s/acme/staff/").get_data(as_text=True)
    assert 'href="/s/acme/staff/companies"' in page
    assert 'href="/s/acme/staff/invoices/overdue"' in page


# -- companies and their terms --------------------------------------------------------------


def test_companies_page_lists_terms_users_and_open_amount(app, buyer, staff, shop):
    _, acme, _ = shop
    buy(buyer)  # 1: open
    buy(buyer)  # 2: paid
    buy(buyer, payment_method="bank_transfer")  # 3: not an invoice
    move(staff, 2, "paid")
    with as_tenant(app, acme):
        company_id = db.session.scalars(select(Company.id)).one()
    page = staff.get("/s/acme/staff/companies").get_data(as_text=True)
    row = page.split(f'id="company-{company_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Durand" in row
    assert "<td>2</td>" in row  # its buyer and its admin
    assert format_currency(Decimal("360.00"), "EUR", locale=LOCALE) in row  # order 1 only
    assert 'name="payment_terms_days" value="30"' in row
    assert f'action="/s/acme/staff/companies/{company_id}/terms"' in row


def test_companies_page_empty_state(app, make_tenant):
    lonely = make_tenant("lonely", name="Lonely")
    staff = staff_client(app, lonely, "staff@lonely.example")
    page = staff.get("/s/lonely/staff/companies").get_data(as_text=True)
    assert translated(app, LOCALE, "No companies yet: a company appears here once it has an "
                                   "account in this shop.") in page


def test_staff_set_payment_terms(app, staff, shop):
    _, acme, _ = shop
    with as_tenant(app, acme):
        company_id = db.session.scalars(select(Company.id)).one()
    response = staff.post(f"/s/acme/staff/companies/{company_id}/terms",
                          data={"payment_terms_days": " 60 "})
    assert response.status_code == 303
    assert terms_of(app, acme) == 60
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert str(escape(fr(app, "Payment terms of %(company)s set to %(num)s day net.",
                         "Payment terms of %(company)s set to %(num)s days net.", 60,
                         company="Durand"))) in page
    assert 'name="payment_terms_days" value="60"' in page
    for days in ("0", "120"):
        staff.post(f"/s/acme/staff/companies/{company_id}/terms",
                   data={"payment_terms_days": days})
        assert terms_of(app, acme) == int(days)


@pytest.mark.parametrize("value", ["abc", "-1", "500", "121", "", "12.5", "٣٠", "1e2"])
def test_bad_payment_terms_are_refused_and_change_nothing(app, staff, shop, value):
    _, acme, _ = shop
    set_terms(app, acme, "Durand", 45)
    with as_tenant(app, acme):
        company_id = db.session.scalars(select(Company.id)).one()
    response = staff.post(f"/s/acme/staff/companies/{company_id}/terms",
                          data={"payment_terms_days": value})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert translated(
        app, LOCALE, "Payment terms of %(company)s: '%(value)s' is not a whole number of "
        "days from 0 to %(max)s; nothing was changed.", company="Durand", value=value,
        max=120) in page
    assert terms_of(app, acme) == 45
    assert 'name="payment_terms_days" value="45"' in page


def test_parse_terms():
    assert [parse_terms(v) for v in ("0", "7", " 30", "120")] == [0, 7, 30, 120]
    for bad in ("", " ", "-0", "+5", "121", "0120", "30 days", "²"):
        with pytest.raises(ValueError):
            parse_terms(bad)


# -- tenants and roles ----------------------------------------------------------------------


def test_another_tenants_staff_see_none_of_it(app, buyer, staff, shop):
    _, acme, gb = shop
    buy(buyer)
    set_due(app, acme, 1, today_at(app, acme) - timedelta(days=10))
    with as_tenant(app, acme):
        durand = db.session.scalars(select(Company.id)).one()
    with as_tenant(app, gb):
        smith = Company(name="Smith Ltd", payment_terms_days=14)
        db.session.add(smith)
        db.session.commit()
        smith_id = smith.id
    uk = staff_client(app, gb, "staff@uk.example")

    companies = uk.get("/s/gb/staff/companies").get_data(as_text=True)
    assert "Smith Ltd" in companies and "Durand" not in companies
    overdue = uk.get("/s/gb/staff/invoices/overdue").get_data(as_text=True)
    assert "Durand" not in overdue and "/staff/orders/1\"" not in overdue
    assert translated(app, "en_GB", "No overdue invoices") in overdue
    assert "Durand" not in uk.get("/s/gb/staff/invoices/overdue?format=csv").get_data(
        as_text=True)
    assert uk.post(f"/s/gb/staff/companies/{durand}/terms",
                   data={"payment_terms_days": "90"}).status_code == 404
    assert terms_of(app, acme) == 30

    # ...and the other way round.
    assert "Smith Ltd" not in staff.get("/s/acme/staff/companies").get_data(as_text=True)
    assert staff.post(f"/s/acme/staff/companies/{smith_id}/terms",
                      data={"payment_terms_days": "90"}).status_code == 404
    assert terms_of(app, gb, "Smith Ltd") == 14
    assert "Durand" in staff.get("/s/acme/staff/invoices/overdue").get_data(as_text=True)


def test_customers_and_visitors_are_refused(app, buyer, shop):
    _, acme, _ = shop
    with as_tenant(app, acme):
        company_id = db.session.scalars(select(Company.id)).one()
    for path in ("/s/acme/staff/companies", "/s/acme/staff/invoices/overdue",
                 "/s/acme/staff/invoices/overdue?format=csv"):
        assert buyer.get(path).status_code == 403
        visitor = app.test_client().get(path)
        assert visitor.status_code == 302 and "/login" in visitor.headers["Location"]
    admin = app.test_client()
    log_in(admin, email="admin@durand.example")  # the company's own admin is no staff
    for client in (buyer, admin):
        response = client.post(f"/s/acme/staff/companies/{company_id}/terms",
                               data={"payment_terms_days": "120"})
        assert response.status_code == 403
    assert app.test_client().post(f"/s/acme/staff/companies/{company_id}/terms",
                                  data={"payment_terms_days": "120"}).status_code == 302
    assert terms_of(app, acme) == 30


def test_staff_record_the_payment_of_an_invoice_that_shipped(app, shop):
    """B2B: the goods leave, the invoice is paid on its terms later; the order stays where
    it is and leaves the overdue list."""
    _fr, acme, _gb = shop
    buyer = app.test_client()
    log_in(buyer)
    add(buyer, "LAPTOP-FR")
    assert checkout(buyer).status_code == 303
    staff = staff_client(app, acme, "compta@acme.example")
    for status in ("shipped", "delivered"):
        staff.post("/s/acme/staff/orders/1/status", data={"status": status})
    assert staff.post("/s/acme/staff/orders/1/payment", data={"note": "VIR 42"}
                      ).status_code == 303
    with as_tenant(app, acme):
        order = db.session.scalars(select(Order)).one()
        assert order.status == "delivered" and order.paid_at is not None
        assert order.events[-1].note == "VIR 42"
        order.due_date = date.today() - timedelta(days=5)  # it would be overdue if unpaid
        db.session.commit()
    overdue = staff.get("/s/acme/staff/invoices/overdue").get_data(as_text=True)
    assert "/staff/orders/1\"" not in overdue
    again = staff.post("/s/acme/staff/orders/1/payment", follow_redirects=True)
    assert "recorded already" in again.get_data(as_text=True)
    with as_tenant(app, acme):
        assert len([e for e in db.session.scalars(select(Order)).one().events
                    if e.note in ("VIR 42", "payment received")]) == 1
