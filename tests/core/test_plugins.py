"""Plugins: per-tenant subsets, no restart to enable, failures isolated, settings validated."""

from __future__ import annotations

import logging
from datetime import date

import pluggy
import pytest
from markupsafe import Markup

from comptoir.core.db import db
from comptoir.core.plugins import PluginError, PluginSettingsError, hooks, plugin_host
from comptoir.tenants import service
from tests.fixtures.banner_plugin import MARKER

BANNER = "tests.fixtures.banner_plugin"
BROKEN = "tests.fixtures.broken_plugin"


@pytest.fixture
def app(app_factory):
    return app_factory(PLUGINS=f"{BANNER},{BROKEN}")


def _set(app, slug, plugin, enabled):
    with app.app_context():
        service.set_plugin_enabled(service.get_tenant(slug), plugin, enabled)
        db.session.commit()


def test_builtin_plugins_come_from_entry_points(app):
    with app.app_context():
        names = plugin_host().names()
    assert {"approvals", "affiliates", "locale_fr", "newsletters"} <= set(names)


def test_plugin_off_has_no_effect(app, client, make_tenant):
    make_tenant("on", plugins=["banner"])
    make_tenant("off")
    on_page = client.get("/s/on/").get_data(as_text=True)
    off_page = client.get("/s/off/").get_data(as_text=True)
    assert f"{MARKER} for on" in on_page and "Banner deals" in on_page
    assert MARKER not in off_page and "Banner deals" not in off_page


def test_plugin_routes_answer_only_where_enabled(app, client, make_tenant):
    make_tenant("on", plugins=["banner"])
    make_tenant("off")
    assert client.get("/s/on/banner/").get_data(as_text=True) == "banner page of on"
    assert client.get("/s/off/banner/").status_code == 404
    assert client.get("/banner/").status_code == 404  # platform host: no tenant


def test_enable_and_disable_take_effect_next_request_in_every_process(
    app_factory, make_tenant
):
    worker_a = app_factory(PLUGINS=BANNER)
    worker_b = app_factory(PLUGINS=BANNER)
    make_tenant("shop")
    client_b = worker_b.test_client()
    assert MARKER not in client_b.get("/s/shop/").get_data(as_text=True)  # now cached

    _set(worker_a, "shop", "banner", True)  # as `comptoir plugins enable` would
    assert MARKER in client_b.get("/s/shop/").get_data(as_text=True)

    _set(worker_a, "shop", "banner", False)
    assert MARKER not in client_b.get("/s/shop/").get_data(as_text=True)


def test_reseller_inherits_office_plugins_unless_it_says_otherwise(app, client, make_tenant):
    make_tenant("office", plugins=["banner"])
    make_tenant("heir", parent="office")
    make_tenant("rebel", parent="office")
    _set(app, "rebel", "banner", False)
    assert f"{MARKER} for heir" in client.get("/s/heir/").get_data(as_text=True)
    assert MARKER not in client.get("/s/rebel/").get_data(as_text=True)
    _set(app, "office", "banner", False)
    assert MARKER not in client.get("/s/heir/").get_data(as_text=True)


def test_failing_plugin_is_logged_and_page_still_renders(app, client, make_tenant, caplog):
    make_tenant("fragile", plugins=["broken", "banner"])
    make_tenant("bystander", plugins=["banner"])
    with caplog.at_level(logging.ERROR, logger="comptoir.plugins"):
        page = client.get("/s/fragile/")
    assert page.status_code == 200
    assert f"{MARKER} for fragile" in page.get_data(as_text=True)  # other plugins still run
    failures = [r for r in caplog.records if getattr(r, "plugin", None) == "broken"]
    assert failures and failures[0].hook == "comptoir_page_blocks"
    assert client.get("/s/bystander/").status_code == 200
    with app.app_context():
        assert plugin_host().failures["broken"] >= 1


def test_failing_firstresult_hook_falls_through_to_next_plugin(app, make_tenant):
    tenant = make_tenant("taxed", plugins=["broken", "locale_fr"])
    with app.test_request_context("/s/taxed/"):
        from comptoir.tenants.resolution import directory

        info = directory().by_slug("taxed")
        table = hooks(info).comptoir_vat_table(tenant=info, country="FR")
        rate = table.rate("standard", date(2026, 1, 1))
    assert tenant.slug == "taxed" and str(rate) == "20"


def test_specname_implementations_are_refused_at_start(app_factory):
    with pytest.raises(PluginError, match="specname"):
        app_factory(PLUGINS="tests.fixtures.specname_plugin")


def test_misspelled_hook_fails_at_start(app_factory):
    with pytest.raises(pluggy.PluginValidationError, match="comptoir_page_block"):
        app_factory(PLUGINS="tests.fixtures.misspelled_plugin")


