"""In Chromium, on the demo: a French reader subscribes from the shop's footer, confirms by
the link in the e-mail, the office's staff send the week's campaign, the reader receives it
in French and leaves with the mail client's one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from comptoir.core.mail import read_outbox
from comptoir.demo import DEMO_PASSWORD, NEWSLETTER_CAMPAIGN, TENANT_ADMINS

READER = "lea.lectrice@exemple.fr"


def mails_to(instance, address: str) -> list:
    return [m for m in read_outbox(instance / "outbox") if address in str(m["To"])]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_french_reader_subscribes_confirms_receives_and_leaves_in_one_click(
        live_server, live_instance, page):
    page.goto(live_server + "/s/fr/")
    form = page.locator("footer form.newsletter-subscribe")
    form.locator("input[type=email]").fill(READER)
    form.locator("input[name=name]").fill("Léa Lectrice")
    form.locator("input[name=consent]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_be_visible()
    assert mails_to(live_instance, READER), "no confirmation mail in the outbox"

    # The confirmation link: opening it confirms nothing, its button does.
    [confirmation] = mails_to(live_instance, READER)
    link = re.search(r"http://\S+/newsletter/confirm/\S+", text_of(confirmation)).group(0)
    page.goto(link)
    page.locator("form[action*='/newsletter/confirm/'] button[type=submit]").click()
    expect(page.locator("form[action*='/newsletter/confirm/']")).to_have_count(0)

    # The office's staff send the demo campaign from its page.
    slug, email, _name = TENANT_ADMINS[0]
    assert slug == "fr"
    page.goto(live_server + "/s/fr/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("#password").press("Enter")
    expect(page.locator(".who")).to_be_visible()
    page.goto(live_server + "/s/fr/staff/newsletters")
    name, _theme, texts = NEWSLETTER_CAMPAIGN
    page.get_by_role("link", name=name).click()
    page.locator("form[action$='/start'] button[type=submit]").click()
    expect(page.locator("#progress [data-count=sent]")).to_have_text("1")

    # In French, to her name, with the one-click unsubscribe headers.
    campaign_mail = mails_to(live_instance, READER)[-1]
    assert campaign_mail["Subject"] == texts["fr_FR"][0].replace("{{ first_name }}", "Léa")
    assert campaign_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = campaign_mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(live_server + "/s/fr/newsletter/unsubscribe/")

    # What a mail client does: a POST without cookies. She is out at once.
    answer = httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    preferences = re.search(r"http://\S+/newsletter/preferences/\S+", text_of(campaign_mail))
    page.goto(preferences.group(0))
    expect(page.locator("form[action*='/newsletter/unsubscribe/']")).to_have_count(0)
