"""Finding the tenant of a request: custom domain, then subdomain, then ``/s/<slug>/``.

The path prefix is peeled off by a WSGI middleware that moves ``/s/<slug>`` from
``PATH_INFO`` to ``SCRIPT_NAME``: the storefront's routes are then the same whichever way the
tenant was named, and ``url_for`` writes links that keep the prefix. An unknown slug, or a
host that is neither the platform's nor a tenant's, is a 404 page, never another shop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, abort, current_app, g, request
from werkzeug.exceptions import ServiceUnavailable

from comptoir.core import scoping
from comptoir.core.db import db
from comptoir.tenants.directory import TenantDirectory, TenantInfo
from comptoir.tenants.names import HOSTNAME, SLUG, request_host

SLUG_PREFIX = re.compile(r"^/s/([^/]+)(/.*)?$")
ENVIRON_SLUG = "comptoir.path_slug"


class SlugPrefixMiddleware:
    """Serve ``/s/<slug>/...`` as ``...`` with ``/s/<slug>`` as the script root."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        match = SLUG_PREFIX.match(environ.get("PATH_INFO", ""))
        if match:
            slug, rest = match.group(1), match.group(2) or "/"
            environ[ENVIRON_SLUG] = slug
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/s/" + slug
            environ["PATH_INFO"] = rest
        return self.wsgi_app(environ, start_response)


def directory() -> TenantDirectory:
    """This app's tenant directory, created on first use (it needs the engine)."""
    found = current_app.extensions.get("comptoir.directory")
    if found is None:
        found = TenantDirectory(db.engine, current_app.config["TENANT_CACHE_SIZE"])
        current_app.extensions["comptoir.directory"] = found
    return found


def resolve() -> TenantInfo | None:
    """The tenant this request is for; ``None`` for platform pages; 404 if it names none."""
    if "\x00" in request.path:
        abort(404)  # no database accepts it; no page has it
    if any("\x00" in value for value in request.args.values()):
        abort(400, "A query argument holds a NUL character.")
    host = request_host(request.host)
    path_slug = request.environ.get(ENVIRON_SLUG)
    if path_slug is not None and not SLUG.match(path_slug):
        abort(404)
    platform = current_app.config["PLATFORM_DOMAIN"].lower()
    with directory().lookups() as tenants:
        tenant = tenants.by_domain(host) if HOSTNAME.match(host) else None
        if tenant is None and platform and host.endswith("." + platform):
            label = host[: -len(platform) - 1]
            if label != "www":
                if not SLUG.match(label):
                    abort(404)
                tenant = tenants.by_slug(label)
                if tenant is None:
                    abort(404)
        elif tenant is None and platform and host not in (platform, "www." + platform):
            abort(404)
        if tenant is not None:
            if path_slug is not None:  # /s/<slug>/ means something on the platform's host only
                abort(404)
            return tenant
        if path_slug is not None:
            tenant = tenants.by_slug(path_slug)
            if tenant is None:
                abort(404)
        return tenant


#: Endpoints about the deployment, not a shop: they answer even when tenants cannot be read.
UNTENANTED_ENDPOINTS = frozenset({"platform.healthz"})
#: What a suspended shop still serves: the theme's stylesheet, so its "closed" page is
#: styled. Everything else, API included, is a 503.
SUSPENDED_SERVES = frozenset({"theme_static"})


class TenantSuspended(ServiceUnavailable):
    """The shop exists but the platform suspended it: every route answers 503.

    The reason the platform admin gave stays internal; visitors get a generic message
    (the handler is in :mod:`comptoir.platform_admin`).
    """

    description = "This shop is closed for the moment."


def _enter_tenant() -> None:
    g.tenant = None
    g.tenant_token = scoping.activate(None)
    if request.endpoint in UNTENANTED_ENDPOINTS:
        return
    tenant = resolve()
    if tenant is not None:
        scoping.deactivate(g.tenant_token)
        g.tenant = tenant
        g.tenant_token = scoping.activate(tenant.id, tenant.office_id)
        if tenant.is_suspended and request.endpoint not in SUSPENDED_SERVES:
            raise TenantSuspended()


def _leave_tenant(exc: BaseException | None) -> None:
    token = g.pop("tenant_token", None)
    if token is not None:
        scoping.deactivate(token)


def init_app(app: Flask) -> None:
    app.wsgi_app = SlugPrefixMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    # First of the before_request functions: everything after may rely on g.tenant.
    app.before_request_funcs.setdefault(None, []).insert(0, _enter_tenant)
    app.teardown_request(_leave_tenant)
