"""The platform admin: onboarding, editing and suspending tenants, and the dashboard.

- :mod:`.models`: ``platform_admins`` and ``plugin_errors`` (platform tables);
- :mod:`.auth`: the platform admins' own log-in, session timeouts and throttle;
- :mod:`.onboarding`: a new tenant, its plugins and its first admin, in one transaction;
- :mod:`.figures`: order volume, plugin errors and plugin status per tenant, each read in
  the tenant's own scope;
- :mod:`.errors`: plugin failures recorded per tenant on a connection of their own;
- :mod:`.views`: ``/platform/...`` on the platform host, and ``/staff/settings/resellers``
  for an office's tenant admins;
- :mod:`.cli`: ``comptoir platform admins ...`` and ``comptoir tenants suspend|resume``.

See docs/platform-admin.md.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request

from comptoir.tenants.resolution import TenantSuspended


def _suspended(exc: TenantSuspended) -> Any:
    """A suspended shop's answer to everything: a themed page, or JSON on the API."""
    from comptoir.core.db import db
    from comptoir.core.themes import render

    db.session.rollback()
    if request.path.startswith("/api/"):
        from comptoir.api.errors import error_body

        # The API's one error shape, so an integrator's client needs no special case.
        return (error_body(exc.code, "shop_suspended", exc.description), exc.code,
                {"Retry-After": "3600"})
    return (render("platform_admin/closed.html", shop=g.get("tenant")), exc.code,
            {"Retry-After": "3600"})


def init_app(app: Flask) -> None:
    """Register the pages, the suspended-shop answer, failure recording and the CLI."""
    from comptoir.core.plugins import PluginHost
    from comptoir.platform_admin import cli, errors, models, views  # noqa: F401

    app.register_blueprint(views.bp)
    app.register_blueprint(views.resellers_bp)
    app.register_error_handler(TenantSuspended, _suspended)
    host: PluginHost = app.extensions["comptoir.plugins"]
    host.failure_listeners.append(errors.record)
    for command in cli.COMMANDS:
        app.cli.add_command(command)
    from comptoir.core.cli import tenants_cli

    for command in cli.TENANT_COMMANDS:
        tenants_cli.add_command(command)
