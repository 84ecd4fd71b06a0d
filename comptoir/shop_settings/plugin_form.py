"""A form made from a plugin's settings schema: the legal identity a locale plugin prints.

String, integer and boolean properties become inputs, with the schema's ``description`` as
help text and its limits as HTML attributes; other types are shown, not edited. An emptied
input removes the tenant's own value (a reseller then shows its office's, an office the
default). Saving goes through :func:`comptoir.tenants.service.update_plugin_settings`, so
the plugin's schema has the last word and a refused value changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from comptoir.core.plugins import PluginSettingsError, plugin_host
from comptoir.tenants import service
from comptoir.tenants.models import Tenant

EDITABLE = ("string", "integer", "boolean")
PREFIX = "ps-"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str
    own: Any
    inherited: Any
    spec: Mapping[str, Any]

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def editable(self) -> bool:
        return self.type in EDITABLE


def locale_plugins(tenant: Any) -> list[str]:
    """The country plugins whose settings the page shows: enabled ``locale_*`` ones."""
    host = plugin_host()
    return [name for name in sorted(tenant.plugins)
            if name.startswith("locale_") and name in host.optional
            and host.settings_schema(name)]


def _own(row: Tenant, plugin: str) -> dict[str, Any]:
    found = next((p for p in row.plugins if p.plugin == plugin), None)
    return dict(found.settings or {}) if found is not None else {}


def fields(row: Tenant, plugin: str) -> list[Field]:
    """The inputs of ``plugin``'s form for the tenant ``row``, with own and inherited values."""
    host = plugin_host()
    schema = host.settings_schema(plugin) or {}
    own = _own(row, plugin)
    inherited = dict(host.settings_defaults(plugin))
    if row.parent is not None:
        inherited.update(_own(row.parent, plugin))
    return [
        Field(name, str(spec.get("type", "")), str(spec.get("description", "")),
              own.get(name), inherited.get(name), spec)
        for name, spec in schema.get("properties", {}).items()
    ]


def parse(form: MultiDict, plugin: str, found: list[Field]) -> dict[str, Any]:
    """The posted values; ``None`` for an emptied input. Raises PluginSettingsError."""
    values: dict[str, Any] = {}
    for field in found:
        if not field.editable or field.input_name not in form:
            continue
        if field.type == "boolean":
            values[field.name] = "1" in form.getlist(field.input_name)
            continue
        raw = form.get(field.input_name, "").strip()
        if not raw:
            values[field.name] = None
        elif field.type == "integer":
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise PluginSettingsError(plugin, field.name,
                                          _("Enter a whole number.")) from None
        else:
            values[field.name] = raw
    return values


def save(row: Tenant, plugin: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Apply ``values`` (``None`` removes) to the tenant's own settings of ``plugin``.

    The result is validated whole by the plugin's schema before anything changes.
    """
    if plugin not in plugin_host().optional:
        raise PluginSettingsError(plugin, None, "unknown plugin")
    target = {k: v for k, v in {**_own(row, plugin), **values}.items() if v is not None}
    plugin_host().validate_settings(plugin, target)  # refuses before anything is written
    service.update_plugin_settings(row, plugin, {k: v for k, v in values.items()
                                                 if v is not None})
    next(p for p in row.plugins if p.plugin == plugin).settings = target
    return target
