"""Registering, listing and revoking a tenant's API clients (admin pages and CLI share it).

Every function works inside the current tenant scope: the ORM scoping (and RLS on
PostgreSQL) keeps one tenant's clients out of another's lists and hands.
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import gettext as _
from sqlalchemy import select, update

from comptoir.api.models import ApiClient, ApiToken, digest
from comptoir.core.db import db
from comptoir.core.scoping import current_tenant_id

#: The core's scopes, one per resource, read-only for now; plugins add theirs at start-up
#: (:func:`plugin_scopes`), and a shop grants those only while it enables the plugin.
SCOPES: dict[str, str] = {
    "catalog:read": "Read products, variants and prices",
    "stock:read": "Read stock levels",
    "customers:read": "Read customer accounts",
    "companies:read": "Read companies",
    "orders:read": "Read orders",
    "quotes:read": "Read quotes",
    "returns:read": "Read return requests",
}

NAME_MAX = 120
#: Redirect URIs a client may register, and how long each may be.
REDIRECT_URIS_MAX = 10
REDIRECT_URI_MAX = 500
#: Hosts where plain http is accepted (RFC 8252 7.3: native apps and tools on the
#: user's own machine listen on the loopback interface, which never leaves it).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class PluginScope:
    """A scope a plugin adds through ``comptoir_api_resources``: grantable only in shops
    that enabled ``plugin``."""

    description: str
    plugin: str


def plugin_scopes() -> dict[str, PluginScope]:
    """The scopes this app's plugins add, in the order they were registered at start-up."""
    if not has_app_context():
        return {}
    return current_app.extensions.get("comptoir.api.plugin_scopes", {})


def all_scopes() -> dict[str, str]:
    """Every scope of this app: the core's (:data:`SCOPES`, in their order), then the
    plugins'. What the OpenAPI document and the token endpoint know."""
    return {**SCOPES, **{name: scope.description for name, scope in plugin_scopes().items()}}


def grantable_scopes(plugins: frozenset[str]) -> dict[str, str]:
    """The scopes a shop whose enabled plugins are ``plugins`` may grant its clients, the
    core's first. In a request, a plugin scope's description is in the reader's language,
    from the plugin's own catalogue (pages name the core's scopes in their own words)."""
    return {**SCOPES, **{name: _translated(scope) for name, scope in plugin_scopes().items()
                         if scope.plugin in plugins}}


@functools.cache
def _catalogue(package: str) -> Any:
    from comptoir.core.i18n import plugin_translations

    return plugin_translations(package)


def _translated(scope: PluginScope) -> str:
    if not has_request_context():
        return scope.description
    from comptoir.core.plugins import plugin_host

    plugin = plugin_host().optional.get(scope.plugin)
    package = getattr(getattr(plugin, "wrapped", None), "__name__", "")
    if not getattr(sys.modules.get(package), "__file__", None):
        return scope.description
    return _catalogue(package).gettext(scope.description)


def enabled_plugins() -> frozenset[str]:
    """The current tenant's plugins: the request's, or the tenant scope's (CLI, jobs)."""
    tenant = g.get("tenant")
    if tenant is None and current_tenant_id() is not None:
        from comptoir.tenants.resolution import directory

        tenant = directory().by_id(current_tenant_id())
    return tenant.plugins if tenant is not None else frozenset()


class ApiClientError(ValueError):
    """A refused registration or revocation, with a message naming the problem."""


@dataclass(frozen=True)
class NewClient:
    """A client just registered: the only moment its secret exists in clear (``None`` for a
    public client, which has none)."""

    client: ApiClient
    secret: str | None


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in chosen if s not in all_scopes()]
    if unknown:
        raise ApiClientError(_("Unknown scope: %(scopes)s.", scopes=", ".join(unknown)))
    off = [s for s in chosen if s not in grantable_scopes(enabled_plugins())]
    if off:
        raise ApiClientError(_("These scopes belong to plugins this shop has not enabled: "
                               "%(scopes)s.", scopes=", ".join(off)))
    if not chosen:
        raise ApiClientError(_("Choose at least one scope."))
    return chosen


