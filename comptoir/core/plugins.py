"""The plugin host: loads plugins, isolates their failures, and gives each tenant its hooks.

Built in the app factory (never at import time) from the entry-point group
``comptoir.plugins`` plus any module named in ``COMPTOIR_PLUGINS``. Each plugin is registered
through a small stand-in whose request-time hook functions catch and log exceptions, so one
broken plugin cannot take a page down; start-up hooks are not shielded, because a plugin that
cannot say what its settings or blueprints are must fail loudly, at start.

Per tenant, :meth:`PluginHost.hooks` returns a relay whose attributes are pluggy's subset hook
callers without the plugins the tenant did not enable. Relays are cached per enabled set (as
pytest caches one per conftest directory), so the dispatch cost is a dict lookup.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

import pluggy
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from comptoir.core import hookspecs

log = logging.getLogger("comptoir.plugins")

ENTRY_POINT_GROUP = "comptoir.plugins"
PROJECT = "comptoir"
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Hooks called while the app is built; their failures stop start-up instead of being skipped.
STARTUP_HOOKS = frozenset(
    {"comptoir_blueprints", "comptoir_settings_schema", "comptoir_migrations_dir",
     "comptoir_api_resources"}
)
#: Hooks whose failure must stop what they guard rather than let it through: a plugin that
#: raises answers with this refusal instead of ``None`` (an order whose discounts could not
#: be claimed is not booked).
FAIL_CLOSED_HOOKS = frozenset({"comptoir_order_booking"})


class PluginError(Exception):
    """A plugin cannot be loaded, or a plugin name is unknown."""


class PluginSettingsError(ValueError):
    """Settings refused by a plugin's schema; ``field`` names the offending setting."""

    def __init__(self, plugin: str, field: str | None, problem: str) -> None:
        self.plugin, self.field, self.problem = plugin, field, problem
        where = f"setting '{field}'" if field else "settings"
        super().__init__(f"plugin '{plugin}': {where}: {problem}")


class _Shielded:
    """Stands in for a plugin at registration, shielding its request-time hooks."""

    def __init__(self, name: str, plugin: object, host: PluginHost) -> None:
        self.__name__ = name
        self.__doc__ = getattr(plugin, "__doc__", None)
        self.wrapped = plugin
        for attr in dir(plugin):
            opts = host.pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            if opts.get("specname"):
                raise PluginError(
                    f"plugin '{name}': {attr} uses specname=...; name the function after "
                    "its hook instead, so turning the plugin off for a tenant removes it"
                )
            if opts.get("wrapper") or opts.get("hookwrapper"):
                raise PluginError(
                    f"plugin '{name}': {attr} is a hook wrapper; wrappers see every "
                    "plugin's call and cannot be isolated, so they are the core's alone"
                )
            function = getattr(plugin, attr)
            if attr in STARTUP_HOOKS:
                setattr(self, attr, function)
            else:
                setattr(self, attr, host.shield(name, attr, function))


class HookRelay:
    """``relay.<hook>(...)`` calls the hook on one set of enabled plugins."""

    def __init__(self, pm: pluggy.PluginManager, removed: Iterable[object]) -> None:
        self._pm = pm
        self._removed = tuple(removed)

    def __getattr__(self, name: str) -> pluggy.HookCaller:
        if not name.startswith(PROJECT + "_"):
            raise AttributeError(name)
        caller = self._pm.subset_hook_caller(name, self._removed)
        setattr(self, name, caller)  # later look-ups skip __getattr__
        return caller