def test_relays_are_cached_per_enabled_set(app):
    with app.app_context():
        host = plugin_host()
        first = host.hooks(frozenset({"banner"}))
        assert host.hooks(frozenset({"banner"})) is first
        assert first.comptoir_page_blocks is first.comptoir_page_blocks
        assert host.hooks(frozenset()) is not first


def test_platform_pages_call_no_optional_plugin(app):
    with app.test_request_context("/"):
        from flask import g

        g.tenant = None
        assert hooks().comptoir_page_blocks(tenant=None, slot="home", context={}) == []


class TestSettings:
    def test_valid_settings_are_merged_and_stored(self, app, make_tenant):
        make_tenant("shop", plugins=["banner"])
        with app.app_context():
            tenant = service.get_tenant("shop")
            service.update_plugin_settings(tenant, "banner", {"headline": "Soldes"})
            merged = service.update_plugin_settings(tenant, "banner", {"percent": 20})
            db.session.commit()
        assert merged == {"headline": "Soldes", "percent": 20}

    @pytest.mark.parametrize(
        ("values", "field", "problem"),
        [
            ({"percent": 95}, "percent", "greater than the maximum of 90"),
            ({"percent": "ten"}, "percent", "is not of type 'integer'"),
            ({"headline": "x" * 31}, "headline", "is too long"),
            ({"colour": "red"}, None, "'colour' was unexpected"),
        ],
    )
    def test_bad_value_names_the_field_and_keeps_old_settings(
        self, app, make_tenant, values, field, problem
    ):
        make_tenant("shop", plugins=["banner"])
        with app.app_context():
            tenant = service.get_tenant("shop")
            service.update_plugin_settings(tenant, "banner", {"headline": "Soldes"})
            db.session.commit()
            with pytest.raises(PluginSettingsError) as refused:
                service.update_plugin_settings(tenant, "banner", values)
            db.session.rollback()
            assert refused.value.field == field
            assert problem in str(refused.value)
            if field:
                assert f"setting '{field}'" in str(refused.value)
            row = next(p for p in service.get_tenant("shop").plugins if p.plugin == "banner")
            assert row.settings == {"headline": "Soldes"}

    def test_reseller_settings_fall_back_to_office_then_schema_default(
        self, app, make_tenant, client
    ):
        make_tenant("office", plugins=["banner"])
        make_tenant("reseller", parent="office")
        with app.app_context():
            service.update_plugin_settings(service.get_tenant("office"), "banner",
                                           {"headline": "Office deals", "percent": 10})
            service.update_plugin_settings(service.get_tenant("reseller"), "banner",
                                           {"percent": 15})
            db.session.commit()
        with app.test_request_context("/s/reseller/"):
            from comptoir.tenants.resolution import directory
            from comptoir.toolkit import plugin_settings

            reseller = directory().by_slug("reseller")
            office = directory().by_slug("office")
            assert plugin_settings("banner", reseller) == {
                "headline": "Office deals", "percent": 15}
            assert plugin_settings("banner", office) == {"headline": "Office deals",
                                                         "percent": 10}

    def test_unknown_plugin_is_a_clear_error(self, app, make_tenant):
        make_tenant("shop")
        with app.app_context(), pytest.raises(PluginError, match="unknown plugin 'nope'"):
            service.set_plugin_enabled(service.get_tenant("shop"), "nope", True)


def test_blocks_escape_plain_strings(app, make_tenant):
    """A plugin returning a str (not Markup) cannot inject HTML."""
    from comptoir.app import _template_helpers

    make_tenant("shop")
    with app.test_request_context("/s/shop/"):
        from flask import g

        from comptoir.tenants.resolution import directory

        g.tenant = directory().by_slug("shop")
        relay = hooks(g.tenant)
        original = relay.comptoir_page_blocks
        relay.comptoir_page_blocks = lambda **kw: ["<script>x</script>", Markup("<b>ok</b>")]
        try:
            html = _template_helpers()["blocks"]("home")
        finally:
            relay.comptoir_page_blocks = original
    assert html == "&lt;script&gt;x&lt;/script&gt;<b>ok</b>"


def test_an_empty_booking_answer_does_not_skip_the_other_plugins_claims():
    """``comptoir_order_booking`` is firstresult: a plugin answering "" or False (meaning
    "no refusal", in the wrong shape) stopped pluggy there, so a plugin called after it
    never recorded its claim, and the order was booked with a discount claimed by nobody."""
    from comptoir.core.plugins import PluginHost, hookimpl

    claimed = []

    class Claims:
        @staticmethod
        @hookimpl
        def comptoir_order_booking(tenant, order, user):
            claimed.append(order)

    class Quiet:
        @staticmethod
        @hookimpl
        def comptoir_order_booking(tenant, order, user):
            return ""

    host = PluginHost()
    host.register("claims", Claims())  # registered first, so pluggy calls it last
    host.register("quiet", Quiet())
    relay = host.hooks(frozenset({"claims", "quiet"}))
    assert relay.comptoir_order_booking(tenant=None, order="order 1", user=None) is None
    assert claimed == ["order 1"]
