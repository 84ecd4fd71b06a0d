"""``/staff/settings/plugins``: a tenant admin turns plugins on and off and sets them up from
forms generated from each plugin's schema; other shops and other roles get nothing."""

from __future__ import annotations

from comptoir.core.db import db
from comptoir.tenants.models import Tenant, TenantPlugin
from tests.conftest import translated
from tests.shop_settings.conftest import logged_in

PAGE = "/staff/settings/plugins"


def _rows(app, slug):
    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug=slug).one()
        return {p.plugin: (p.enabled, dict(p.settings or {})) for p in
                db.session.query(TenantPlugin).filter_by(tenant_id=tenant.id)}


def _enabled(app_factory, slug):
    """What another process (a fresh app, its own tenant cache) serves for ``slug``."""
    from comptoir import toolkit

    other = app_factory()
    with other.app_context():
        return toolkit.find_tenant(slug).plugins


def test_a_reseller_admin_turns_a_plugin_on_and_it_is_live_at_once(app, app_factory,
                                                                      offices, admin):
    client = admin("acme")
    page = client.get(f"/s/acme{PAGE}")
    assert page.status_code == 200
    assert 'id="plugin-newsletters"' in page.get_data(as_text=True)
    assert "newsletters" not in _enabled(app_factory, "acme")

    saved = client.post(f"/s/acme{PAGE}", data={"plugin": "newsletters", "action": "switch",
                                                "state": "on"})
    assert saved.status_code == 303
    assert "newsletters" in _enabled(app_factory, "acme")
    assert _rows(app, "acme")["newsletters"][0] is True
    # The office and the other country saw nothing of it.
    assert "newsletters" not in _rows(app, "fr") and "newsletters" not in _rows(app, "gb")

    client.post(f"/s/acme{PAGE}", data={"plugin": "newsletters", "action": "switch",
                                        "state": "inherit"})
    assert _rows(app, "acme")["newsletters"][0] is None
    assert "newsletters" not in _enabled(app_factory, "acme")


def test_settings_come_from_the_schema_and_bad_values_change_nothing(app, offices, admin):
    client = admin("fr")
    good = client.post(f"/s/fr{PAGE}", data={"plugin": "newsletters", "action": "settings",
                                             "ps-batch_size": "50"})
    assert good.status_code == 303
    assert _rows(app, "fr")["newsletters"][1]["batch_size"] == 50

    for value, message in (("lots", "Enter a whole number."), ("0", None)):
        bad = client.post(f"/s/fr{PAGE}", data={"plugin": "newsletters", "action": "settings",
                                                "ps-batch_size": value})
        assert bad.status_code == 400
        body = bad.get_data(as_text=True)
        assert 'id="error-newsletters.batch_size"' in body
        if message:
            assert translated(app, "fr_FR", message) in body
        assert _rows(app, "fr")["newsletters"][1]["batch_size"] == 50


def test_a_secret_setting_is_never_shown_and_an_empty_input_keeps_it(app, offices, admin):
    client = admin("fr")
    client.post(f"/s/fr{PAGE}", data={"plugin": "newsletters", "action": "settings",
                                      "ps-smtp_password": "s3cret-value"})
    assert _rows(app, "fr")["newsletters"][1]["smtp_password"] == "s3cret-value"
    assert "s3cret-value" not in client.get(f"/s/fr{PAGE}").get_data(as_text=True)
    client.post(f"/s/fr{PAGE}", data={"plugin": "newsletters", "action": "settings",
                                      "ps-smtp_password": "", "ps-batch_size": "70"})
    settings = _rows(app, "fr")["newsletters"][1]
    assert settings["smtp_password"] == "s3cret-value" and settings["batch_size"] == 70


def test_bad_switches_are_refused_by_name(app, offices, admin):
    client = admin("fr")
    unknown = client.post(f"/s/fr{PAGE}", data={"plugin": "nope", "action": "switch",
                                                "state": "on"})
    assert unknown.status_code == 400
    assert translated(app, "fr_FR", "There is no plugin named “%(name)s”.", name="nope") \
        in unknown.get_data(as_text=True)
    # An office has no office to defer to.
    inherit = client.post(f"/s/fr{PAGE}", data={"plugin": "newsletters", "action": "switch",
                                                "state": "inherit"})
    assert inherit.status_code == 400
    assert translated(app, "fr_FR", "Choose on or off.") in inherit.get_data(as_text=True)
    assert "newsletters" not in _rows(app, "fr")


def test_only_the_shops_own_admins_reach_it(app, client, offices, admin):
    assert client.get(f"/s/fr{PAGE}").status_code == 302  # to the login page
    assert logged_in(app, "fr", "staff@fr.example").get(f"/s/fr{PAGE}").status_code == 403
    # The UK office's admin, on the French shop, is a visitor there.
    stranger = admin("gb")
    assert stranger.post(f"/s/fr{PAGE}", data={"plugin": "newsletters", "action": "switch",
                                               "state": "on"}).status_code in (302, 403)
    assert "newsletters" not in _rows(app, "fr")