class PluginHost:
    """Everything the app knows about its plugins; one per app, in ``app.extensions``."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.optional: dict[str, _Shielded] = {}
        self.failures: Counter[str] = Counter()
        self.blueprint_owner: dict[str, str] = {}
        #: Called as ``listener(plugin, hook, exc)`` after a shielded hook failed (the
        #: platform records failures per tenant, see :mod:`comptoir.platform_admin.errors`);
        #: a listener that raises is logged, never passed on to the request.
        self.failure_listeners: list[Callable[[str, str, BaseException], None]] = []
        self._relays: dict[frozenset[str], HookRelay] = {}

    # -- loading ------------------------------------------------------------------------

    def shield(self, plugin: str, hook: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def shielded(*args: Any, **kwargs: Any) -> Any:
            try:
                result = function(*args, **kwargs)
                if hook in FAIL_CLOSED_HOOKS and not result:
                    # "" or False refuses nothing; as None, it lets the next plugin make
                    # its claim (firstresult would stop at any answer but None).
                    return None
                return result
            except Exception as exc:
                self.failures[plugin] += 1
                self._tell_failure(plugin, hook, exc)
                closed = hook in FAIL_CLOSED_HOOKS
                log.exception(
                    "plugin %s failed in %s; %s",
                    plugin,
                    hook,
                    "refused" if closed else "skipped for this call",
                    extra={"plugin": plugin, "hook": hook},
                )
                if closed:
                    from flask_babel import gettext

                    return gettext("This order could not be booked just now; nothing was "
                                   "charged. Please try again.")
                return None

        return shielded

    def _tell_failure(self, plugin: str, hook: str, exc: BaseException) -> None:
        for listener in self.failure_listeners:
            try:
                listener(plugin, hook, exc)
            except Exception:  # noqa: BLE001 - recording must never fail the request
                log.warning("could not record the failure of plugin %s in %s", plugin, hook,
                            exc_info=True)

    def register(self, name: str, plugin: object) -> None:
        """Register ``plugin`` as an optional, per-tenant plugin called ``name``."""
        if name in self.optional:
            raise PluginError(f"two plugins are named '{name}'")
        stand_in = _Shielded(name, plugin, self)
        self.pm.register(stand_in, name=name)
        self.optional[name] = stand_in
        self._relays.clear()

    def register_core(self, name: str, plugin: object) -> None:
        """Register one of the core's own hook implementations: on for every tenant.

        Like datasette's ``default_*`` modules, the core implements some hooks itself (the
        built-in payment methods) so that plugins and core answer through one mechanism.
        """
        self.pm.register(_Shielded(name, plugin, self), name=name)
        self._relays.clear()

    def load(self, use_entry_points: bool = True, extra_modules: Iterable[str] = ()) -> None:
        if use_entry_points:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    plugin = ep.load()
                except Exception as exc:
                    raise PluginError(f"plugin '{ep.name}' failed to import: {exc}") from exc
                self.register(ep.name, plugin)
        for path in extra_modules:
            module = importlib.import_module(path)
            name = getattr(module, "PLUGIN_NAME", path.rsplit(".", 1)[-1])
            self.register(name, module)
        self.pm.check_pending()

    # -- per tenant ---------------------------------------------------------------------

    def hooks(self, enabled: frozenset[str]) -> HookRelay:
        """The hook relay for a tenant whose enabled plugins are ``enabled``."""
        relay = self._relays.get(enabled)
        if relay is None:
            removed = [p for n, p in self.optional.items() if n not in enabled]
            relay = self._relays[enabled] = HookRelay(self.pm, removed)
        return relay

    @property
    def every_hook(self) -> HookRelay:
        """All plugins at once: for start-up hooks, and for reference data every shop may
        need whatever it enabled (a destination country's VAT table)."""
        return self.hooks(frozenset(self.optional))

    def only(self, name: str) -> HookRelay:
        """The hooks of a single plugin."""
        self.require(name)
        return self.hooks(frozenset({name}))

    # -- describing and settings --------------------------------------------------------

    def require(self, name: str) -> None:
        if name not in self.optional:
            known = ", ".join(sorted(self.optional)) or "none"
            raise PluginError(f"unknown plugin '{name}' (installed: {known})")

    def names(self) -> list[str]:
        return sorted(self.optional)

    def implementing(self, hook: str) -> frozenset[str]:
        """The optional plugins that implement ``hook`` (a job may skip tenants with none
        of them on)."""
        return frozenset(name for name, plugin in self.optional.items()
                         if hasattr(plugin, hook))

    def description(self, name: str) -> str:
        doc = (self.optional[name].__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def settings_schema(self, name: str) -> dict[str, Any] | None:
        schemas = [s for s in self.only(name).comptoir_settings_schema() if s]
        return schemas[0] if schemas else None

    def validate_settings(self, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``values`` if the plugin's schema accepts them, else raise with the field."""
        schema = self.settings_schema(name)
        if schema is None:
            if values:
                raise PluginSettingsError(name, None, "this plugin takes no settings")
            return {}
        try:
            validator = Draft202012Validator(schema)
        except SchemaError as exc:  # the plugin's fault, not the user's
            raise PluginError(f"plugin '{name}' declares an invalid schema: {exc.message}") from exc
        errors = sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            field = ".".join(str(p) for p in first.absolute_path) or None
            raise PluginSettingsError(name, field, first.message)
        return dict(values)

    def settings_defaults(self, name: str) -> dict[str, Any]:
        schema = self.settings_schema(name) or {}
        return {
            key: spec["default"]
            for key, spec in schema.get("properties", {}).items()
            if "default" in spec
        }


def plugin_host() -> PluginHost:
    """The current app's plugin host."""
    from flask import current_app

    return current_app.extensions["comptoir.plugins"]


def hooks(tenant: Any = None) -> HookRelay:
    """Hooks of the plugins ``tenant`` enabled (default: the request's tenant).

    Outside any tenant (platform pages) no optional plugin is called.
    """
    from flask import g

    if tenant is None:
        tenant = g.get("tenant")
    return plugin_host().hooks(tenant.plugins if tenant is not None else frozenset())
