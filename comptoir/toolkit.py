"""The stable face of the core for plugins: import from here, and only from here.

Like CKAN's ``plugins.toolkit``, this module is a promise: names here keep their meaning
across releases while the core's insides move. A plugin that reaches past it may break on
any upgrade.

Example::

    from comptoir.toolkit import hookimpl, Markup

    @hookimpl
    def comptoir_page_blocks(tenant, slot):
        if slot == "home":
            return Markup("<p>Free delivery this week</p>")
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_babel import gettext, lazy_gettext, ngettext
from markupsafe import Markup

from comptoir.core.db import db
from comptoir.core.i18n import money
from comptoir.core.plugins import hookimpl, hooks, plugin_host
from comptoir.core.scoping import OfficeShared, TenantScoped, current_tenant_id, tenant_context
from comptoir.core.themes import render
from comptoir.tenants.directory import TenantInfo


def current_tenant() -> TenantInfo | None:
    """The tenant of the current request, or ``None`` on platform pages."""
    from flask import g

    return g.get("tenant")


@contextmanager
def as_tenant(tenant: TenantInfo) -> Iterator[None]:
    """Work as ``tenant`` outside a request (jobs, CLI commands); see ``tenant_context``."""
    with tenant_context(db.session, tenant.id, tenant.office_id):
        yield


def plugin_settings(plugin: str, tenant: TenantInfo | None = None) -> dict[str, Any]:
    """Effective settings of ``plugin`` for ``tenant``: schema defaults, office, then own.

    A deep copy: changing it changes nothing cached for this or any other tenant.
    """
    tenant = tenant if tenant is not None else current_tenant()
    values = plugin_host().settings_defaults(plugin)
    if tenant is not None:
        values.update(tenant.settings_for(plugin))
    return copy.deepcopy(values)


__all__ = [
    "Markup",
    "OfficeShared",
    "as_tenant",
    "TenantInfo",
    "TenantScoped",
    "current_tenant",
    "current_tenant_id",
    "db",
    "gettext",
    "hookimpl",
    "hooks",
    "lazy_gettext",
    "money",
    "ngettext",
    "plugin_settings",
    "render",
]