def check_redirect_uri(uri: str) -> str:
    """``uri`` if a client may register it, else :class:`ApiClientError` naming the problem.

    The rules of RFC 6749 3.1.2 and RFC 9700 (the OAuth security best practice): absolute, no
    fragment, https, except http on the loopback interface for tools on the admin's machine.
    Authorization requests must then repeat the URI exactly, character for character.
    """
    if len(uri) > REDIRECT_URI_MAX:
        raise ApiClientError(_("The redirect URI %(uri)s is too long (at most %(max)s "
                               "characters).", uri=uri[:60] + "...", max=REDIRECT_URI_MAX))
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in uri):
        raise ApiClientError(_("The redirect URI %(uri)s contains spaces, backslashes or control "
                               "characters.", uri=uri))
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ApiClientError(_("The redirect URI %(uri)s is not a valid URL.", uri=uri)) from None
    if not parts.scheme or not parts.netloc or not host:
        raise ApiClientError(_("The redirect URI %(uri)s must be absolute, with a scheme and a "
                               "host (https://app.example/callback).", uri=uri))
    if "#" in uri:
        raise ApiClientError(_("The redirect URI %(uri)s must not contain a fragment (#...).",
                               uri=uri))
    if parts.username is not None or parts.password is not None:
        raise ApiClientError(_("The redirect URI %(uri)s must not contain a user name or "
                               "password.", uri=uri))
    scheme = parts.scheme.lower()
    if scheme == "http" and _is_loopback(host):
        return uri
    if scheme != "https":
        raise ApiClientError(_("The redirect URI %(uri)s must use https (http is accepted only "
                               "for localhost and 127.0.0.1).", uri=uri))
    return uri


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address("127.0.0.1")
    except ValueError:
        return False


def clean_redirect_uris(uris: Iterable[str]) -> list[str]:
    """The URIs to register, checked, without blanks and duplicates (order kept)."""
    chosen = list(dict.fromkeys(u.strip() for u in uris if u and u.strip()))
    if len(chosen) > REDIRECT_URIS_MAX:
        raise ApiClientError(_("Register at most %(max)s redirect URIs.", max=REDIRECT_URIS_MAX))
    return [check_redirect_uri(uri) for uri in chosen]


def create_client(name: str, scopes: Iterable[str], *, created_by: str,
                  redirect_uris: Iterable[str] = (), public: bool = False) -> NewClient:
    """Register a client in the current tenant; the caller commits and shows the secret once.

    With ``redirect_uris`` the client may also use the authorization-code grant (a tenant admin
    consents on the shop's page); a ``public`` client gets no secret and may use only that
    grant, with PKCE, so it needs at least one redirect URI.
    """
    name = (name or "").strip()
    if not name:
        raise ApiClientError(_("Give the client a name."))
    if len(name) > NAME_MAX:
        raise ApiClientError(_("The name is too long (at most %(max)s characters).", max=NAME_MAX))
    chosen = _clean_scopes(scopes)
    uris = clean_redirect_uris(redirect_uris)
    if public and not uris:
        raise ApiClientError(_("A public client needs at least one redirect URI: it can only "
                               "use the authorization-code flow."))
    secret = None if public else secrets.token_urlsafe(32)
    client = ApiClient(
        client_id="cpt_" + secrets.token_urlsafe(18),
        secret_digest=digest(secret) if secret else "", name=name,
        scopes=" ".join(chosen), created_by=created_by, public=public,
        redirect_uris="\n".join(uris),
    )
    db.session.add(client)
    db.session.flush()
    return NewClient(client, secret)


def list_clients() -> list[ApiClient]:
    """The current tenant's clients, newest first."""
    return list(db.session.scalars(
        select(ApiClient).order_by(ApiClient.created_at.desc(), ApiClient.id.desc())))


def get_client(client_id: str) -> ApiClient | None:
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def revoke_client(client_id: str) -> ApiClient:
    """Revoke a client and every token it holds; the caller commits. Idempotent."""
    client = get_client(client_id)
    if client is None:
        raise ApiClientError(_("No API client %(client_id)s in this shop.", client_id=client_id))
    if client.revoked_at is None:
        client.revoked_at = datetime.now(UTC)
    db.session.execute(
        update(ApiToken).where(ApiToken.client_pk == client.id).values(revoked=True)
    )
    return client
