"""The tenant directory's cache under concurrent change."""

from __future__ import annotations

import threading

from comptoir.core.db import db
from comptoir.tenants import directory as directory_module
from comptoir.tenants import service
from comptoir.tenants.resolution import directory


def test_a_lookup_that_raced_a_change_is_not_cached(app, make_tenant, monkeypatch):
    """A worker thread reads the old configuration, is descheduled while an admin enables a
    plugin, then resumes: its stale answer must not be served to later requests."""
    make_tenant("shop")
    original = directory_module.build_info
    has_read, may_continue = threading.Event(), threading.Event()

    def slow_build_info(conn, row):
        info = original(conn, row)
        if threading.current_thread().name == "slow-worker":
            has_read.set()
            may_continue.wait(5)
        return info

    monkeypatch.setattr(directory_module, "build_info", slow_build_info)
    with app.app_context():
        tenants = directory()
        worker = threading.Thread(target=lambda: tenants.by_slug("shop"), name="slow-worker")
        worker.start()
        assert has_read.wait(5)
        service.set_plugin_enabled(service.get_tenant("shop"), "locale_fr", True)
        db.session.commit()
        assert "locale_fr" in tenants.by_id(service.get_tenant("shop").id).plugins
        may_continue.set()
        worker.join(5)
        assert "locale_fr" in tenants.by_slug("shop").plugins


def test_cached_settings_cannot_be_changed_through_a_returned_value(app, make_tenant):
    from comptoir.toolkit import plugin_settings

    make_tenant("shop", plugins=["approvals"])
    with app.app_context():
        service.update_plugin_settings(service.get_tenant("shop"), "approvals",
                                       {"signing_limits": ["0", "20000", "500000"]})
        db.session.commit()
        info = directory().by_slug("shop")
        limits = plugin_settings("approvals", info)["signing_limits"]
        limits.append("999999")
        assert plugin_settings("approvals", directory().by_slug("shop"))["signing_limits"] == [
            "0", "20000", "500000"]
