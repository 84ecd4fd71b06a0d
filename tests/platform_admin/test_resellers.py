"""An office's tenant admins see their resellers' figures, read-only, and no one else's."""

from __future__ import annotations

import pytest

from tests.conftest import translated
from tests.platform_admin.conftest import add_order, add_shop_user, shop_client


@pytest.fixture
def shops(app, make_tenant):
    fr = make_tenant("fr", name="Comptoir France")
    acme = make_tenant("acme", name="ACME", parent="fr")
    de = make_tenant("de", name="Comptoir Deutschland", country="DE", locale="de_DE")
    berlin = make_tenant("berlin", name="Berlin IT", parent="de")
    for shop in (fr, acme, de, berlin):
        add_shop_user(app, shop, f"admin@{shop.slug}.example", "tenant_admin")
    add_shop_user(app, fr, "staff@fr.example", "staff")
    add_order(app, acme, "250.00")
    add_order(app, berlin, "999.00")
    return fr, acme, de, berlin


def test_an_office_admin_sees_its_resellers_figures(app, shops):
    client = shop_client(app, "fr", "admin@fr.example")
    response = client.get("/s/fr/staff/settings/resellers")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert translated(app, "fr_FR", "Resellers") in page
    assert 'data-slug="acme"' in page and 'data-slug="berlin"' not in page
    assert '<td class="orders">1</td>' in page and "250,00" in page
    assert "999" not in page
    detail = client.get("/s/fr/staff/settings/resellers/acme")
    assert detail.status_code == 200 and "250,00" in detail.get_data(as_text=True)
    assert "Comptoir France" in detail.get_data(as_text=True)  # the page around it still knows


def test_another_offices_reseller_is_404(app, shops):
    client = shop_client(app, "de", "admin@de.example")
    page = client.get("/s/de/staff/settings/resellers").get_data(as_text=True)
    assert 'data-slug="berlin"' in page and 'data-slug="acme"' not in page
    assert client.get("/s/de/staff/settings/resellers/acme").status_code == 404
    assert client.get("/s/de/staff/settings/resellers/fr").status_code == 404


def test_resellers_staff_and_visitors_may_not(app, shops):
    reseller_admin = shop_client(app, "acme", "admin@acme.example")
    assert reseller_admin.get("/s/acme/staff/settings/resellers").status_code == 403
    staff = shop_client(app, "fr", "staff@fr.example")
    assert staff.get("/s/fr/staff/settings/resellers").status_code == 403
    assert app.test_client().get("/s/fr/staff/settings/resellers").status_code == 302
    # A tenant admin logged in on the shop is nobody on the platform console.
    assert shop_client(app, "fr", "admin@fr.example").get("/platform/").status_code == 302
