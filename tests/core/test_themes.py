"""Themes: tenant -> office -> default, one memoized environment per chain, no mix-ups."""

from __future__ import annotations

import pytest

from comptoir.core.db import db
from comptoir.core.themes import themes
from comptoir.tenants import service

HOME = """{% extends "base.html" %}{% block content %}<p id="marker">THEME:NAME for
{{ tenant.slug }}</p>{% endblock %}"""


@pytest.fixture
def theme_root(tmp_path):
    root = tmp_path / "themes"
    for name in ("red", "blue", "office"):
        templates = root / name / "templates" / "storefront"
        templates.mkdir(parents=True)
        (templates / "listing.html").write_text(HOME.replace("NAME", name))
    # "office" also overrides the product page, which "red" does not.
    (root / "office" / "templates" / "storefront" / "product.html").write_text("OFFICE PRODUCT")
    (root / "red" / "static").mkdir()
    (root / "red" / "static" / "comptoir.css").write_text("/* red */")
    return root


@pytest.fixture
def app(app_factory, theme_root):
    return app_factory(THEME_PATHS=str(theme_root))


def marker(client, slug):
    html = client.get(f"/s/{slug}/").get_data(as_text=True)
    return html.split('<p id="marker">', 1)[1].split("</p>", 1)[0].split()


def test_two_tenants_never_receive_each_others_template(app, client, make_tenant):
    make_tenant("one", theme="red")
    make_tenant("two", theme="blue")
    make_tenant("plain")
    for _ in range(3):  # interleaved, so a shared cache would show
        assert marker(client, "one") == ["THEME:red", "for", "one"]
        assert marker(client, "two") == ["THEME:blue", "for", "two"]
        assert '<p id="marker">' not in client.get("/s/plain/").get_data(as_text=True)


def test_reseller_falls_back_to_office_theme_then_default(app, client, make_tenant):

    from comptoir.catalog import service as catalog
    from tests.conftest import as_tenant

    make_tenant("office", theme="office")
    reseller = make_tenant("red-reseller", parent="office", theme="red")
    with as_tenant(app, reseller):
        catalog.create_product("P1", "Laptop", "999.00")
        db.session.commit()
    assert marker(client, "red-reseller") == ["THEME:red", "for", "red-reseller"]
    # red has no product page: the office theme's wins over the default one
    assert client.get("/s/red-reseller/products/P1").get_data(as_text=True) == "OFFICE PRODUCT"
    # and nobody overrides the login page: the default theme serves it
    assert "<form" in client.get("/s/red-reseller/login").get_data(as_text=True)


def test_one_environment_per_chain_reused_across_requests(app, client, make_tenant):
    make_tenant("one", theme="red")
    make_tenant("also-red", theme="red")
    client.get("/s/one/")
    client.get("/s/also-red/")
    with app.app_context():
        memo = themes()._environments
        assert list(memo) == [("red", "default")]
        env = memo[("red", "default")]
    client.get("/s/one/")
    with app.app_context():
        assert themes()._environments[("red", "default")] is env


def test_changing_a_theme_takes_effect_and_clears_the_memo(app, client, make_tenant):
    make_tenant("one", theme="red")
    assert marker(client, "one")[0] == "THEME:red"
    with app.app_context():
        tenant = service.get_tenant("one")
        tenant.theme = "blue"
        db.session.commit()
    assert marker(client, "one")[0] == "THEME:blue"
    with app.app_context():
        assert ("red", "default") not in themes()._environments


def test_theme_static_files_follow_the_chain(app, client, make_tenant):
    make_tenant("one", theme="red")
    make_tenant("two", theme="blue")
    assert client.get("/s/one/theme/comptoir.css").get_data(as_text=True) == "/* red */"
    assert "--brand" in client.get("/s/two/theme/comptoir.css").get_data(as_text=True)
    assert client.get("/s/two/theme/../../secret").status_code == 404


def test_unknown_theme_is_refused_when_creating_a_tenant(app, make_tenant):
    with pytest.raises(service.TenantError, match="no theme named 'purple'"):
        make_tenant("one", theme="purple")
