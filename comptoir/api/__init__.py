"""REST API v1 for resellers' integrators: OAuth2 (Authlib) and OpenAPI (flask-smorest).

``init_app`` binds it all: the token endpoints, the resources, the OpenAPI document served
per shop at ``/api/v1/openapi.json``, the admin pages registering clients, and the
size limit on request bodies. See docs/api.md.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Api
from flask_wtf import CSRFProtect

from comptoir.api import oauth, plugin_resources, resources
from comptoir.api.errors import ErrorSchema, api_abort
from comptoir.api.service import SCOPES

#: Largest request body any API route reads (the resources are read-only today).
BODY_LIMIT = 64 * 1024


class ComptoirApi(Api):
    """flask-smorest's Api, minus what the app already does its own way.

    The app has one ``HTTPException`` handler (it sends ``/api/`` paths to
    :func:`comptoir.api.errors.error_response`), and the spec is served by
    :func:`openapi_json`, which fills in each shop's own URLs.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None

    def _register_doc_blueprint(self) -> None:
        return None


def _guard() -> Any:
    """Every ``/api/`` request: a shop must be named, and bodies stay small."""
    if not request.path.startswith("/api/"):
        return None
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        api_abort(413, "payload_too_large",
                  f"The request body is larger than {BODY_LIMIT} bytes.",
                  {"limit": BODY_LIMIT})
    request.max_content_length = BODY_LIMIT
    return None


def openapi_json() -> Any:
    """The OpenAPI document, with this shop's server and token URLs."""
    if g.get("tenant") is None:
        api_abort(404, "not_found", "The API lives on a shop's host (or under /s/<slug>/).")
    api: ComptoirApi = current_app.extensions["comptoir.api"]
    spec = copy.deepcopy(api.spec.to_dict())
    for tag in spec.get("tags", []):
        tag["name"] = tag["name"].removeprefix(resources.PREFIX)
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "tags" in operation:
                operation["tags"] = [t.removeprefix(resources.PREFIX) for t in operation["tags"]]
    root = request.url_root.rstrip("/")
    spec["servers"] = [{"url": root, "description": g.tenant.name}]
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    flows["clientCredentials"]["tokenUrl"] = root + "/api/v1/oauth/token"
    flows["authorizationCode"]["authorizationUrl"] = root + "/api/v1/oauth/authorize"
    flows["authorizationCode"]["tokenUrl"] = root + "/api/v1/oauth/token"
    flows["authorizationCode"]["refreshUrl"] = root + "/api/v1/oauth/token"
    return jsonify(spec)


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    """Register the API on ``app``; ``csrf`` exempts the token endpoints (bearer-authenticated
    machine requests, no cookies)."""
    from comptoir.api import admin, cli

    app.config.setdefault("API_TITLE", "Comptoir API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    oauth.init_app(app)
    api = ComptoirApi(app, spec_kwargs={"info": {"description": (
        "Read a shop's catalogue, stock, customers, companies, orders, quotes and returns. "
        "Authenticate with OAuth 2.0 client credentials, or with an authorization code "
        "(PKCE, S256) a shop admin granted; each token is bound to the shop that issued it.")}})
    api.spec.components.security_scheme("oauth2", {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "/api/v1/oauth/token",
                                        "scopes": dict(SCOPES)},
                  # A tenant admin consents; PKCE (S256) is required (docs/api.md).
                  "authorizationCode": {"authorizationUrl": "/api/v1/oauth/authorize",
                                        "tokenUrl": "/api/v1/oauth/token",
                                        "refreshUrl": "/api/v1/oauth/token",
                                        "scopes": dict(SCOPES)}},
    })
    api.register_field(resources.s.Money, "string", "decimal")
    for blueprint in resources.BLUEPRINTS:
        api.register_blueprint(blueprint)
    # Plugins' resources and scopes (comptoir_api_resources), after the core's.
    plugin_resources.register(app, api, app.extensions["comptoir.plugins"])
    app.extensions["comptoir.api"] = api
    app.register_blueprint(oauth.bp)
    csrf.exempt(oauth.bp)
    app.add_url_rule("/api/v1/openapi.json", "api_openapi", openapi_json)
    app.before_request(_guard)
    app.register_blueprint(admin.bp)
    app.cli.add_command(cli.api_cli)
