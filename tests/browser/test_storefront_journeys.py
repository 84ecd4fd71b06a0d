"""In Chromium: the platform home, the French office, the co-branded reseller, a login, a
key account's order and its approval by the company's chain."""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import format_currency
from playwright.sync_api import expect

from comptoir.demo import ACME_USERS, DEMO_PASSWORD


def image_loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_platform_home_leads_to_the_french_office_in_french(live_server, page):
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name="Our storefronts")).to_be_visible()
    page.get_by_role("link", name="Comptoir France").click()
    expect(page).to_have_url(live_server + "/s/fr/")
    expect(page.locator("html")).to_have_attribute("lang", "fr-FR")
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()
    # A visitor is a consumer: 649.00 excluding VAT reads 778.80 including French VAT.
    card = page.locator(".product-card", has_text="PC Bureau Pro")
    expect(card).to_contain_text(format_currency(Decimal("778.80"), "EUR", locale="fr_FR"))
    expect(card).to_contain_text("TTC")
    assert image_loaded(page, "img.logo-platform")
    assert page.locator("img.logo-reseller").count() == 0


def test_a_visitor_switches_prices_to_excluding_vat_and_the_swiss_shop_to_french(
        live_server, page):
    page.goto(live_server + "/s/fr/")
    page.get_by_role("button", name="Afficher les prix HT").click()
    card = page.locator(".product-card", has_text="PC Bureau Pro")
    expect(card).to_contain_text(format_currency(Decimal("649.00"), "EUR", locale="fr_FR"))
    expect(card).to_contain_text("HT")
    page.goto(live_server + "/s/ch/")
    expect(page.locator("html")).to_have_attribute("lang", "de-CH")
    page.locator("form.language-switcher button[lang='fr-CH']").click()
    expect(page).to_have_url(live_server + "/s/ch/")
    expect(page.locator("html")).to_have_attribute("lang", "fr-CH")
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()


def test_reseller_storefront_is_cobranded(live_server, page):
    page.goto(live_server + "/s/acme-informatique/")
    expect(page.locator(".cobrand")).to_contain_text("en partenariat avec")
    assert image_loaded(page, "img.logo-reseller")
    assert image_loaded(page, "img.logo-platform")
    header_colour = page.eval_on_selector(
        ".site-header", "h => getComputedStyle(h).borderBottomColor")
    assert header_colour == "rgb(11, 122, 117)"  # ACME's #0b7a75, not the platform's


def test_company_buyer_logs_in_and_out(live_server, page):
    email, name, _role = ACME_USERS[1]
    page.goto(live_server + "/s/acme-informatique/")
    page.get_by_role("link", name="Se connecter").click()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".who")).to_have_text(name)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()


def test_wrong_password_shows_the_error_in_french(live_server, page):
    page.goto(live_server + "/s/acme-informatique/login")
    page.get_by_label("Adresse e-mail").fill(ACME_USERS[0][0])
    page.get_by_label("Mot de passe").fill("pas le bon")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator(".who")).to_have_count(0)


def test_unknown_shop_is_a_404_page(live_server, page):
    response = page.goto(live_server + "/s/no-such-shop/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_company_buyer_orders_a_standard_configuration(live_server, page):
    """The seed's key account: logs in, sees its configurations at its prices, orders, and
    finds the order with its expected delivery date."""
    email, name, _role = ACME_USERS[1]
    page.goto(live_server + "/s/acme-informatique/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".who")).to_have_text(name)

    # Its restricted world: no laptop for sale, but its five standard configurations.
    expect(page.locator(".product-card")).to_have_count(1)
    page.get_by_role("link", name="Vos configurations types").click()
    cards = page.locator(".configuration")
    expect(cards).to_have_count(5)
    developer = cards.filter(has_text="Poste développeur")
    expect(developer.locator(".public s")).to_be_visible()  # the public price, as reference
    expect(developer).to_contain_text(format_currency(Decimal("2150.00"), "EUR", locale="fr_FR"))
    developer.get_by_role("button", name="Ajouter au panier").click()

    expect(page.get_by_role("heading", name="Votre panier")).to_be_visible()
    page.get_by_role("link", name="Commander").click()
    page.get_by_label("Rue").first.fill("12 rue de la République")
    page.get_by_label("Code postal").first.fill("69002")
    page.get_by_label("Ville").first.fill("Lyon")
    page.get_by_label("Facture").check()
    page.get_by_role("button", name="Valider la commande").click()

    expect(page.get_by_role("heading", name="Commande")).to_contain_text("Commande")
    expect(page.locator(".delivery")).to_contain_text("Livraison prévue")
    # 2,150.00 is above the buyer's ceiling of 0: the order waits for the approval chain.
    expect(page.locator(".status")).to_have_text("En attente d’approbation")
    page.get_by_role("link", name="Commandes").click()
    expect(page.locator("table.lines tbody tr")).to_have_count(1)


def test_the_supervisor_approves_the_order_from_the_email(live_server, live_instance, page):
    """Durand's supervisor (level 2, ceiling 20,000) is e-mailed a link, logs in, sees the
    order against the buyer's ceiling, approves, and the order is placed. Runs after the
    buyer's order above; the director's turn above 20,000 is tested in tests/approvals."""
    from comptoir.core.mail import read_outbox

    supervisor = ACME_USERS[2][0]
    mails = [m for m in read_outbox(live_instance / "outbox") if m["To"] == supervisor]
    assert mails, "the supervisor was not e-mailed"
    # The link names the host the buyer's request came to: this live server.
    link = re.search(r"https?://\S+/approvals/\d+", mails[-1].get_content()).group(0)

    page.context.clear_cookies()  # another person, another browser session
    page.goto(link)
    page.get_by_label("Adresse e-mail").fill(supervisor)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(link)  # the login leads on to the decision page
    expect(page.locator("dl.facts")).to_contain_text(
        format_currency(Decimal("2150.00"), "EUR", locale="fr_FR"))
    page.get_by_role("button", name="Approuver").click()
    expect(page.locator(".status")).to_have_text("approuvée")

    page.context.clear_cookies()
    page.goto(live_server + "/s/acme-informatique/login")
    page.get_by_label("Adresse e-mail").fill(ACME_USERS[1][0])
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Commandes").click()
    expect(page.locator("table.lines tbody tr")).to_contain_text("Enregistrée")
