"""Isolated plugin failures are recorded per tenant, on their own connection."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from comptoir.core.db import db
from comptoir.platform_admin import errors
from comptoir.platform_admin.models import PluginFailure
from tests.platform_admin.conftest import FAST_HASHES, log_in

BROKEN = "tests.fixtures.broken_plugin"


@pytest.fixture
def app(app_factory):
    return app_factory(PLUGINS=BROKEN, PASSWORD_HASH_PARAMETERS=FAST_HASHES)


def _failures(app):
    with app.app_context():
        return [(f.tenant_id, f.plugin, f.hook, f.count, f.last_message)
                for f in db.session.scalars(select(PluginFailure).order_by(PluginFailure.id))]


def test_failures_are_counted_per_tenant_and_shown(app, make_tenant, platform_admin):
    fr = make_tenant("fr", plugins=["broken"])
    gb = make_tenant("gb", country="GB", locale="en_GB", currency="GBP")
    client = app.test_client()
    assert client.get("/s/fr/").status_code == 200  # the page still renders
    assert client.get("/s/fr/").status_code == 200
    assert client.get("/s/gb/").status_code == 200
    found = _failures(app)
    assert {(t, p, h) for t, p, h, _, _ in found} == {(fr.id, "broken", "comptoir_page_blocks")}
    assert found[0][3] >= 2
    assert found[0][4] == "RuntimeError: broken plugin exploded"
    assert gb.id not in {t for t, *_ in found}

    admin = app.test_client()
    log_in(admin)
    dashboard = admin.get("/platform/").get_data(as_text=True)
    assert f'/platform/tenants/fr/errors">{found[0][3]}</a>' in dashboard
    detail = admin.get("/platform/tenants/fr/errors").get_data(as_text=True)
    assert "comptoir_page_blocks" in detail and "broken plugin exploded" in detail
    assert "No plugin failed" in admin.get("/platform/tenants/gb/errors").get_data(as_text=True)


def test_recording_that_fails_never_fails_the_request(app, make_tenant, monkeypatch):
    make_tenant("fr", plugins=["broken"])

    monkeypatch.setattr(errors, "PluginFailure", None)  # recording raises AttributeError
    assert app.test_client().get("/s/fr/").status_code == 200
    assert _failures(app) == []


def test_a_failure_is_kept_when_the_request_rolls_back(app, make_tenant):
    from comptoir.core.plugins import hooks
    from comptoir.tenants.resolution import directory

    fr = make_tenant("fr", plugins=["broken"])
    with app.test_request_context("/s/fr/"):
        from comptoir.core import scoping

        token = scoping.activate(fr.id, fr.id)
        try:
            info = directory().by_id(fr.id)
            hooks(info).comptoir_vat_table(tenant=info, country="FR")
            db.session.rollback()
        finally:
            scoping.deactivate(token)
    assert [(h, c) for _, _, h, c, _ in _failures(app)] == [("comptoir_vat_table", 1)]
