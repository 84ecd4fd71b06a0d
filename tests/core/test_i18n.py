"""The language follows the tenant: its own locale, the visitor's browser, the switcher.

A Swiss office offers French and German; a French office offers French only and must not
be talked into German. Formats are compared with Babel's own output, never hand-typed.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from flask import render_template_string

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from comptoir.tenants.models import Tenant
from comptoir.tenants.resolution import ENVIRON_SLUG
from tests.conftest import as_tenant, translated

CH_PRICE = Decimal("1234.50")
FR_PRICE = Decimal("1234.56")


def set_languages(app, tenant, languages):
    with app.app_context():
        db.session.get(Tenant, tenant.id).settings = {"languages": languages}
        db.session.commit()


@pytest.fixture
def shops(app, make_tenant):
    swiss = make_tenant("ch", name="Comptoir Suisse", country="CH", locale="fr_CH",
                        currency="CHF", plugins=["locale_ch"])
    france = make_tenant("fr", name="Comptoir France", plugins=["locale_fr"])
    set_languages(app, swiss, ["de_CH"])
    # Zero-rated, so the price reads the same with or without VAT.
    for tenant, price in ((swiss, CH_PRICE), (france, FR_PRICE)):
        with as_tenant(app, tenant):
            catalog.create_product("PC", f"PC {tenant.slug}", str(price), tax_class="zero")
            db.session.commit()
    return swiss, france


def page(client, url, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)">', html).group(1)


def own_name(code: str) -> str:
    """The switcher's label: the language's name in itself, capitalised."""
    name = Locale.parse(code).display_name
    return name[:1].upper() + name[1:]


def chosen_locale(app, client, slug) -> str | None:
    """The language choice the shop's session cookie holds."""
    cookie = client.get_cookie(f"{app.config['SESSION_COOKIE_NAME']}-{slug}", path=f"/s/{slug}/")
    if cookie is None:
        return None
    return app.session_interface.get_signing_serializer(app).loads(cookie.value).get("locale")


def choose(client, slug, locale, **fields):
    return client.post(f"/s/{slug}/language", data={"locale": locale, **fields})


# --- the shop's own language and formats ---------------------------------------------------

def test_a_shop_speaks_its_own_locale_with_its_formats(client, shops):
    html = page(client, "/s/fr/")
    assert html_lang(html) == "fr-FR"
    assert format_currency(FR_PRICE, "EUR", locale="fr_FR") in html
    html = page(client, "/s/ch/")
    assert html_lang(html) == "fr-CH"
    assert format_currency(CH_PRICE, "CHF", locale="fr_CH") in html


def test_dates_and_money_follow_the_selected_locale(app, shops):
    day = date(2026, 3, 5)
    template = "{{ day|dateformat('full') }} | {{ amount|money }}"
    for slug, locale, currency, amount in (("fr", "fr_FR", "EUR", FR_PRICE),
                                           ("ch", "fr_CH", "CHF", CH_PRICE),
                                           ("ch", "de_CH", "CHF", CH_PRICE)):
        headers = {"Accept-Language": "de"} if locale == "de_CH" else {}
        # What SlugPrefixMiddleware makes of /s/<slug>/ (test contexts bypass WSGI).
        with app.test_request_context("/", base_url=f"http://localhost/s/{slug}",
                                      environ_overrides={ENVIRON_SLUG: slug},
                                      headers=headers):
            app.preprocess_request()
            rendered = render_template_string(template, day=day, amount=amount)
        assert rendered == (f"{format_date(day, 'full', locale=locale)} | "
                            f"{format_currency(amount, currency, locale=locale)}")


def test_the_platform_pages_keep_the_default_locale(client, shops):
    assert html_lang(page(client, "/")) == "en"


# --- the switcher ---------------------------------------------------------------------------

def test_the_switcher_shows_only_where_several_languages_are_offered(client, shops):
    html = page(client, "/s/ch/")
    assert 'class="language-switcher"' in html
    assert 'action="/s/ch/language"' in html  # the shop's prefix is kept
    for code in ("fr_CH", "de_CH"):
        assert f'value="{code}"' in html and own_name(code) in html
    assert 'name="next" value="/s/ch/"' in html
    assert "language-switcher" not in page(client, "/s/fr/")


def test_choosing_an_offered_language(client, shops):
    response = choose(client, "ch", "de_CH", next="/s/ch/products/PC")
    assert response.status_code == 303
    assert response.headers["Location"] == "/s/ch/products/PC"
    html = page(client, "/s/ch/products/PC")
    assert html_lang(html) == "de-CH"
    assert format_currency(CH_PRICE, "CHF", locale="de_CH") in html
    assert format_currency(CH_PRICE, "CHF", locale="fr_CH") not in html
    assert 'value="de_CH" lang="de-CH" class="link current" aria-current="true"' in html
    # and back
    choose(client, "ch", "fr")  # a language alone finds the shop's locale for it
    assert html_lang(page(client, "/s/ch/")) == "fr-CH"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/s/fr/", ""])
