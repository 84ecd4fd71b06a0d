"""Onboarding from the browser: everything at once, live at once, or nothing at all."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.core.mail import outbox_messages
from comptoir.customers.models import User
from comptoir.tenants.models import Tenant, TenantDomain, TenantPlugin
from tests.conftest import as_tenant
from tests.platform_admin.conftest import ADMIN_EMAIL, count, tenant_count

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'


def _form(**changes):
    form = {
        "slug": "bureau-nord", "name": "Bureau Nord", "kind": "reseller", "parent": "fr",
        "country": "", "locale": "", "currency": "", "timezone": "Europe/Paris",
        "domains": "shop.bureau-nord.fr", "theme": "", "primary_color": "#112233",
        "accent_color": "#445566", "plugins": ["newsletters"],
        "plugin-newsletters-ps-batch_size": "50",
        "plugin-newsletters-ps-sender_name": "Bureau Nord",
        "admin_email": "Chloe@Bureau-Nord.fr", "admin_name": "Chloé Martin",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


@pytest.fixture
def office(make_tenant):
    return make_tenant("fr", name="Comptoir France")


def test_a_reseller_onboarded_in_the_browser_is_live_at_once_everywhere(
        app_factory, app, admin_client, office):
    other_worker = app_factory()  # another process, with its own tenant cache
    worker_client = other_worker.test_client()
    assert worker_client.get("/s/bureau-nord/").status_code == 404  # cached: no such shop
    before = worker_client.get("/", headers={"Host": "shop.bureau-nord.fr"})
    assert "Bureau Nord" not in before.get_data(as_text=True)  # not that shop (yet)

    data = _form(logo=(io.BytesIO(SVG), "logo.svg"))
    response = admin_client.post("/platform/tenants/new", data=data,
                                 content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/platform/tenants/bureau-nord")

    # Live at once, on this worker and the other, at its slug and its domain, no restart.
    for client in (app.test_client(), worker_client):
        page = client.get("/s/bureau-nord/")
        assert page.status_code == 200 and "Bureau Nord" in page.get_data(as_text=True)
        by_domain = client.get("/", headers={"Host": "shop.bureau-nord.fr"})
        assert by_domain.status_code == 200 and "Bureau Nord" in by_domain.get_data(as_text=True)

    with app.app_context():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == "bureau-nord")).one()
        assert tenant.parent.slug == "fr" and tenant.kind == "reseller"
        assert tenant.logo == SVG and tenant.logo_type == "image/svg+xml"
        assert (tenant.primary_color, tenant.accent_color) == ("#112233", "#445566")
        assert [d.domain for d in tenant.domains] == ["shop.bureau-nord.fr"]
        plugin = next(p for p in tenant.plugins if p.plugin == "newsletters")
        assert plugin.enabled is True
        assert plugin.settings == {"batch_size": 50, "sender_name": "Bureau Nord"}
        tenant_id, office_id = tenant.id, tenant.parent_id
    with app.app_context(), as_tenant(app, tenant_id):
        users = db.session.scalars(select(User)).all()
        assert [(u.email, u.name, u.role) for u in users] == [
            ("chloe@bureau-nord.fr", "Chloé Martin", "tenant_admin")]
    assert office_id == office.id

    invitation = outbox_messages(app)[-1]
    assert invitation["To"] == "chloe@bureau-nord.fr"
    body = invitation.get_body(("plain",)).get_content()
    assert ADMIN_EMAIL in body  # who invited her
    assert "/s/bureau-nord/" in body or "shop.bureau-nord.fr" in body  # her shop's link


def test_an_office_with_its_own_language_and_currency(app, admin_client):
    response = admin_client.post("/platform/tenants/new", data=_form(
        slug="cz", name="Comptoir Česko", kind="office", parent="", country="CZ",
        locale="cs_CZ", currency="CZK", timezone="Europe/Prague", domains="", plugins=[],
        admin_email="", admin_name=""))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert app.test_client().get("/s/cz/").status_code == 200
    assert count(app, User) == 0  # no admin asked for, none invited


BAD_INPUT = [
    ({"slug": "Bad Slug!"}, "slug"),
    ({"slug": "www"}, "slug"),
    ({"name": "   "}, "name"),
    ({"kind": "franchise"}, "kind"),
    ({"parent": ""}, "parent"),
    ({"parent": "nowhere"}, "tenant"),
    ({"kind": "office", "parent": "", "country": ""}, "country"),
    ({"country": "XX"}, "country"),
    ({"locale": "xx_YY_ZZ"}, "locale"),
    ({"currency": "EURO"}, "currency"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"domains": "not a host!"}, "domains"),
    ({"theme": "no-such-theme"}, "theme"),
    ({"primary_color": "red"}, "primary_color"),
    ({"accent_color": "#12345"}, "accent_color"),
    ({"plugins": ["no_such_plugin"]}, "plugins"),
    ({"plugin-newsletters-ps-batch_size": "0"}, "plugin.newsletters.batch_size"),
    ({"plugin-newsletters-ps-batch_size": "many"}, "plugin.newsletters.batch_size"),
    ({"admin_email": "not an address"}, "admin_email"),
    ({"admin_name": ""}, "admin_name"),
    ({"admin_email": ""}, "admin_email"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_INPUT,
                         ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_INPUT)])
def test_bad_input_names_the_field_reshows_the_values_and_creates_nothing(
        app, admin_client, office, changes, field):
    before = (tenant_count(app), count(app, TenantDomain), count(app, TenantPlugin))
    outbox_before = len(outbox_messages(app))
    response = admin_client.post("/platform/tenants/new", data=_form(**changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page
    assert f"{field}:" in page
    assert "Nothing was created" in page
    assert 'value="Bureau Nord"' in page or changes.get("name") is not None  # values kept
    assert (tenant_count(app), count(app, TenantDomain), count(app, TenantPlugin)) == before
    assert len(outbox_messages(app)) == outbox_before  # no invitation went out
    assert app.test_client().get("/s/bureau-nord/").status_code == 404


def test_a_bad_logo_is_refused(app, admin_client, office):
    before = tenant_count(app)
    response = admin_client.post(
        "/platform/tenants/new", content_type="multipart/form-data",
        data=_form(logo=(io.BytesIO(b"MZ not an image"), "logo.exe")))
    assert response.status_code == 400 and "logo:" in response.get_data(as_text=True)
    assert tenant_count(app) == before


def test_a_taken_slug_or_domain_is_refused(app, admin_client, make_tenant, office):
    make_tenant("acme", parent="fr", domains=("shop.acme.fr",))
    before = tenant_count(app)
    taken_slug = admin_client.post("/platform/tenants/new", data=_form(slug="acme"))
    assert taken_slug.status_code == 400
    assert "already taken" in taken_slug.get_data(as_text=True)
    taken_domain = admin_client.post("/platform/tenants/new",
                                     data=_form(domains="SHOP.acme.fr"))
    assert taken_domain.status_code == 400
    assert "already serves another tenant" in taken_domain.get_data(as_text=True)
    assert tenant_count(app) == before


def test_the_form_offers_the_installed_plugins_with_their_settings(app, admin_client, office):
    page = admin_client.get("/platform/tenants/new").get_data(as_text=True)
    assert 'name="plugins" value="newsletters"' in page
    assert 'name="plugin-newsletters-ps-batch_size"' in page
    assert 'value="fr"' in page  # the office offered as parent


def test_onboarding_needs_a_platform_admin(app, office):
    client = app.test_client()
    before = tenant_count(app)
    assert client.post("/platform/tenants/new", data=_form()).status_code == 401
    assert tenant_count(app) == before
