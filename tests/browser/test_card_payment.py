"""In Chromium, against localstripe: a consumer pays a card order on the demo, through the
payment page's Stripe.js (localstripe's stand-in) and 3-D Secure; one who came through a
partner site's link earns the partner its commission, which the reseller's staff see."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from comptoir.demo import ACME_STAFF, DEMO_PASSWORD


def order_something(page, live_server, email):
    page.goto(live_server + "/s/acme-informatique/")
    page.locator(".product-card a").first.click()
    page.get_by_role("button", name="Ajouter au panier").click()
    page.get_by_role("link", name="Commander").click()
    page.locator("main").get_by_label("E-mail").fill(email)
    page.get_by_label("Nom").first.fill("Léa Martin")
    page.get_by_label("Rue").first.fill("3 place Bellecour")
    page.get_by_label("Code postal").first.fill("69002")
    page.get_by_label("Ville").first.fill("Lyon")
    page.get_by_label("Carte bancaire").check()
    page.get_by_role("button", name="Valider la commande").click()
    expect(page.get_by_role("heading", name="Payer la commande")).to_be_visible()


def type_card(page, number):
    for placeholder, value in (("number", number), ("exp_month", "12"), ("exp_year", "30"),
                               ("cvc", "123"), ("postal_code", "69002")):
        page.get_by_placeholder(placeholder, exact=True).fill(value)


def test_a_consumer_pays_a_card_order_and_sees_it_paid(live_server, page):
    order_something(page, live_server, "lea.martin@example.org")
    type_card(page, "4242424242424242")
    page.locator("#pay-new").click()
    expect(page.locator(".status")).to_have_text("Payée", timeout=15000)
    expect(page.locator(".flash-success")).to_contain_text("paiement est bien reçu")


def test_3d_secure_then_paid_and_a_declined_card_says_so(live_server, page):
    order_something(page, live_server, "hugo.petit@example.org")
    type_card(page, "4000000000000341")  # accepted when typed, declined when charged
    page.locator("#pay-new").click()
    expect(page.locator("#pay-error")).to_have_text("Votre carte a été refusée.")

    page.reload()
    type_card(page, "4000002500003155")  # the bank asks for 3-D Secure
    page.locator("#pay-new").click()
    page.get_by_role("button", name="Complete authentication").click()  # at card set-up
    page.get_by_role("button", name="Complete authentication").click()  # at payment
    expect(page.locator(".status")).to_have_text("Payée", timeout=15000)


def test_a_partner_sites_reader_buys_and_the_reseller_sees_the_commission(live_server, page):
    page.goto(live_server + "/s/acme-informatique/r/BLOGPRO")  # the partner site's link
    order_something(page, live_server, "lecteur.blog@example.org")
    type_card(page, "4242424242424242")
    page.locator("#pay-new").click()
    expect(page.locator(".status")).to_have_text("Payée", timeout=15000)
    number = re.search(r"(\d+)", page.get_by_role("heading", level=1).inner_text()).group(1)

    page.context.clear_cookies()
    email, name, _role = ACME_STAFF
    page.goto(live_server + "/s/acme-informatique/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".who")).to_have_text(name)
    page.get_by_role("link", name="Commissions").click()
    expect(page.get_by_role("heading", name="Commissions et clients")).to_be_visible()
    row = page.locator("table.in-progress tr", has=page.get_by_role("link", name=number,
                                                                     exact=True))
    expect(row).to_contain_text("BLOGPRO")
    expect(page.locator("table.account")).to_contain_text("Blog Info Pro")
