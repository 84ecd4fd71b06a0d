"""In Chromium, on the demo: an ACME customer (Durand Benelux's buyer: Durand Industries
only sees its standard configurations) asks a compatibility question from a printer's
page (the FAQ answers as she types), ACME's help desk answers from a reply template with the
placeholders filled, the customer reads the answer in her account and her e-mail, and the
desk's report counts one answer given in time."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from comptoir.core.mail import read_outbox
from comptoir.demo import ACME_BELGIAN_COMPANY, ACME_STAFF, DEMO_PASSWORD

SHOP = "/s/acme-informatique"
PRINTER = "IMP-LASER-A4"


def log_in(page, live_server: str, email: str) -> None:
    page.goto(live_server + SHOP + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("#password").press("Enter")
    expect(page.locator(".who")).to_be_visible()


def log_out(page) -> None:
    page.context.clear_cookies()


def test_a_question_from_a_product_page_is_answered_from_a_template_in_time(
        live_server, live_instance, page):
    _company, _vat, (customer_email, customer_name, _role) = ACME_BELGIAN_COMPANY
    log_in(page, live_server, customer_email)
    page.goto(f"{live_server}{SHOP}/products/{PRINTER}")
    page.locator(".support-ask a").click()
    expect(page.locator("#support-product")).to_contain_text(PRINTER)

    # The FAQ answers while she types the subject (live suggestions).
    page.locator("#support-subject").fill("toner compatible")
    expect(page.locator("#support-suggestions")).to_be_visible()
    expect(page.locator("#support-suggestions-list")).to_contain_text("toner")

    page.locator("#support-message").fill("Le toner TN-2420 convient-il à cette imprimante ?")
    page.locator("#support-send").click()
    expect(page.locator("h1")).to_contain_text("1")
    ticket_url = page.url

    # ACME's desk answers from the "Compatibilité" template, filled for this ticket.
    log_out(page)
    staff_email, staff_name, _ = ACME_STAFF
    log_in(page, live_server, staff_email)
    page.goto(f"{live_server}{SHOP}/staff/support/")
    page.locator("a", has_text="toner compatible").first.click()
    # The office's template, in the ticket's language, inherited by its reseller.
    option = page.locator("#template option", has_text="Compatibilité")
    expect(option).to_contain_text("Comptoir France")
    page.locator("#template").select_option(option.get_attribute("value"))
    page.locator("#template-picker button[type=submit]").click()
    body = page.locator("#reply-body")
    for filled in (customer_name, "Imprimante laser couleur A4", staff_name):
        expect(body).to_have_value(re.compile(re.escape(filled)))
    page.locator("#reply-form button[value=reply]").click()
    expect(page.locator("#history")).to_contain_text("Imprimante laser couleur A4")

    # The report: one answer, given in time.
    page.goto(f"{live_server}{SHOP}/staff/support/report")
    expect(page.locator("main")).to_contain_text("100")

    # The customer reads it in her account and in her mail, with the reply address.
    log_out(page)
    log_in(page, live_server, customer_email)
    page.goto(ticket_url)
    expect(page.locator("main")).to_contain_text(staff_name)
    mails = [m for m in read_outbox(live_instance / "outbox")
             if customer_email in str(m["To"]) and "[#1]" in str(m["Subject"])]
    answer = mails[-1]
    assert "Imprimante laser couleur A4" in answer.get_body(("plain",)).get_content()
    assert str(answer["Reply-To"]).startswith("support+")
