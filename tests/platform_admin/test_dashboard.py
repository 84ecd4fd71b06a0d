"""The dashboard's figures per tenant, each read in that tenant's scope (RLS on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from comptoir.core.db import db
from comptoir.platform_admin import views
from tests.conftest import as_tenant
from tests.platform_admin.conftest import add_order


def _row(page: str, slug: str) -> str:
    start = page.index(f'data-slug="{slug}"')
    return page[start:page.index("</tr>", start)]


@pytest.fixture
def shops(make_tenant):
    fr = make_tenant("fr", name="Comptoir France", plugins=["newsletters"])
    acme = make_tenant("acme", name="ACME", parent="fr")
    gb = make_tenant("gb", name="Comptoir UK", country="GB", locale="en_GB", currency="GBP")
    return fr, acme, gb


def test_each_tenant_shows_its_own_orders_and_revenue(app, admin_client, shops):
    fr, acme, gb = shops
    add_order(app, fr, "1200.50", number=1)
    add_order(app, fr, "99.50", number=2)
    add_order(app, fr, "5000.00", number=3, status="cancelled")  # not counted
    add_order(app, fr, "700.00", number=4, days_ago=45)  # too old
    add_order(app, gb, "80.00", number=1, currency="GBP")
    page = admin_client.get("/platform/").get_data(as_text=True)
    fr_row, acme_row, gb_row = (_row(page, s) for s in ("fr", "acme", "gb"))
    assert '<td class="orders">2</td>' in fr_row and "€1,300.00" in fr_row
    assert '<td class="orders">1</td>' in gb_row and "£80.00" in gb_row
    assert '<td class="orders">0</td>' in acme_row and "€0.00" in acme_row
    assert "newsletters" in fr_row and "newsletters" in acme_row  # inherited from its office
    assert "newsletters" not in gb_row


def test_newsletter_status_comes_from_the_plugin(app, admin_client, shops):
    from plugins.newsletters.models import Campaign, Delivery

    fr, acme, gb = shops
    with as_tenant(app, fr):
        db.session.add(Campaign(name="Novembre", status="sending"))
        for i, status in enumerate(["queued", "queued", "failed", "sent"]):
            db.session.add(Delivery(dedupe_key=f"k{i}", email=f"r{i}@example.fr",
                                    status=status))
        db.session.add(Delivery(dedupe_key="old", email="old@example.fr", status="failed",
                                created_at=datetime.now(UTC) - timedelta(days=2)))
        db.session.commit()
    page = admin_client.get("/platform/").get_data(as_text=True)
    fr_row = _row(page, "fr")
    assert "Newsletter deliveries queued (24 h): <strong>2</strong>" in fr_row
    assert 'level-warning">Newsletter deliveries failed (24 h): <strong>1</strong>' in fr_row
    assert "Last campaign: <strong>Novembre: sending</strong>" in fr_row
    assert "Newsletter" not in _row(page, "gb")  # plugin off: nothing asked


def test_search_filter_and_pages(app, admin_client, shops, monkeypatch):
    page = admin_client.get("/platform/?q=ACM").get_data(as_text=True)
    assert 'data-slug="acme"' in page and 'data-slug="gb"' not in page
    page = admin_client.get("/platform/?kind=office").get_data(as_text=True)
    assert 'data-slug="fr"' in page and 'data-slug="acme"' not in page
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = admin_client.get("/platform/").get_data(as_text=True)
    second = admin_client.get("/platform/?page=2").get_data(as_text=True)
    assert 'data-slug="acme"' in first and 'data-slug="fr"' in first
    assert 'data-slug="gb"' in second and 'data-slug="fr"' not in second
    assert "Page 2 of 2" in second
    assert admin_client.get("/platform/?page=abc").status_code == 200  # back to page 1


def test_the_tenant_page_edits_name_domains_brand_and_plugins(app, admin_client, shops):
    response = admin_client.post("/platform/tenants/acme", data={
        "name": "ACME Informatique", "domains": "shop.acme.fr", "theme": "",
        "primary_color": "#0b7a75", "accent_color": "", "plugin-newsletters": "off"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = app.test_client().get("/s/acme/").get_data(as_text=True)
    assert "ACME Informatique" in page and "#0b7a75" in page
    assert "shop.acme.fr" in admin_client.get("/platform/tenants/acme").get_data(as_text=True)
    dashboard = admin_client.get("/platform/").get_data(as_text=True)
    assert "newsletters" not in _row(dashboard, "acme")
    bad = admin_client.post("/platform/tenants/acme", data={
        "name": "Renamed", "domains": "", "primary_color": "blue"})
    assert bad.status_code == 400 and "primary_color:" in bad.get_data(as_text=True)
    assert "ACME Informatique" in app.test_client().get("/s/acme/").get_data(as_text=True)