def test_the_switcher_returns_only_to_this_shop(client, shops, target):
    response = choose(client, "ch", "de_CH", next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/s/ch/"


@pytest.mark.parametrize("wanted", ["it_CH", "en", "xx_YY", "", "de_CH<script>"])
def test_a_language_the_shop_does_not_offer_is_refused_and_nothing_changes(
        app, client, shops, wanted):
    choose(client, "ch", "de_CH")
    assert chosen_locale(app, client, "ch") == "de_CH"
    response = choose(client, "ch", wanted, next="/s/ch/")
    assert response.status_code == 400
    assert chosen_locale(app, client, "ch") == "de_CH"  # the session stays as it was
    message = response.get_data(as_text=True)
    # The German sentence up to the list of offered languages, quotes included, from the
    # catalogue: „it_CH“ in German.
    sentence = translated(app, "de_CH", "This shop does not offer the language “%(locale)s”; "
                          "it offers: %(offered)s.", locale=wanted, offered="\x00")
    assert sentence.split("\x00")[0] in message
    for code in ("fr_CH", "de_CH"):
        assert f"{own_name(code)} [{code}]" in message
    assert "<script>" not in message
    assert html_lang(page(client, "/s/ch/")) == "de-CH"


def test_a_shop_with_one_language_refuses_another_shops_language(client, shops):
    assert choose(client, "ch", "de_CH").status_code == 303
    response = choose(client, "fr", "de_CH")
    assert response.status_code == 400
    message = response.get_data(as_text=True)
    assert "de_CH" in message and f"{own_name('fr_FR')} [fr_FR]" in message
    assert own_name("de_CH") not in message
    assert html_lang(page(client, "/s/fr/", **{"Accept-Language": "de-CH, de"})) == "fr-FR"
    assert html_lang(page(client, "/s/ch/")) == "de-CH"  # each shop keeps its own choice


def test_a_choice_the_shop_no_longer_offers_is_forgotten(app, client, shops):
    swiss, _france = shops
    choose(client, "ch", "de_CH")
    set_languages(app, swiss, [])
    html = page(client, "/s/ch/", **{"Accept-Language": "de"})
    assert html_lang(html) == "fr-CH"
    assert "language-switcher" not in html


def test_the_platform_has_no_switcher(client, shops):
    assert client.post("/language", data={"locale": "fr"}).status_code == 404


def test_the_switcher_needs_a_csrf_token(app_factory, make_tenant):
    app = app_factory(WTF_CSRF_ENABLED=True)
    swiss = make_tenant("ch", country="CH", locale="fr_CH", currency="CHF")
    set_languages(app, swiss, ["de_CH"])
    client = app.test_client()
    assert choose(client, "ch", "de_CH").status_code == 400  # no token
    html = page(client, "/s/ch/")
    token = re.search(r'class="language-switcher".*?name="csrf_token" value="([^"]+)"', html,
                      re.S).group(1)
    assert choose(client, "ch", "de_CH", csrf_token=token).status_code == 303
    assert html_lang(page(client, "/s/ch/")) == "de-CH"


# --- the browser's languages ---------------------------------------------------------------

@pytest.mark.parametrize(("accept", "expected"), [
    ("de", "de-CH"),                          # a language alone finds the Swiss variant
    ("de-DE,de;q=0.9,en;q=0.5", "de-CH"),
    ("de-CH", "de-CH"),
    ("en-GB,en;q=0.8", "fr-CH"),              # nothing offered: the shop's own locale
    ("it-CH, fr;q=0.5, de;q=0.4", "fr-CH"),  # the visitor's preference order counts
    ("", "fr-CH"),
])
def test_the_browsers_language_among_the_offered_ones(client, shops, accept, expected):
    assert html_lang(page(client, "/s/ch/", **{"Accept-Language": accept})) == expected


def test_the_visitors_choice_wins_over_the_browser(client, shops):
    choose(client, "ch", "fr_CH")
    assert html_lang(page(client, "/s/ch/", **{"Accept-Language": "de"})) == "fr-CH"


def test_caches_are_told_the_page_depends_on_the_browsers_language(client, shops):
    assert "Accept-Language" in client.get("/s/ch/").headers.get("Vary", "")
    assert "Accept-Language" not in client.get("/s/fr/").headers.get("Vary", "")
