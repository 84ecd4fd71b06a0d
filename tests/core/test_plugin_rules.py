"""Rules the plugin host enforces so that a plugin turned off really is off."""

from __future__ import annotations

import pytest

from comptoir.catalog import service as catalog
from comptoir.core.db import db
from comptoir.core.plugins import PluginError, plugin_host
from comptoir.tenants import service
from tests.conftest import as_tenant
from tests.fixtures import rude_plugins


def register(app, name, plugin):
    """Register a test plugin object (COMPTOIR_PLUGINS takes modules only)."""
    with app.app_context():
        plugin_host().register(name, plugin)


def test_nested_blueprint_routes_follow_the_plugins_switch(app_factory, make_tenant):
    app = app_factory(PLUGINS="tests.fixtures.nested_plugin")
    make_tenant("on")
    make_tenant("off")
    with app.app_context():
        service.set_plugin_enabled(service.get_tenant("on"), "nested", True)
        db.session.commit()
    client = app.test_client()
    assert client.get("/s/on/nest/child/").get_data(as_text=True) == "nested child page"
    assert client.get("/s/off/nest/child/").status_code == 404


def test_app_wide_blueprint_hooks_are_refused(app_factory, monkeypatch):
    import tests.fixtures.banner_plugin as banner

    monkeypatch.setattr(banner, "comptoir_blueprints", rude_plugins.AppWideHook.comptoir_blueprints)
    with pytest.raises(PluginError, match="app-wide after_request"):
        app_factory(PLUGINS="tests.fixtures.banner_plugin")


def test_hook_wrappers_are_refused(app):
    with pytest.raises(PluginError, match="hook wrapper"):
        register(app, "wrapper", rude_plugins.Wrapper)


def test_plugin_template_vars_cannot_replace_core_ones(app, client, make_tenant):
    register(app, "hijacker", rude_plugins.Hijacker)
    make_tenant("shop", name="The Shop", plugins=["hijacker"])
    html = client.get("/s/shop/").get_data(as_text=True)
    assert "<title>The Shop</title>" in html and "HIJACKED" not in html


def test_plugin_template_vars_reach_the_template(app, client, make_tenant, tmp_path):
    register(app, "hijacker", rude_plugins.Hijacker)
    make_tenant("shop", plugins=["hijacker"])
    with app.test_request_context("/"):
        from flask import g

        from comptoir.core.themes import render
        from comptoir.tenants.resolution import directory

        g.tenant = directory().by_slug("shop")
        env = app.extensions["comptoir.themes"].environment(g.tenant.theme_chain)
        env.loader.loaders.insert(0, __import__("jinja2").DictLoader({"t.html": "{{ promo }}"}))
        try:
            assert render("t.html") == "PROMO-OK"
        finally:
            env.loader.loaders.pop(0)


def test_a_vat_table_that_is_not_one_is_ignored_not_a_crash(app, client, make_tenant):
    register(app, "badvat", rude_plugins.BadVat)
    shop = make_tenant("shop", plugins=["badvat"])
    with as_tenant(app, shop):
        catalog.create_product("P1", "PC", "100.00")
        db.session.commit()
    response = client.get("/s/shop/products/P1")
    assert response.status_code == 200
    assert "La TVA n’est pas encore configurée" in response.get_data(as_text=True)
