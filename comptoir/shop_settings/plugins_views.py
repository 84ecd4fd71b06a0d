"""``/staff/settings/plugins``: a tenant admin turns plugins on or off and sets them up.

Installing a plugin offers it to every shop; each shop decides. A reseller may also leave a
plugin "as my office says", which is where every plugin starts. Each plugin's settings form
is generated from its JSON schema (:mod:`comptoir.shop_settings.plugin_form`), so a plugin
author writes no admin page; the schema refuses a bad value by field name and nothing changes.
Changes reach every worker on its next request, through the tenant directory's generation
counter, with no restart.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from comptoir.core.db import db
from comptoir.core.plugins import PluginSettingsError, plugin_host
from comptoir.core.themes import render
from comptoir.shop_settings import plugin_form
from comptoir.shop_settings.access import admins_only
from comptoir.tenants import service
from comptoir.tenants.models import Tenant

bp = Blueprint("shop_plugins", __name__, url_prefix="/staff/settings/plugins")
bp.before_request(admins_only)

#: What the switch posts, and what it stores in ``TenantPlugin.enabled``.
STATES = {"on": True, "off": False, "inherit": None}
#: Settings never written back into the page (an SMTP password, an API key): their input
#: stays empty, and leaving it empty keeps the stored value instead of removing it.
SECRET_WORDS = ("secret", "password", "token", "api_key")


def is_secret(name: str) -> bool:
    return any(word in name for word in SECRET_WORDS)


def _row() -> Tenant:
    row = db.session.get(Tenant, g.tenant.id)
    if row is None:
        abort(404)
    return row


def _own_state(row: Tenant, plugin: str) -> str:
    found = next((p for p in row.plugins if p.plugin == plugin), None)
    if found is None or found.enabled is None:
        return "inherit"
    return "on" if found.enabled else "off"


def _page(posted: MultiDict | None = None, target: str = "",
          errors: dict[str, str] | None = None, status: int = 200) -> Any:
    row = _row()
    host = plugin_host()
    plugins = [
        {
            "name": name,
            "description": host.description(name),
            "state": _own_state(row, name),
            "enabled": name in g.tenant.plugins,
            "fields": plugin_form.fields(row, name) if host.settings_schema(name) else [],
        }
        for name in sorted(host.optional)
    ]
    return render("staff/plugins.html", plugins=plugins, is_secret=is_secret,
                  is_office=row.parent is None, posted=posted or MultiDict(), target=target,
                  errors=errors or {}), status


@bp.get("")
def page() -> Any:
    return _page()


@bp.post("")
def save() -> Any:
    plugin = request.form.get("plugin", "")
    if plugin not in plugin_host().optional:
        return _page(request.form, plugin,
                     {"plugin": _("There is no plugin named “%(name)s”.", name=plugin[:64])},
                     400)
    row = _row()
    try:
        if request.form.get("action") == "switch":
            state = request.form.get("state", "")
            if state not in STATES or (state == "inherit" and row.parent is None):
                return _page(request.form, plugin,
                             {plugin: _("Choose on or off.") if row.parent is None
                              else _("Choose on, off or as your office says.")}, 400)
            service.set_plugin_enabled(row, plugin, STATES[state])
            message = _("%(name)s: saved.", name=plugin)
        else:
            found = plugin_form.fields(row, plugin)
            values = plugin_form.parse(request.form, plugin, found)
            values = {k: v for k, v in values.items() if not (is_secret(k) and v is None)}
            plugin_form.save(row, plugin, values)
            message = _("%(name)s: settings saved.", name=plugin)
        db.session.commit()
    except PluginSettingsError as error:
        db.session.rollback()
        where = f"{error.plugin}.{error.field}" if error.field else error.plugin
        return _page(request.form, plugin, {where: error.problem}, 400)
    flash(message, "success")
    return redirect(url_for("shop_plugins.page") + f"#plugin-{plugin}", 303)
