"""Plugins' resources in the REST API: registered at start-up, served per tenant.

Each installed plugin may implement ``comptoir_api_resources`` and return an
:class:`~comptoir.api.resources.ApiResources`: flask-smorest blueprints built with the same
helpers as the core's resources, and the scopes their routes require. At start-up the core
registers every installed plugin's blueprints (so the OpenAPI document is the same for
every shop and describes them all), adds their scopes to the OAuth server and to the spec,
and checks that each route requires a scope its plugin declared: a mistake fails start-up,
not a request. At request time a shop that did not enable the plugin answers its routes
with a 404 in the API's error shape (before the token is even read), and a client of that
shop cannot be granted the plugin's scopes (:func:`comptoir.api.service.grantable_scopes`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_smorest import Api

from comptoir.api.errors import api_abort
from comptoir.api.resources import PREFIX, ApiResources, Blueprint
from comptoir.api.service import SCOPES, PluginScope
from comptoir.core.plugins import PluginError, PluginHost

#: ``app.extensions`` keys: scope name -> :class:`PluginScope`; blueprint name -> plugin.
SCOPES_KEY = "comptoir.api.plugin_scopes"
OWNERS_KEY = "comptoir.api.plugin_blueprints"


def _declared(plugin: str, answer: Any) -> ApiResources:
    if not isinstance(answer, ApiResources):
        raise PluginError(f"plugin '{plugin}': comptoir_api_resources must return an "
                          f"ApiResources (comptoir.toolkit.api.ApiResources), not "
                          f"{type(answer).__name__}")
    for blueprint in answer.blueprints:
        if not isinstance(blueprint, Blueprint) or not blueprint.name.startswith(PREFIX):
            raise PluginError(f"plugin '{plugin}': API blueprint {blueprint!r} was not made "
                              "with comptoir.toolkit.api.blueprint(name, description, "
                              "plugin=True)")
        if not blueprint.plugin_resource:
            raise PluginError(f"plugin '{plugin}': API blueprint '{blueprint.name}' needs "
                              "plugin=True, so that its routes document the 404 of shops "
                              "without the plugin")
    for scope in answer.scopes:
        if ":" not in scope or scope != scope.strip() or " " in scope:
            raise PluginError(f"plugin '{plugin}': scope {scope!r} is not like 'name:read'")
    return answer


def _check_views(app: Flask, plugin: str, blueprint: Blueprint, scopes: dict[str, str]) -> None:
    """Every route of ``blueprint`` requires one of its plugin's declared scopes."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(blueprint.name + "."):
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        handlers = ([getattr(view_class, m.lower()) for m in sorted(rule.methods or ())
                     if hasattr(view_class, m.lower())] if view_class else [view])
        for handler in handlers:
            scope = getattr(handler, "_api_scope", None)
            if scope is None:
                raise PluginError(f"plugin '{plugin}': {rule.rule} requires no scope; "
                                  "decorate it with comptoir.toolkit.api.documented")
            if scope not in scopes:
                raise PluginError(f"plugin '{plugin}': {rule.rule} requires '{scope}', which "
                                  "its comptoir_api_resources does not declare")


def _gate() -> None:
    """A plugin's route on a shop that did not enable the plugin: not found."""
    from flask import current_app

    owner = current_app.extensions[OWNERS_KEY].get(request.blueprint or "")
    if owner is None:
        return
    tenant = g.get("tenant")
    if tenant is None:
        api_abort(404, "not_found", "The API lives on a shop's host (or under /s/<slug>/).")
    if owner not in tenant.plugins:
        api_abort(404, "not_found", f"This shop has not enabled the '{owner}' plugin, which "
                  "serves this resource.", {"plugin": owner})


def register(app: Flask, api: Api, host: PluginHost) -> None:
    """Register every installed plugin's API resources and scopes on ``app``."""
    scopes: dict[str, PluginScope] = {}
    owners: dict[str, str] = {}
    for plugin in host.names():
        for answer in host.only(plugin).comptoir_api_resources():
            if answer is None:
                continue
            declared = _declared(plugin, answer)
            for name, description in declared.scopes.items():
                taken = scopes.get(name)
                if name in SCOPES or taken is not None:
                    raise PluginError(f"plugin '{plugin}': scope '{name}' is already "
                                      f"declared by {taken.plugin if taken else 'the core'}")
                scopes[name] = PluginScope(str(description), plugin)
            for blueprint in declared.blueprints:
                if blueprint.name in owners or blueprint.name in app.blueprints:
                    raise PluginError(f"plugin '{plugin}': API blueprint '{blueprint.name}' "
                                      "is already registered")
                api.register_blueprint(blueprint)
                owners[blueprint.name] = plugin
                _check_views(app, plugin, blueprint, declared.scopes)
    app.extensions[SCOPES_KEY] = scopes
    app.extensions[OWNERS_KEY] = owners
    added = {name: scope.description for name, scope in scopes.items()}
    # The OpenAPI document's flows and the token endpoint learn the plugins' scopes, after
    # the core's (whose order stays as it is).
    for scheme in api.spec.components.security_schemes.values():
        for flow in scheme.get("flows", {}).values():
            flow.setdefault("scopes", {}).update(added)
    supported = list(app.config.get("OAUTH2_SCOPES_SUPPORTED") or SCOPES) + list(added)
    app.config["OAUTH2_SCOPES_SUPPORTED"] = supported
    server = app.extensions.get("comptoir.oauth_server")
    if server is not None:
        server.scopes_supported = supported
    app.before_request(_gate)
