"""Which tenant a request reaches: path prefix, subdomain, custom domain, or a 404."""

from __future__ import annotations

import pytest

from comptoir.core.db import db
from comptoir.tenants import service
from comptoir.tenants.resolution import directory


@pytest.fixture
def app(app_factory):
    return app_factory(PLATFORM_DOMAIN="shop.example")


@pytest.fixture
def shops(make_tenant):
    make_tenant("fr", name="Comptoir France")
    make_tenant("acme", name="ACME Informatique", parent="fr", domains=("www.acme.example",))
    make_tenant("de", name="Comptoir Deutschland", country="DE", locale="de_DE")


PLATFORM = "http://shop.example"


def title(response) -> str:
    html = response.get_data(as_text=True)
    return html.split("<title>", 1)[1].split("</title>", 1)[0]


def test_path_prefix_on_platform_host(client, shops):
    assert title(client.get("/s/fr/", base_url="http://shop.example")) == "Comptoir France"
    assert title(client.get("/s/acme/", base_url="http://shop.example")) == "ACME Informatique"


def test_links_keep_the_path_prefix(client, shops):
    html = client.get("/s/acme/", base_url="http://shop.example").get_data(as_text=True)
    assert 'href="/s/acme/login"' in html


def test_subdomain_of_platform_domain(client, shops):
    assert title(client.get("/", base_url="http://de.shop.example")) == "Comptoir Deutschland"


def test_custom_domain(client, shops):
    assert title(client.get("/", base_url="http://www.acme.example")) == "ACME Informatique"
    assert title(client.get("/", base_url="http://WWW.ACME.EXAMPLE:8443")) == "ACME Informatique"


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("/s/nope/", "http://shop.example"),  # unknown slug
        ("/", "http://nope.shop.example"),  # unknown subdomain
        ("/", "http://stranger.example"),  # host that is neither ours nor a tenant's
        ("/s/fr/", "http://www.acme.example"),  # no prefix on a tenant's own domain
        ("/s/fr/", "http://de.shop.example"),
    ],
)
def test_unknown_or_mixed_names_are_a_404_page_not_another_shop(client, shops, url, base):
    response = client.get(url, base_url=base)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<html" in html
    for shop in ("Comptoir France", "ACME Informatique", "Comptoir Deutschland"):
        assert shop not in html


def test_platform_home_lists_public_storefronts(client, make_tenant, shops):
    make_tenant("hidden", name="Hidden Office", public=False)
    html = client.get("/", base_url="http://shop.example").get_data(as_text=True)
    assert "Comptoir France" in html and "ACME Informatique" in html
    assert "Hidden Office" not in html
    assert 'href="http://www.acme.example/"' in html  # a custom domain wins
    assert 'href="http://fr.shop.example/"' in html  # then the subdomain


def test_development_links_use_the_path_prefix(app_factory, make_tenant):
    app = app_factory()  # no PLATFORM_DOMAIN: every host is the platform's
    make_tenant("fr", name="Comptoir France")
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'href="/s/fr/"' in html


def test_empty_platform_says_how_to_start(client):
    html = client.get("/", base_url="http://shop.example").get_data(as_text=True)
    assert "No storefront yet" in html


def test_resolution_is_cached_and_invalidated_on_change(app, client, shops):
    client.get("/s/fr/", base_url=PLATFORM)
    with app.app_context():
        tenants = directory()
        misses = tenants.misses
        for _ in range(20):
            client.get("/s/fr/", base_url=PLATFORM)
        assert tenants.misses == misses  # served from the cache
        service.create_tenant(service.TenantSpec(
            slug="gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP"))
        db.session.commit()
    assert title(client.get("/s/gb/", base_url=PLATFORM)) == "Comptoir UK"
    with app.app_context():
        assert directory().misses > misses


def test_unknown_slug_is_cached_too_and_forgotten_when_created(app, client, shops):
    assert client.get("/s/later/", base_url=PLATFORM).status_code == 404
    with app.app_context():
        service.create_tenant(service.TenantSpec(
            slug="later", name="Later", country="FR", locale="fr_FR", currency="EUR"))
        db.session.commit()
    assert client.get("/s/later/", base_url=PLATFORM).status_code == 200


def test_reseller_inherits_office_locale_and_currency(app, shops):
    with app.app_context():
        acme = directory().by_slug("acme")
    assert (acme.locale, acme.currency, acme.country, acme.office_slug) == (
        "fr_FR", "EUR", "FR", "fr")


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("/s/fr%00x/", PLATFORM),
        ("/s/fr/products/A%00B", PLATFORM),
        ("/s/FR/", PLATFORM),
        ("/s/" + "x" * 70 + "/", PLATFORM),
        ("/", "http://[::1]:5000"),
    ],
)
def test_malformed_names_are_a_404_without_touching_the_cache(app, client, shops, url, base):
    with app.app_context():
        before = directory().misses
    assert client.get(url, base_url=base).status_code == 404
    with app.app_context():
        assert directory().misses == before


def test_custom_domain_cannot_claim_the_platform_or_its_subdomains(app, shops):
    for domain in ("shop.example", "fr.shop.example", "x.fr.shop.example"):
        with app.app_context(), pytest.raises(service.TenantError, match="platform domain"):
            service.create_tenant(service.TenantSpec(
                slug="evil", name="Evil", parent="fr", kind="reseller", domains=(domain,)))


def test_repeated_domain_is_kept_once(app, shops):
    with app.app_context():
        tenant = service.create_tenant(service.TenantSpec(
            slug="twice", name="Twice", parent="fr", kind="reseller",
            domains=("twice.example", "TWICE.example.")))
        db.session.commit()
        assert [d.domain for d in tenant.domains] == ["twice.example"]
